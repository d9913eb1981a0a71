using Microsoft.Extensions.Options;
using Quartz;
using Recommender.Host.Configuration;

namespace Recommender.Host.Retraining;

/// <summary>
/// Schedules the nightly retrain from the validated options: started after the options were
/// validated at start (ValidateOnStart), so the cron expression it reads is the one the validator
/// accepted, bound once, not read again from configuration.
/// </summary>
public sealed partial class NightlyRetrainSchedule(ISchedulerFactory schedulers, IOptions<RecommenderOptions> options, ILogger<NightlyRetrainSchedule> logger) : IHostedService
{
    public static readonly TriggerKey Key = new("nightly-retrain", "recommender");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cron = options.Value.RetrainCron;
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var trigger = TriggerBuilder.Create().ForJob(RetrainJob.Key).WithIdentity(Key).WithCronSchedule(cron).Build();
        var next = await scheduler.ScheduleJob(trigger, new ScheduleJobOptions(), cancellationToken);
        LogScheduled(logger, cron, next.UtcDateTime);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "nightly retrain scheduled by cron '{Cron}'; next at {Next:u}")]
    private static partial void LogScheduled(ILogger logger, string cron, DateTime next);
}
