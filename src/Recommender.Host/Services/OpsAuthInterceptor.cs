using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.Observability;
using Recommender.Host.Retraining;
using Recommender.Host.State;

namespace Recommender.Host.Services;

/// <summary>
/// Every call it sees needs "authorization: Bearer &lt;Ops:Token&gt;". It is attached to the ops service
/// itself (<c>AddServiceOptions&lt;OpsGrpcService&gt;</c>), so it runs for whatever path the router
/// resolved to that service, in any spelling; it never looks at the request path. Failed attempts
/// are counted per client address (<see cref="OpsTokenGuard"/>): past the limit the address is
/// refused with RESOURCE_EXHAUSTED and Retry-After before its token is looked at.
/// </summary>
public sealed class OpsAuthInterceptor(IOptions<OpsOptions> options, OpsTokenGuard guard, RecommenderMetrics metrics) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var address = CallerLimits.Address(http);
        if (guard.LockedOut(address) is { } wait)
        {
            metrics.Refused(CallerLimits.OpsToken);
            var seconds = CallerLimits.RetryAfterSeconds(wait).ToString(System.Globalization.CultureInfo.InvariantCulture);
            http.Response.Headers.RetryAfter = seconds; // the JSON routes' 429 carries it as a header, gRPC as a trailer
            throw new RpcException(
                new Status(StatusCode.ResourceExhausted, $"too many failed ops-token attempts from {address} (Limits:FailedOpsTokenAttemptsPerMinute); retry after {seconds} s"),
                new Metadata { { "retry-after", seconds } });
        }

        var header = context.RequestHeaders.GetValue("authorization") ?? "";
        var expected = $"Bearer {options.Value.Token}";
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes(expected)))
        {
            guard.Failed(address);
            throw new RpcException(new Status(StatusCode.Unauthenticated, "authorization: a valid 'Bearer <Ops:Token>' header is required for ops calls"));
        }
    }
}
