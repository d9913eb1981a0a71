using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;

namespace Recommender.Host.Services;

/// <summary>
/// Failed ops-token attempts per client address, in fixed one-minute windows: past
/// Limits:FailedOpsTokenAttemptsPerMinute, every ops call from the address is refused (the right
/// token too) until the window ends, so guessing the token costs a minute per handful of tries.
/// </summary>
public sealed class OpsTokenGuard : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;

    public OpsTokenGuard(IOptions<LimitsOptions> options)
    {
        var allowed = options.Value.FailedOpsTokenAttemptsPerMinute;
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = allowed,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Null if the address may try a token now; else how long until it may.</summary>
    public TimeSpan? LockedOut(string address)
    {
        // Asking for 0 permits consumes none: it tells whether any are left in this window.
        using var probe = _failures.AttemptAcquire(address, 0);
        return probe.IsAcquired ? null : probe.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
    }

    /// <summary>Counts one failed attempt against the address.</summary>
    public void Failed(string address) => _failures.AttemptAcquire(address, 1).Dispose();

    public void Dispose() => _failures.Dispose();
}
