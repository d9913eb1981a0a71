using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Quartz;
using Recommender.Host.Jobs;
using Recommender.Host.Services;
using Recommender.Serving;

namespace Recommender.Host.Hosting;

public static class ServiceCollectionExtensions
{
    /// <summary>Options, serving state, the retrain job and the gRPC services of the recommendation host.</summary>
    public static IServiceCollection AddRecommender(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RecommenderOptions>().Bind(configuration.GetSection(RecommenderOptions.Section)).ValidateOnStart();
        services.AddOptions<OpsOptions>().Bind(configuration.GetSection(OpsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RecommenderOptions>, RecommenderOptionsValidator>();
        services.AddSingleton<IValidateOptions<OpsOptions>, OpsOptionsValidator>();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SnapshotHolder>();
        services.AddSingleton(sp => new OnlineEventLog(sp.GetRequiredService<IOptions<RecommenderOptions>>().Value.OnlineLogPath, sp.GetRequiredService<ILogger<OnlineEventLog>>()));
        services.AddSingleton<IRetrainRunner, RetrainRunner>();
        services.AddSingleton<RetrainCoordinator>();
        services.AddHostedService<SnapshotLoader>();

        var cron = configuration.GetSection(RecommenderOptions.Section).Get<RecommenderOptions>()?.RetrainCron ?? new RecommenderOptions().RetrainCron;
        services.AddQuartz(q =>
        {
            q.AddJob<RetrainJob>(j => j.WithIdentity(RetrainJob.Key).StoreDurably());
            if (CronExpression.TryParse(cron, out _))
            {
                // An invalid expression is reported by the options validator at start.
                q.AddTrigger(t => t.ForJob(RetrainJob.Key).WithIdentity("nightly-retrain", "recommender").WithCronSchedule(cron));
            }
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);

        // Shutdown waits for a running retrain to stop cleanly, or to be killed after its grace period.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = RetrainRunner.CancelGrace + TimeSpan.FromSeconds(5));

        // The token check belongs to the ops service's endpoint, not to a match on the request path:
        // routing ignores case, so a path prefix compared with case could be walked around.
        services.AddGrpc().AddServiceOptions<OpsGrpcService>(o => o.Interceptors.Add<OpsAuthInterceptor>());
        services.AddSingleton<OpsAuthInterceptor>();
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().AddCheck<SnapshotHealthCheck>("snapshot");
        return services;
    }

    /// <summary>Maps the recommendation, ops, reflection and health services.</summary>
    public static WebApplication MapRecommender(this WebApplication app)
    {
        app.UseRouting(); // the shedding middleware needs the resolved endpoint
        app.UseMiddleware<LoadSheddingMiddleware>();
        app.MapGrpcService<RecommendationGrpcService>();
        app.MapGrpcService<OpsGrpcService>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        return app;
    }

    /// <summary>gRPC over cleartext HTTP/2 (h2c) on every endpoint, as grpcurl -plaintext expects.</summary>
    public static WebApplicationBuilder UseHttp2Only(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
        return builder;
    }
}

/// <summary>
/// Loads ARTIFACTS/current before the server accepts calls; a missing snapshot stops the start with
/// a clear error. Taking the online log as a dependency opens and replays it now, not on the first call.
/// </summary>
internal sealed class SnapshotLoader(SnapshotHolder holder, OnlineEventLog online) : IHostedService
{
    private readonly OnlineEventLog _online = online;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        holder.LoadCurrent();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal sealed class SnapshotHealthCheck(SnapshotHolder holder) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(holder.Current is { } s ? HealthCheckResult.Healthy($"snapshot {s.Id}") : HealthCheckResult.Unhealthy("no snapshot loaded"));
}
