using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Recommender.Host.Hosting;

namespace Recommender.Host.Services;

/// <summary>Operator RPCs answer UNAUTHENTICATED unless the call carries "authorization: Bearer &lt;Ops:Token&gt;".</summary>
public sealed class OpsAuthInterceptor(IOptions<OpsOptions> options) : Interceptor
{
    private static readonly string OpsPrefix = $"/{V1.OpsService.Descriptor.FullName}/";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method.StartsWith(OpsPrefix, StringComparison.Ordinal))
        {
            var header = context.RequestHeaders.GetValue("authorization") ?? "";
            var expected = $"Bearer {options.Value.Token}";
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes(expected)))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "authorization: a valid 'Bearer <Ops:Token>' header is required for ops calls"));
            }
        }

        return continuation(request, context);
    }
}
