using System.Globalization;
using System.Threading.RateLimiting;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.Observability;

namespace Recommender.Host.Services;

/// <summary>
/// Per client address limits, with ASP.NET Core's rate limiter: LogListen calls and requests on
/// the JSON address each get a token bucket per address (Limits:ListensPerSecond,
/// Limits:JsonRequestsPerSecond), so one address flooding cannot take the capacity light callers
/// need, however many connections it opens. gRPC recommendation calls are left to load shedding,
/// ops and health calls are never limited here. A refusal is RESOURCE_EXHAUSTED (gRPC) or 429 (JSON)
/// with Retry-After, counted in /metrics as recommender_limits_refused_total.
/// </summary>
public static class CallerLimits
{
    public const string Listens = "listens";
    public const string Json = "json";
    public const string OpsToken = "ops_token";

    public static IServiceCollection AddCallerLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LimitsOptions>().Bind(configuration.GetSection(LimitsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LimitsOptions>, LimitsOptionsValidator>();
        services.AddSingleton<OpsTokenGuard>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<LimitsOptions>, RecommenderMetrics>((o, limits, metrics) =>
        {
            var l = limits.Value;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, (string Kind, string Address)>(context => Kind(context) switch
            {
                Listens => Bucket((Listens, Address(context)), l.ListensPerSecond),
                Json => Bucket((Json, Address(context)), l.JsonRequestsPerSecond),
                _ => RateLimitPartition.GetNoLimiter(("", "")),
            });
            o.OnRejected = (rejected, cancellation) => Refuse(rejected, metrics, l, cancellation);
        });

        // Every request of the API is tiny: the body cap bounds what a caller can make the service read.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((k, limits) => k.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<LimitsOptions>>((g, limits) => g.MaxReceiveMessageSize = limits.Value.MaxRequestBodyBytes - 5); // the gRPC frame's 5-byte header
        return services;
    }

    /// <summary>
    /// The body cap, Limits:MaxRequestBodyBytes. gRPC calls are held to gRPC's own message limit
    /// (RESOURCE_EXHAUSTED naming the size) instead of Kestrel's body limit, which refuses a body of
    /// known length before the call starts and surfaces as an internal error. On the JSON address a
    /// body of known length over the cap gets 413 naming the setting before anything reads it (JSON
    /// transcoding would answer Kestrel's error with a 400); a chunked one stops at Kestrel's limit.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyCap(this IApplicationBuilder app)
    {
        var cap = app.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
        return app.Use((context, next) =>
        {
            if (IsGrpc(context.Request))
            {
                if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } body)
                {
                    body.MaxRequestBodySize = null;
                }
            }
            else if (context.Request.ContentLength > cap)
            {
                return Refusals.JsonErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge, 3,
                    $"the request body is {context.Request.ContentLength} bytes, more than {LimitsOptions.Section}:{nameof(LimitsOptions.MaxRequestBodyBytes)} ({cap})", context.RequestAborted);
            }

            return next(context);
        });
    }

    /// <summary>The client address a limit is kept for (an in-process test server has none).</summary>
    public static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>Which per-address limit a request counts against: null for none.</summary>
    internal static string? Kind(HttpContext context)
    {
        // The endpoint the router resolved, not the path: LogListen over gRPC and POST /v1/listens alike.
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>();
        if (method?.ServiceType == typeof(RecommendationGrpcService) && method.Method.Name == "LogListen")
        {
            return Listens;
        }

        return IsGrpc(context.Request) ? null : Json;
    }

    private static bool IsGrpc(HttpRequest request) => request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A bucket of 2 × rate tokens refilled rate / 10 at a time: smooth at any rate.</summary>
    private static RateLimitPartition<(string, string)> Bucket((string, string) key, int perSecond)
    {
        var refill = Math.Max(1, perSecond / 10);
        return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = 2 * perSecond,
            TokensPerPeriod = refill,
            ReplenishmentPeriod = TimeSpan.FromSeconds(refill / (double)perSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask Refuse(OnRejectedContext rejected, RecommenderMetrics metrics, LimitsOptions limits, CancellationToken cancellation)
    {
        var context = rejected.HttpContext;
        var kind = Kind(context) ?? Json;
        metrics.Refused(kind);
        var retry = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
        var seconds = RetryAfterSeconds(retry);
        var (rate, key) = kind == Listens
            ? (limits.ListensPerSecond, $"{LimitsOptions.Section}:{nameof(LimitsOptions.ListensPerSecond)}")
            : (limits.JsonRequestsPerSecond, $"{LimitsOptions.Section}:{nameof(LimitsOptions.JsonRequestsPerSecond)}");
        var message = $"too many requests from {Address(context)}: more than {rate} per second ({key}); retry after {seconds} s";
        var response = context.Response;
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        if (IsGrpc(context.Request))
        {
            await Refusals.ResourceExhaustedAsync(context, message, cancellation);
            return;
        }

        await Refusals.JsonErrorAsync(response, StatusCodes.Status429TooManyRequests, 8, message, cancellation);
    }

    /// <summary>Whole seconds, at least 1: Retry-After has no fractions.</summary>
    internal static int RetryAfterSeconds(TimeSpan retry) => Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
}
