using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Recommender.Host.Observability;

/// <summary>Counts every unary RPC (gRPC or transcoded JSON) by method and status code, and times it.</summary>
public sealed class MetricsInterceptor(RecommenderMetrics metrics) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var method = context.Method[(context.Method.LastIndexOf('/') + 1)..];
        var started = Stopwatch.GetTimestamp();
        metrics.RequestStarted();
        var status = StatusCode.OK;
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            status = e.StatusCode;
            throw;
        }
        catch (Exception)
        {
            status = StatusCode.Unknown;
            throw;
        }
        finally
        {
            metrics.RequestFinished(method, status.ToString(), Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
