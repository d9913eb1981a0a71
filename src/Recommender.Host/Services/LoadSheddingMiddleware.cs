using System.Runtime.CompilerServices;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;

namespace Recommender.Host.Services;

/// <summary>
/// At most Recommender:MaxInFlight recommendation calls are worked on at once; beyond it a call is
/// answered RESOURCE_EXHAUSTED at once (a trailers-only response) instead of queueing without
/// bound, so that under overload a caller gets a fast answer it can back off on. Fair to light
/// callers: a connection with fewer than <see cref="GuaranteedPerConnection"/> calls in flight is
/// always admitted, so the callers that are shed are the ones causing the overload, not a client
/// that sends one request at a time. Ops and health calls are never shed: an operator and the
/// orchestrator must reach an overloaded service.
/// </summary>
public sealed partial class LoadSheddingMiddleware(RequestDelegate next, IOptions<RecommenderOptions> options, ILogger<LoadSheddingMiddleware> logger)
{
    /// <summary>In-flight calls a connection may always have, whatever the global count.</summary>
    public const int GuaranteedPerConnection = 2;

    private readonly int _limit = options.Value.MaxInFlight;
    private int _inFlight;
    private long _shed;

    public int InFlight => Volatile.Read(ref _inFlight);
    public long Shed => Interlocked.Read(ref _shed);

    public async Task InvokeAsync(HttpContext context)
    {
        // The endpoint the router resolved, not the path: any spelling that reaches the service counts.
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.ServiceType != typeof(RecommendationGrpcService))
        {
            await next(context);
            return;
        }

        var connection = ConnectionCounter(context);
        var mine = Interlocked.Increment(ref connection.Value);
        if (Interlocked.Increment(ref _inFlight) > _limit && mine > GuaranteedPerConnection)
        {
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Decrement(ref connection.Value);
            if (Interlocked.Increment(ref _shed) % 10_000 == 1)
            {
                LogShedding(logger, _limit, Shed);
            }

            await Refusals.ResourceExhaustedAsync(context, $"overloaded: more than {_limit} calls in flight (Recommender:MaxInFlight); retry with backoff", context.RequestAborted);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Decrement(ref connection.Value);
        }
    }

    /// <summary>The connection's own in-flight counter, kept in its items (shared by its HTTP/2 streams).</summary>
    private static StrongBox<int> ConnectionCounter(HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is null)
        {
            return new StrongBox<int>();
        }

        lock (items)
        {
            if (items.TryGetValue(typeof(LoadSheddingMiddleware), out var box) && box is StrongBox<int> counter)
            {
                return counter;
            }

            counter = new StrongBox<int>();
            items[typeof(LoadSheddingMiddleware)] = counter;
            return counter;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "overloaded: more than {Limit} calls in flight, refusing with RESOURCE_EXHAUSTED ({Shed} refused so far)")]
    private static partial void LogShedding(ILogger logger, int limit, long shed);
}
