using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.V1;

namespace Recommender.Host.Services;

/// <summary>RetrainNow and GetStatus; the bearer token is checked by <see cref="OpsAuthInterceptor"/>.</summary>
public sealed class OpsGrpcService(RetrainCoordinator coordinator, SnapshotHolder holder, IListenLog online, Quartz.ISchedulerFactory schedulers)
    : OpsServiceBinding.ServiceBase
{
    public override async Task<RetrainNowReply> RetrainNow(RetrainNowRequest request, ServerCallContext context)
    {
        if (!coordinator.TryBegin(out var runId))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"retrain {runId} is already running; one run at a time"));
        }

        // Hand the run to Quartz and answer at once; the run continues on a scheduler thread.
        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        await scheduler.TriggerJob(RetrainJob.Key, new Quartz.JobDataMap { [RetrainJob.RunIdKey] = runId }, context.CancellationToken);
        return new RetrainNowReply { RunId = runId };
    }

    public override Task<StatusReply> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        var snapshot = holder.Current;
        var last = coordinator.Last;
        var reply = new StatusReply
        {
            SnapshotId = snapshot?.Id ?? "",
            MetricsJson = snapshot?.MetricsJson ?? "",
            LastRunId = last.RunId,
            LastRunState = last.State.ToString().ToLowerInvariant(),
            LastRunError = last.Error,
            OnlineEvents = online.Count,
            ServedList = snapshot?.ServedList ?? "",
        };
        if (snapshot is not null)
        {
            reply.SnapshotTime = Timestamp.FromDateTime(DateTime.SpecifyKind(snapshot.CreatedUtc, DateTimeKind.Utc));
        }

        return Task.FromResult(reply);
    }
}
