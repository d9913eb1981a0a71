using Recommender.Host.Fleet;
using Recommender.Serving;
using StackExchange.Redis;

namespace Recommender.Host.Observability;

/// <summary>One hour of listens by outcome.</summary>
public readonly record struct HourCounts(DateTime HourUtc, long Hits, long Misses, long Unserved)
{
    public long Listens => Hits + Misses + Unserved;
}

/// <summary>
/// The figures the console's overview shows of the service at work: listens per hour by outcome
/// (hit, miss, unserved) over the last week, listens per minute, and GetRecommendations' rate and
/// p99 over the last minute. Hours are counted here and, with Redis configured, also in one Redis
/// hash per hour that every replica increments (fire and forget: a listen never waits for it), so
/// the series is the fleet's. Recording is a few interlocked adds; stale buckets are reset by the
/// first writer of a new period (a count racing that reset can be lost: these are display figures).
/// </summary>
public sealed class OnlineQuality(RedisConnection redis, TimeProvider clock)
{
    public const int Hours = 168;

    /// <summary>The duration buckets of recommender_rpc_duration (seconds), so the p99 shown is the one /metrics gives.</summary>
    public static readonly double[] DurationBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly long[] _hourStamp = new long[Hours];
    private readonly long[,] _hourCounts = new long[Hours, 3];
    private readonly long[] _minuteStamp = new long[60];
    private readonly long[] _minuteListens = new long[60];
    private readonly long[] _secondStamp = new long[60];
    private readonly long[,] _secondBuckets = new long[60, DurationBounds.Length + 1];

    /// <summary>Whether the hour series is the fleet's (Redis) rather than this replica's.</summary>
    public bool Fleet => redis.Options.Enabled;

