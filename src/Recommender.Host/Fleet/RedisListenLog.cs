using Microsoft.Extensions.Options;
using Recommender.Data;
using Recommender.Serving;
using StackExchange.Redis;

namespace Recommender.Host.Fleet;

/// <summary>The "Redis" configuration section: listens shared by the replicas, and the retrain lease.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration string ("127.0.0.1:6379,password=..."); empty: listens stay in the local log file.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Stream of listens; every replica follows it.</summary>
    public string StreamKey { get; set; } = "recommender:listens";

    /// <summary>Key of the lease that lets one replica at a time run the retrain.</summary>
    public string LeaseKey { get; set; } = "recommender:retrain-lease";

    /// <summary>A lease not renewed for this long lapses (its holder died); renewed every third of it.</summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How often a replica reads the stream's new entries: the delay before a listen logged elsewhere reaches its answers.</summary>
    public int FollowMilliseconds { get; set; } = 200;

    public bool Enabled => Configuration.Length > 0;

    public IEnumerable<string> Validate()
    {
        if (Enabled)
        {
            if (string.IsNullOrWhiteSpace(StreamKey))
            {
                yield return "Redis:StreamKey is required";
            }

            if (string.IsNullOrWhiteSpace(LeaseKey))
            {
                yield return "Redis:LeaseKey is required";
            }

            if (LeaseSeconds < 3)
            {
                yield return $"Redis:LeaseSeconds must be at least 3 (got {LeaseSeconds})";
            }

            if (FollowMilliseconds is < 10 or > 60_000)
            {
                yield return $"Redis:FollowMilliseconds must be in [10, 60000] (got {FollowMilliseconds})";
            }
        }
    }
}

public sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options) =>
        options.Validate().ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
}

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

    public RedisListenLog(RedisOptions options, ILogger<RedisListenLog> logger)
    {
        _options = options;
        _logger = logger;
        var config = ConfigurationOptions.Parse(options.Configuration);
        config.AbortOnConnectFail = false; // start (and serve) with Redis down; reconnect in the background
        _redis = ConnectionMultiplexer.Connect(config);
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

        _redis.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot read the listen stream {Stream}: {Reason}; answers use the listens followed so far")]
    private static partial void LogFollowFailed(ILogger logger, string stream, string reason);
}

/// <summary>
/// One retrain at a time across the replicas: a Redis key set if absent with an expiry, renewed
/// while the run lasts and deleted by its holder only. A holder that dies lets it lapse.
/// </summary>
public sealed partial class RetrainLease(IOptions<RedisOptions> options, ILogger<RetrainLease> logger) : IDisposable
{
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
    private const string RenewScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

    private readonly Lazy<ConnectionMultiplexer?> _redis = new(() =>
    {
        if (!options.Value.Enabled)
        {
            return null;
        }

        var config = ConfigurationOptions.Parse(options.Value.Configuration);
        config.AbortOnConnectFail = false;
        return ConnectionMultiplexer.Connect(config);
    });

    /// <summary>Takes the lease for <paramref name="holder"/>; null when another replica holds it (or Redis is unreachable). Without Redis: always granted.</summary>
    public IDisposable? TryAcquire(string holder)
    {
        if (_redis.Value is not { } redis)
        {
            return new Held(null, holder, this);
        }

        try
        {
            var ttl = TimeSpan.FromSeconds(options.Value.LeaseSeconds);
            if (!redis.GetDatabase().StringSet(options.Value.LeaseKey, holder, ttl, When.NotExists))
            {
                LogHeldElsewhere(logger, (string?)redis.GetDatabase().StringGet(options.Value.LeaseKey) ?? "?");
                return null;
            }

            return new Held(redis, holder, this);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogUnreachable(logger, e.Message);
            return null;
        }
    }

    public void Dispose()
    {
        if (_redis.IsValueCreated)
        {
            _redis.Value?.Dispose();
        }
    }

    private sealed class Held : IDisposable
    {
        private readonly ConnectionMultiplexer? _redis;
        private readonly string _holder;
        private readonly RetrainLease _lease;
        private readonly Timer? _renew;

        public Held(ConnectionMultiplexer? redis, string holder, RetrainLease lease)
        {
            (_redis, _holder, _lease) = (redis, holder, lease);
            if (redis is not null)
            {
                var period = TimeSpan.FromSeconds(lease.Options.LeaseSeconds / 3.0);
                _renew = new Timer(_ => Renew(), null, period, period);
            }
        }

        private void Renew()
        {
            try
            {
                _redis!.GetDatabase().ScriptEvaluate(RenewScript, [_lease.Options.LeaseKey], [_holder, _lease.Options.LeaseSeconds * 1000]);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogUnreachable(_lease.Logger, e.Message); // the run goes on; the lease may lapse
            }
        }

        public void Dispose()
        {
            _renew?.Dispose();
            if (_redis is null)
            {
                return;
            }

            try
            {
                _redis.GetDatabase().ScriptEvaluate(ReleaseScript, [_lease.Options.LeaseKey], [_holder]);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogUnreachable(_lease.Logger, e.Message); // it lapses by itself
            }
        }
    }

    private RedisOptions Options => options.Value;

    private ILogger Logger => logger;

    [LoggerMessage(Level = LogLevel.Information, Message = "retrain skipped: replica {Holder} holds the retrain lease; this replica swaps when it publishes")]
    private static partial void LogHeldElsewhere(ILogger logger, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "retrain lease: Redis unreachable ({Reason})")]
    private static partial void LogUnreachable(ILogger logger, string reason);
}
