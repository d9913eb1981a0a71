using Microsoft.Extensions.Diagnostics.HealthChecks;
using Recommender.Host.State;

namespace Recommender.Host.Observability;

/// <summary>grpc.health.v1.Health answers SERVING once a snapshot is loaded.</summary>
internal sealed class SnapshotHealthCheck(SnapshotHolder holder) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(holder.Current is { } s ? HealthCheckResult.Healthy($"snapshot {s.Id}") : HealthCheckResult.Unhealthy("no snapshot loaded"));
}
