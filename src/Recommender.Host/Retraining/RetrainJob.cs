using Quartz;
using Recommender.Host.State;

namespace Recommender.Host.Retraining;

/// <summary>
/// The nightly retrain (and RetrainNow). The coordinator's single slot keeps runs one at a time: a
/// nightly fire during a run is skipped. (Not [DisallowConcurrentExecution]: Quartz would queue that
/// fire and start a second full retrain the moment the first one ends, as measured at full size.)
/// </summary>
public sealed partial class RetrainJob(RetrainCoordinator coordinator, IHostApplicationLifetime lifetime, ILogger<RetrainJob> logger) : IJob
{
    public static readonly JobKey Key = new("retrain", "recommender");
    public const string RunIdKey = "runId";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        // RetrainNow claims the slot before triggering and passes its run id; the cron trigger claims here.
        var runId = context.MergedJobDataMap.GetString(RunIdKey);
        if (runId is null && !coordinator.TryBegin(RunTrigger.Nightly, out runId))
        {
            LogSkipped(logger, runId);
            return;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);

        // A run lasts minutes to half an hour and blocks the thread it runs on: give it a thread of its
        // own, not one of the thread pool's few (on 2 cores, blocking one delayed gRPC calls by seconds).
        await Task.Factory.StartNew(() => coordinator.Run(runId!, cancel.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "nightly retrain skipped: run {RunId} is still in progress")]
    private static partial void LogSkipped(ILogger logger, string? runId);
}