    public void Listen(ListenOutcome outcome)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var hour = now.Ticks / TimeSpan.TicksPerHour;
        var slot = (int)(hour % Hours);
        Renew(_hourStamp, slot, hour, () =>
        {
            for (var o = 0; o < 3; o++)
            {
                _hourCounts[slot, o] = 0;
            }
        });
        Interlocked.Increment(ref _hourCounts[slot, (int)outcome]);
        var minute = now.Ticks / TimeSpan.TicksPerMinute;
        var m = (int)(minute % 60);
        Renew(_minuteStamp, m, minute, () => _minuteListens[m] = 0);
        Interlocked.Increment(ref _minuteListens[m]);
        if (redis.Options.Enabled && redis.Multiplexer is { } mux)
        {
            var key = HourKey(redis.Options.StreamKey, hour);
            var db = mux.GetDatabase();
            db.HashIncrement(key, Field(outcome), 1, CommandFlags.FireAndForget);
            db.KeyExpire(key, TimeSpan.FromHours(Hours + 1), CommandFlags.FireAndForget);
        }
    }

    /// <summary>One GetRecommendations call's handling time.</summary>
    public void Recommendation(double seconds)
    {
        var second = clock.GetUtcNow().UtcDateTime.Ticks / TimeSpan.TicksPerSecond;
        var s = (int)(second % 60);
        Renew(_secondStamp, s, second, () =>
        {
            for (var b = 0; b <= DurationBounds.Length; b++)
            {
                _secondBuckets[s, b] = 0;
            }
        });
        var bucket = Array.BinarySearch(DurationBounds, seconds);
        Interlocked.Increment(ref _secondBuckets[s, bucket >= 0 ? bucket : ~bucket]);
    }

    /// <summary>The last <paramref name="hours"/> hours, oldest first, ending with the current one: the fleet's when Redis is configured and answers, else this replica's.</summary>
    public HourCounts[] LastHours(int hours)
    {
        hours = Math.Clamp(hours, 1, Hours);
        var current = clock.GetUtcNow().UtcDateTime.Ticks / TimeSpan.TicksPerHour;
        var result = new HourCounts[hours];
        if (redis.Options.Enabled && redis.Multiplexer is { IsConnected: true } mux)
        {
            try
            {
                var batch = mux.GetDatabase().CreateBatch();
                var reads = Enumerable.Range(0, hours).Select(h => batch.HashGetAllAsync(HourKey(redis.Options.StreamKey, current - hours + 1 + h))).ToArray();
                batch.Execute();
                if (Task.WaitAll(reads, TimeSpan.FromSeconds(2)))
                {
                    for (var h = 0; h < hours; h++)
                    {
                        var fields = reads[h].Result.ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
                        result[h] = new HourCounts(Hour(current - hours + 1 + h), fields.GetValueOrDefault("hit"), fields.GetValueOrDefault("miss"), fields.GetValueOrDefault("unserved"));
                    }

                    return result;
                }
            }
            catch (RedisException)
            {
                // Redis is down: this replica's own counts below.
            }
        }

        for (var h = 0; h < hours; h++)
        {
            var hour = current - hours + 1 + h;
            var slot = (int)(hour % Hours);
            result[h] = Volatile.Read(ref _hourStamp[slot]) == hour
                ? new HourCounts(Hour(hour), Volatile.Read(ref _hourCounts[slot, 0]), Volatile.Read(ref _hourCounts[slot, 1]), Volatile.Read(ref _hourCounts[slot, 2]))
                : new HourCounts(Hour(hour), 0, 0, 0);
        }

        return result;
    }

    /// <summary>Listens per minute over the last five whole minutes (this replica).</summary>
    public double ListensPerMinute()
    {
        var minute = clock.GetUtcNow().UtcDateTime.Ticks / TimeSpan.TicksPerMinute;
        long sum = 0;
        for (var back = 1; back <= 5; back++)
        {
            var m = (int)((minute - back) % 60);
            sum += Volatile.Read(ref _minuteStamp[m]) == minute - back ? Volatile.Read(ref _minuteListens[m]) : 0;
        }

        return sum / 5.0;
    }

    /// <summary>GetRecommendations per second over the last 60 whole seconds, and the p99 as the upper bound of its histogram bucket (ms; 0 without calls).</summary>
    public (double PerSecond, double P99Ms) Recommendations()
    {
        var second = clock.GetUtcNow().UtcDateTime.Ticks / TimeSpan.TicksPerSecond;
        var buckets = new long[DurationBounds.Length + 1];
        for (var back = 1; back <= 60; back++)
        {
            var s = (int)((second - back) % 60);
            if (Volatile.Read(ref _secondStamp[s]) == second - back)
            {
                for (var b = 0; b < buckets.Length; b++)
                {
                    buckets[b] += Volatile.Read(ref _secondBuckets[s, b]);
                }
            }
        }

        var total = buckets.Sum();
        if (total == 0)
        {
            return (0, 0);
        }

        var rank = (long)Math.Ceiling(total * 0.99);
        long seen = 0;
        for (var b = 0; b < buckets.Length; b++)
        {
            seen += buckets[b];
            if (seen >= rank)
            {
                return (total / 60.0, b < DurationBounds.Length ? DurationBounds[b] * 1000 : double.PositiveInfinity);
            }
        }

        return (total / 60.0, double.PositiveInfinity);
    }

    private static void Renew(long[] stamps, int slot, long period, Action reset)
    {
        var seen = Volatile.Read(ref stamps[slot]);
        if (seen != period && Interlocked.CompareExchange(ref stamps[slot], period, seen) == seen)
        {
            reset();
        }
    }

    private static DateTime Hour(long hour) => new(hour * TimeSpan.TicksPerHour, DateTimeKind.Utc);

    private static string HourKey(string streamKey, long hour) => $"{streamKey}:hits:{Hour(hour):yyyyMMddHH}";

    private static string Field(ListenOutcome outcome) => outcome switch
    {
        ListenOutcome.Hit => "hit",
        ListenOutcome.Miss => "miss",
        ListenOutcome.Unserved => "unserved",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not an outcome"),
    };
}
