using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Quartz;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using Recommender.Host.Observability;
using Recommender.Host.Retraining;
using Recommender.Host.Services;
using Recommender.Host.WebConsole;
using Recommender.Host.State;
using Recommender.Serving;

namespace Recommender.Host;

public static class HostingExtensions
{
    /// <summary>Options, serving state, the retrain job and the gRPC services of the recommendation host.</summary>
    public static IServiceCollection AddRecommender(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RecommenderOptions>().Bind(configuration.GetSection(RecommenderOptions.Section)).ValidateOnStart();
        services.AddOptions<OpsOptions>().Bind(configuration.GetSection(OpsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RecommenderOptions>, RecommenderOptionsValidator>();
        services.AddSingleton<IValidateOptions<OpsOptions>, OpsOptionsValidator>();
        services.AddOptions<S3Options>().Bind(configuration.GetSection(S3Options.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<S3Options>, S3OptionsValidator>();
        services.AddSingleton<SnapshotSource>();
        services.AddOptions<TlsCertificateOptions>().Bind(configuration.GetSection(TlsCertificateOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TlsCertificateOptions>, TlsCertificateOptionsValidator>();
        services.AddCallerLimits(configuration); // per-address rate limits, the body cap, failed ops-token attempts

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SnapshotHolder>();
        services.AddSingleton<ServedLists>(); // the last list served to each user: online hits
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<RetrainLease>();
        // Listens: the local log file (one box), or a Redis stream shared by the replicas.
        services.AddSingleton<IListenLog>(sp => sp.GetRequiredService<IOptions<RedisOptions>>().Value.Enabled
            ? new RedisListenLog(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<ILogger<RedisListenLog>>())
            : new OnlineEventLog(sp.GetRequiredService<IOptions<RecommenderOptions>>().Value.OnlineLogPath, sp.GetRequiredService<ILogger<OnlineEventLog>>()));
        services.AddSingleton<IRetrainRunner, RetrainRunner>();
        services.AddSingleton<RetrainCoordinator>();
        services.AddHostedService<SnapshotLoader>();
        services.AddHostedService<SnapshotFollower>();

        // The job is known to Quartz at once; its nightly trigger is built from the validated options
        // by NightlyRetrainSchedule once the host starts (after ValidateOnStart).
        services.AddQuartz(q => q.AddJob<RetrainJob>(j => j.WithIdentity(RetrainJob.Key).StoreDurably()));
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddHostedService<NightlyRetrainSchedule>();

        // Shutdown waits for a running retrain to stop cleanly, or to be killed after its grace period.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = RetrainRunner.CancelGrace + TimeSpan.FromSeconds(5));

        // The token check belongs to the ops service's endpoint, not to a match on the request path:
        // routing ignores case, so a path prefix compared with case could be walked around.
        services.AddGrpc(o => o.Interceptors.Add<MetricsInterceptor>()).AddJsonTranscoding().AddServiceOptions<OpsGrpcService>(o => o.Interceptors.Add<OpsAuthInterceptor>());
        services.AddSingleton<MetricsInterceptor>();
        services.AddSingleton<RecommenderMetrics>();
        services.AddSingleton<OnlineQuality>(); // the console's hit-rate series, listen and request rates
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(RecommenderMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime") // System.Runtime: GC heap, threads, working set
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0)); // every scrape sees the counters as they are
        services.AddSingleton<OpsAuthInterceptor>();
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks().AddCheck<SnapshotHealthCheck>("snapshot");
        return services;
    }

    /// <summary>Maps the recommendation, ops, reflection and health services.</summary>
    public static WebApplication MapRecommender(this WebApplication app)
    {
        app.UseRouting(); // the limiter and the shedding middleware need the resolved endpoint
        app.UseRateLimiter();
        app.UseRequestBodyCap();
        app.UseMiddleware<LoadSheddingMiddleware>();
        app.MapGrpcService<RecommendationGrpcService>();
        app.MapGrpcService<OpsGrpcService>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        app.MapGet(OpenApi.Path, () => Results.Text(OpenApi.Document, "application/json"));
        app.MapPrometheusScrapingEndpoint(); // GET /metrics
        app.MapConsole(); // GET /: the web console
        _ = app.Services.GetRequiredService<RecommenderMetrics>(); // its gauges exist from the start
        return app;
    }

    /// <summary>
    /// gRPC over HTTP/2 on the Urls (cleartext h2c as grpcurl -plaintext expects, or TLS for https://
    /// addresses), and HTTP/1.1 for the JSON routes on Recommender:HttpUrls: a cleartext endpoint
    /// cannot offer both (no ALPN), and curl or a browser speak HTTP/1.1 unless told otherwise.
    /// https:// addresses serve Kestrel:Certificates:Default (<see cref="TlsCertificateOptions"/>).
    /// </summary>
    public static WebApplicationBuilder UseGrpcAndHttpEndpoints(this WebApplicationBuilder builder)
    {
        var grpc = (builder.Configuration["Urls"] ?? Endpoints.DefaultGrpcUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var http = (builder.Configuration[$"{RecommenderOptions.Section}:{nameof(RecommenderOptions.HttpUrls)}"] ?? new RecommenderOptions().HttpUrls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var endpoints = new Dictionary<string, string?>();

        // Kestrel binds its configured endpoints in key order: the gRPC ones first ("A…" before "B…").
        for (var i = 0; i < grpc.Length; i++)
        {
            endpoints[$"Kestrel:Endpoints:A{i:D2}Grpc:Url"] = grpc[i];
            endpoints[$"Kestrel:Endpoints:A{i:D2}Grpc:Protocols"] = nameof(HttpProtocols.Http2);
        }

        for (var i = 0; i < http.Length; i++)
        {
            endpoints[$"Kestrel:Endpoints:B{i:D2}Http:Url"] = http[i];
            endpoints[$"Kestrel:Endpoints:B{i:D2}Http:Protocols"] = nameof(HttpProtocols.Http1);
        }

        // The addresses now live in Kestrel's endpoints; "Urls" itself is cleared so that Kestrel
        // does not log "Overriding address(es)" at every start.
        endpoints["Urls"] = "";
        builder.Configuration.AddInMemoryCollection(endpoints);
        return builder;
    }
}
