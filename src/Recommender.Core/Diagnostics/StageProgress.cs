using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Recommender.Diagnostics;

/// <summary>
/// Progress of a long stage: workers report finished units from any thread, and at most once per
/// interval one of them logs the percentage done and an estimate of the time left (at the rate so
/// far). Reporting is one interlocked add; the clock is read once per 1/64 of the total.
/// </summary>
public sealed partial class StageProgress
{
    private readonly ILogger _logger;
    private readonly string _stage;
    private readonly long _total;
    private readonly long _interval;
    private readonly long _checkEvery;
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _done;
    private long _nextCheck;
    private long _lastLog;

    private readonly Action<long, long>? _observer;

    /// <param name="observer">called with (done, total) each time progress is logged: the run's progress file.</param>
    public StageProgress(ILogger logger, string stage, long total, TimeSpan? interval = null, Action<long, long>? observer = null)
    {
        _observer = observer;
        _logger = logger;
        _stage = stage;
        _total = Math.Max(1, total);
        _interval = (long)((interval ?? TimeSpan.FromSeconds(5)).TotalSeconds * Stopwatch.Frequency);
        _checkEvery = Math.Max(1, _total / 64);
        _nextCheck = _checkEvery;
        _lastLog = _started;
    }

    public long Done => Interlocked.Read(ref _done);

    public void Add(long units)
    {
        var done = Interlocked.Add(ref _done, units);
        var check = Interlocked.Read(ref _nextCheck);
        if (done < check || Interlocked.CompareExchange(ref _nextCheck, done + _checkEvery, check) != check)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _lastLog);
        if (now - last < _interval || Interlocked.CompareExchange(ref _lastLog, now, last) != last)
        {
            return;
        }

        var elapsed = Stopwatch.GetElapsedTime(_started, now).TotalSeconds;
        var fraction = Math.Min(1.0, done / (double)_total);
        var left = fraction > 0 ? elapsed * (1 - fraction) / fraction : double.NaN;
        LogProgress(_logger, _stage, fraction * 100, done, _total, left);
        _observer?.Invoke(done, _total);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Stage}: {Percent:F0}% ({Done:N0}/{Total:N0}), about {SecondsLeft:F0} s left")]
    private static partial void LogProgress(ILogger logger, string stage, double percent, long done, long total, double secondsLeft);
}
