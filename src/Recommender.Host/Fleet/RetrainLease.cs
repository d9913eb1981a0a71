using StackExchange.Redis;
using Recommender.Host.Configuration;

namespace Recommender.Host.Fleet;

/// <summary>
/// One retrain at a time across the replicas: a Redis key set if absent with an expiry, renewed
/// while the run lasts and deleted by its holder only. A holder that dies lets it lapse. The key's
/// value is the run's own token; a holder that was frozen past its lease (a stopped process, a long
/// pause) finds another token there when it resumes, and <see cref="Held.EnsureHeld"/> fences it
/// off before it could publish over the newer holder's snapshot.
/// </summary>
public sealed partial class RetrainLease(RedisConnection connection, ILogger<RetrainLease> logger)
{
    private const string ReleaseScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
    private const string RenewScript = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

    /// <summary>Takes the lease for <paramref name="holder"/>; null when another replica holds it (or Redis is unreachable). Without Redis: always granted.</summary>
    public Held? TryAcquire(string holder)
    {
        if (connection.Multiplexer is not { } redis)
        {
            return new Held(null, holder, this);
        }

        try
        {
            var ttl = TimeSpan.FromSeconds(Options.LeaseSeconds);
            if (!redis.GetDatabase().StringSet(Options.LeaseKey, holder, ttl, When.NotExists))
            {
                LogHeldElsewhere(logger, (string?)redis.GetDatabase().StringGet(Options.LeaseKey) ?? "?");
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

    /// <summary>The lease while a run holds it; disposing releases it (if still ours).</summary>
    public sealed class Held : IDisposable
    {
        private readonly ConnectionMultiplexer? _redis;
        private readonly string _holder;
        private readonly RetrainLease _lease;
        private readonly Timer? _renew;

        internal Held(ConnectionMultiplexer? redis, string holder, RetrainLease lease)
        {
            (_redis, _holder, _lease) = (redis, holder, lease);
            if (redis is not null)
            {
                var period = TimeSpan.FromSeconds(lease.Options.LeaseSeconds / 3.0);
                _renew = new Timer(_ => Renew(), null, period, period);
            }
        }

        /// <summary>
        /// Throws unless the lease still holds this run's token (always fine without Redis). Called
        /// right before the published pointer moves; an unreachable Redis cannot confirm it, so it
        /// refuses too.
        /// </summary>
        public void EnsureHeld()
        {
            if (_redis is null)
            {
                return;
            }

            string? now;
            try
            {
                now = _redis.GetDatabase().StringGet(_lease.Options.LeaseKey);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                throw new LeaseLostException($"the retrain lease cannot be confirmed (Redis unreachable: {e.Message}); not publishing");
            }

            if (now != _holder)
            {
                throw new LeaseLostException($"the retrain lease lapsed while this run was paused (now held by {now ?? "nobody"}); not publishing over a newer snapshot");
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

    private RedisOptions Options => connection.Options;

    private ILogger Logger => logger;

    [LoggerMessage(Level = LogLevel.Information, Message = "retrain skipped: replica {Holder} holds the retrain lease; this replica swaps when it publishes")]
    private static partial void LogHeldElsewhere(ILogger logger, string holder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "retrain lease: Redis unreachable ({Reason})")]
    private static partial void LogUnreachable(ILogger logger, string reason);
}

/// <summary>This run's retrain lease is gone: publishing now could overwrite a newer run's snapshot.</summary>
public sealed class LeaseLostException(string message) : Exception(message);
