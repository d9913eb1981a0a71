using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Client;
using Recommender.Generation;
using Recommender.Host;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Host;

/// <summary>A small dataset and a trained snapshot, made once for all service tests.</summary>
internal static class ServiceData
{
    public const string Token = "test-token-0123456789";

    private static readonly Lazy<(string Data, string Artifacts)> Shared = new(() =>
    {
        var data = TestPaths.NewTempDir();
        new SyntheticGenerator(new GeneratorOptions { Users = 600, Tracks = 500, Seed = 3 }, NullLogger.Instance).Generate(data);
        var artifacts = TestPaths.NewTempDir();
        new TrainPipeline(new TrainOptions { DataDir = data, OutRoot = artifacts, Als = new AlsParameters { Factors = 8, Iterations = 3 } }, NullLogger.Instance).Run();
        return (data, artifacts);
    });

    public static string DataDir => Shared.Value.Data;

    /// <summary>A private copy of the artifacts, so that a test's retrain does not change another test's snapshot.</summary>
    public static string CopyArtifacts()
    {
        var source = new SnapshotStore(Shared.Value.Artifacts).Current()!;
        var root = TestPaths.NewTempDir();
        var dir = Path.Combine(root, "snapshots", Path.GetFileName(source));
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        File.CreateSymbolicLink(Path.Combine(root, SnapshotStore.CurrentLink), Path.Combine("snapshots", Path.GetFileName(source)));
        return root;
    }

    /// <param name="blend">the tests of the online plumbing pin the strategy they assert on; "Measured" follows the snapshot.</param>
    public static Dictionary<string, string?> Config(string artifacts, string? dataDir = null, string? onlineLog = null, string blend = "Interleave") => new()
    {
        ["Recommender:Blend"] = blend,
        ["Recommender:ArtifactsDir"] = artifacts,
        ["Recommender:DataDir"] = dataDir ?? DataDir,
        ["Recommender:OnlineLogPath"] = onlineLog ?? Path.Combine(TestPaths.NewTempDir(), "listens.log"),
        ["Recommender:AlsFactors"] = "8",
        ["Recommender:AlsIterations"] = "3",
        ["Ops:Token"] = Token,
        // The ops-auth tests try hundreds of wrong tokens from one address in a second, which the
        // default limit (20 a minute) would refuse; CallerLimitsTests test that limit.
        ["Limits:FailedOpsTokenAttemptsPerMinute"] = "1000000",
        ["Urls"] = "http://127.0.0.1:0",
        ["Recommender:HttpUrls"] = "http://127.0.0.1:0",
        ["Logging:LogLevel:Default"] = "Warning",
    };
}

/// <summary>The real host on Kestrel, listening on a free loopback port.</summary>
internal sealed class RunningService : IAsyncDisposable
{
    private RunningService(WebApplication app, string address)
    {
        App = app;
        Address = address;
        Client = RecommenderClient.Connect(address, ServiceData.Token);
    }

    public WebApplication App { get; }
    public string Address { get; }
    public RecommenderClient Client { get; }

    public static async Task<RunningService> StartAsync(Dictionary<string, string?> config, Action<WebApplicationBuilder>? configure = null)
    {
        var app = RecommenderHost.Build([], config, b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            configure?.Invoke(b);
        });
        await app.StartAsync();
        // The gRPC endpoints bind first, then the HTTP/1.1 JSON one.
        return new RunningService(app, app.Urls.First()) { HttpAddress = app.Urls.Skip(1).FirstOrDefault() ?? "" };
    }

    /// <summary>The HTTP/1.1 address of the JSON routes.</summary>
    public string HttpAddress { get; private init; } = "";

    public RecommenderClient ClientWithToken(string? token) => RecommenderClient.Connect(Address, token);

    /// <summary>Polls GetStatus until the run ends (succeeded, failed or cancelled), at most five minutes.</summary>
    public Task<ServiceStatus> WaitForRunAsync(string runId) => Client.WaitForRunAsync(runId);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>The same host on ASP.NET Core's in-memory test server.</summary>
internal sealed class InProcessService : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessService(WebApplication app, RecommenderClient client)
    {
        _app = app;
        Client = client;
    }

    public RecommenderClient Client { get; }

    public static async Task<InProcessService> StartAsync(Dictionary<string, string?> config)
    {
        var app = RecommenderHost.Build([], config, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.StartAsync();
        var server = app.GetTestServer();
        var channel = GrpcChannel.ForAddress(server.BaseAddress, new GrpcChannelOptions { HttpHandler = server.CreateHandler() });
        return new InProcessService(app, new RecommenderClient(channel, ServiceData.Token));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal static class RunWaiting
{
    /// <summary>Polls GetStatus until the run ends (succeeded, failed or cancelled), at most five minutes.</summary>
    public static async Task<ServiceStatus> WaitForRunAsync(this RecommenderClient client, string runId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            var status = await client.GetStatusAsync();
            if (status.LastRunId == runId && status.LastRunState is "succeeded" or "failed" or "cancelled")
            {
                return status;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"retrain {runId} did not finish");
    }
}
