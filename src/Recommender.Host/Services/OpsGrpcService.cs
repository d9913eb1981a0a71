using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.V1;
using Microsoft.Extensions.Options;
using Recommender.Host.Observability;

namespace Recommender.Host.Services;

/// <summary>RetrainNow, GetStatus and ListRuns; the bearer token is checked by <see cref="OpsAuthInterceptor"/>.</summary>
public sealed partial class OpsGrpcService(RetrainCoordinator coordinator, SnapshotHolder holder, IListenLog online, Quartz.ISchedulerFactory schedulers, TimeProvider clock,
    IOptions<RecommenderOptions> options, ServedLists served, OnlineQuality quality)
    : OpsServiceBinding.ServiceBase
{
    public override async Task<RetrainNowReply> RetrainNow(RetrainNowRequest request, ServerCallContext context)
    {
        if (!coordinator.TryBegin(RunTrigger.RetrainNow, out var runId))
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
            reply.SnapshotTime = Utc(snapshot.CreatedUtc);
        }

        return Task.FromResult(reply);
    }

    public override Task<ListRunsReply> ListRuns(ListRunsRequest request, ServerCallContext context)
    {
        if (request.Limit < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit must be 0 (every run kept) or positive (got {request.Limit})"));
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var reply = new ListRunsReply();
        foreach (var run in coordinator.Runs(request.Limit == 0 ? RunHistory.Capacity : request.Limit))
        {
            var item = new RetrainRun
            {
                RunId = run.RunId,
                State = run.State.ToString().ToLowerInvariant(),
                Trigger = run.Trigger == RunTrigger.Nightly ? "nightly" : "retrain_now",
                Started = Utc(run.StartedUtc),
                Seconds = ((run.FinishedUtc ?? now) - run.StartedUtc).TotalSeconds,
                Error = run.Error,
                SnapshotId = run.SnapshotId,
            };
            if (run.FinishedUtc is { } finished)
            {
                item.Finished = Utc(finished);
            }

            reply.Runs.Add(item);
        }

        if (coordinator.Progress() is { } progress)
        {
            using var lease = holder.Lease(); // the stage timings come from the inspector, whose first load reads the ALS tables
            reply.Progress = Progress(progress.RunId, progress.Report, lease.Snapshot, now);
        }

        return Task.FromResult(reply);
    }

    private static Timestamp Utc(DateTime time) => Timestamp.FromDateTime(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
