using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Recommender.Host;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Host.Services;

namespace Recommender.Tests.Reliability;

/// <summary>Beyond MaxInFlight the heavy callers get RESOURCE_EXHAUSTED at once; light callers, ops and health are not shed.</summary>
public class LoadSheddingTests
{
    private sealed class Connection : IConnectionItemsFeature
    {
        public IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    }

    private static readonly Method<string, string> AnyMethod = new(MethodType.Unary, "recommender.v1.RecommendationService", "GetRecommendations", Marshallers.StringMarshaller, Marshallers.StringMarshaller);

    private static DefaultHttpContext Call(Connection connection, Type service)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IConnectionItemsFeature>(connection);
        context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(new GrpcMethodMetadata(service, AnyMethod)), "test"));
        context.Request.Body = new MemoryStream([0, 0, 0, 0, 0]);
        return context;
    }

    [Test]
    public async Task BeyondTheLimit_HeavyConnectionsAreRefusedAtOnce_LightOnesAndOpsAreNot()
    {
        var release = new TaskCompletionSource();
        var admitted = 0;
        var middleware = new LoadSheddingMiddleware(async _ =>
        {
            Interlocked.Increment(ref admitted);
            await release.Task;
        }, Options.Create(new RecommenderOptions { MaxInFlight = 3 }), NullLogger<LoadSheddingMiddleware>.Instance);
        var heavy = new Connection();
        var light = new Connection();

        var running = new List<Task>();
        var heavyCalls = Enumerable.Range(0, 5).Select(_ => Call(heavy, typeof(RecommendationGrpcService))).ToArray();
        foreach (var c in heavyCalls)
        {
            running.Add(middleware.InvokeAsync(c));
        }

        Assert.That(admitted, Is.EqualTo(3), "the first MaxInFlight calls are admitted");
        Assert.That(middleware.InFlight, Is.EqualTo(3));
        var refused = heavyCalls.Skip(3).ToArray();
        Assert.That(running.Skip(3).Select(t => t.IsCompleted), Is.All.True, "refused at once, not queued");
        Assert.That(refused.Select(c => c.Response.Headers["grpc-status"].ToString()), Is.All.EqualTo("8"));
        Assert.That(refused[0].Response.Headers["grpc-message"].ToString(), Does.Contain("MaxInFlight"));
        Assert.That(refused[0].Request.Body.Position, Is.EqualTo(5), "the request was read before the answer");

        // A connection with fewer than two calls in flight is admitted even now.
        var lightCall = Call(light, typeof(RecommendationGrpcService));
        running.Add(middleware.InvokeAsync(lightCall));
        Assert.That(admitted, Is.EqualTo(4));
        Assert.That(lightCall.Response.Headers.ContainsKey("grpc-status"), Is.False);

        // Ops and health are never shed.
        running.Add(middleware.InvokeAsync(Call(heavy, typeof(OpsGrpcService))));
        Assert.That(admitted, Is.EqualTo(5));

        release.SetResult();
        await Task.WhenAll(running);
        Assert.That(middleware.InFlight, Is.Zero);
        Assert.That(middleware.Shed, Is.EqualTo(2));

        // Load gone: the heavy connection is admitted again.
        var again = Call(heavy, typeof(RecommendationGrpcService));
        await middleware.InvokeAsync(again);
        Assert.That(admitted, Is.EqualTo(6));
    }

    [Test]
    public async Task AShedCall_ReachesAClientAsResourceExhausted_OverRealHttp2()
    {
        var config = Recommender.Tests.Host.ServiceData.Config(Recommender.Tests.Host.ServiceData.CopyArtifacts());
        config["Recommender:MaxInFlight"] = "1";
        await using var service = await Recommender.Tests.Host.RunningService.StartAsync(config);
        // Many callers on one connection: some are refused, none fails otherwise, and the connection survives.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            try
            {
                await service.Client.GetRecommendationsAsync(i, 10);
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }));
        Assert.That(outcomes.Distinct(), Is.SubsetOf(new[] { StatusCode.OK, StatusCode.ResourceExhausted }));
        Assert.That(outcomes.Count(o => o == StatusCode.OK), Is.GreaterThan(0));
        Assert.That((await service.Client.GetPopularAsync(3)), Has.Count.EqualTo(3));
    }
}
