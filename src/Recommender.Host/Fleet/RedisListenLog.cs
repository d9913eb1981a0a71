using Recommender.Data;
using Recommender.Serving;
using StackExchange.Redis;
using Recommender.Host.Configuration;

namespace Recommender.Host.Fleet;

/// <summary>
/// Listens in a Redis stream shared by every replica. LogListen is acknowledged once XADD returns
/// (with the server's appendfsync durability); each replica follows the stream into its own recent
/// listens, so a listen logged on one replica changes the answers of all of them within
/// FollowMilliseconds. With Redis down, appends fail (UNAVAILABLE to the caller) and reads keep
/// serving what was followed.
/// </summary>
public sealed partial class RedisListenLog : IListenLog
{
    // One round trip: a dense sequence number (a counter beside the stream) and the entry itself.
    private const string AppendScript = """
        local n = redis.call('INCR', KEYS[2])
        redis.call('XADD', KEYS[1], '*', 'u', ARGV[1], 't', ARGV[2], 'ts', ARGV[3], 'n', n)
        return n
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly RedisOptions _options;
    private readonly ILogger _logger;
    private readonly RecentListens _recent = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _follower;
    private RedisValue _lastId = "0-0";
    private long _count;

    public RedisListenLog(RedisConnection connection, ILogger<RedisListenLog> logger)
    {
        _options = connection.Options;
        _logger = logger;
        _redis = connection.Multiplexer ?? throw new InvalidOperationException("Redis:Configuration is empty: listens go to the local log");
        CatchUp(); // the stream so far, before the first request
        _follower = Task.Run(FollowAsync);
    }

    public long Count => Interlocked.Read(ref _count);

    public string Path => $"redis {_options.Configuration.Split(',')[0]} stream {_options.StreamKey}";

    public async ValueTask<long> AppendAsync(OnlineEvent e, CancellationToken cancellation = default)
    {
        try
        {
            var n = await _redis.GetDatabase().ScriptEvaluateAsync(AppendScript, [_options.StreamKey, _options.StreamKey + ":count"],
                [e.UserId, e.TrackId, e.TimeUtc.Ticks]);
            _recent.Add(e); // seen here at once; the follower skips nothing and adds it again harmlessly
            return (long)n;
        }
        catch (Exception error) when (error is RedisException or TimeoutException)
        {
            throw new OnlineLogWriteException(Path, error);
        }
    }

    public long[] Recent(long userId) => _recent.Of(userId);

    /// <summary>Every listen in the stream, written as a log file for the retrain.</summary>
    public string ExportForRetrain(string folder)
    {
        var path = System.IO.Path.Combine(folder, "listens-from-redis.log");
        Directory.CreateDirectory(folder);
        OnlineEventLog.WriteAll(path, ReadAll());
        return path;
    }

    private IEnumerable<OnlineEvent> ReadAll()
    {
        RedisValue from = "-";
        while (true)
        {
            var entries = _redis.GetDatabase().StreamRange(_options.StreamKey, from, "+", 10_000);
            foreach (var entry in entries)
            {
                yield return Decode(entry);
            }

            if (entries.Length < 10_000)
            {
                yield break;
            }

            from = "(" + entries[^1].Id;
        }
    }

    private void CatchUp()
    {
        try
        {
            while (ReadNew() > 0)
            {
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogFollowFailed(_logger, _options.StreamKey, e.Message);
        }
    }

    /// <summary>Applies the entries after the last one seen; returns how many.</summary>
    private int ReadNew()
    {
        var entries = _redis.GetDatabase().StreamRead(_options.StreamKey, _lastId, 10_000);
        foreach (var entry in entries)
        {
            _recent.Add(Decode(entry));
            _lastId = entry.Id;
        }

        Interlocked.Add(ref _count, entries.Length);
        return entries.Length;
    }

    private async Task FollowAsync()
    {
        var failing = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (ReadNew() > 0)
                {
                    continue;
                }

                failing = false;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (!failing)
                {
                    LogFollowFailed(_logger, _options.StreamKey, e.Message); // once per outage
                }

                failing = true;
            }

            try
            {
                await Task.Delay(_options.FollowMilliseconds, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static OnlineEvent Decode(StreamEntry entry) =>
        new((long)entry["u"], (long)entry["t"], new DateTime((long)entry["ts"], DateTimeKind.Utc));

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _follower.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // the follower logs its own failures
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot read the listen stream {Stream}: {Reason}; answers use the listens followed so far")]
    private static partial void LogFollowFailed(ILogger logger, string stream, string reason);
}
