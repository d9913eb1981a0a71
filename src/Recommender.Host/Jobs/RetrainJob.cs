using Quartz;
using Recommender.Host.Hosting;

namespace Recommender.Host.Jobs;

/// <summary>
/// The nightly retrain (and RetrainNow). The coordinator's single slot keeps runs one at a time: a
/// nightly fire during a run is skipped. (Not [DisallowConcurrentExecution]: Quartz would queue that
/// fire and start a second full retrain the moment the first one ends, as measured at full size.)
/// </summary>
public sealed partial class RetrainJob(RetrainCoordinator coordinator, IHostApplicationLifetime lifetime, ILogger<RetrainJob> logger) : IJob
{
    public static readonly JobKey Key = new("retrain", "recommender");
    public const string RunIdKey = "runId";

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        // RetrainNow claims the slot before triggering and passes its run id; the cron trigger claims here.
        var runId = context.MergedJobDataMap.GetString(RunIdKey);
        if (runId is null && !coordinator.TryBegin(out runId))
        {
            LogSkipped(logger, runId);
            return ValueTask.CompletedTask;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        // The pipeline is CPU-bound and synchronous: run it on this Quartz worker thread.
        coordinator.Run(runId!, cancel.Token);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "nightly retrain skipped: run {RunId} is still in progress")]
    private static partial void LogSkipped(ILogger logger, string? runId);
}
