using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using Recommender.Snapshots;
using Recommender.Tests.Host;
using Recommender.Tests.Support;
using Recommender.V1;

namespace Recommender.Tests.Fleet;

/// <summary>
/// Three `serve` processes (each on its own port, with its own snapshot cache and online state)
/// sharing snapshots through s3rver and listens through redis-server, on loopback.
/// </summary>
[NonParallelizable]
public class FleetTests
{
    private const string Bucket = "fleet";
    private const long ColdUser = 987_654_321;

    private static Dictionary<string, string?> ReplicaConfig(FleetServer s3, FleetServer redis, string prefix)
    {
        var config = ServiceData.Config($"s3://{Bucket}/{prefix}");
        config["Recommender:RetrainMode"] = "InProcess";
        config["S3:ServiceUrl"] = s3.Url;
        config["S3:AccessKey"] = FleetServer.S3AccessKey;
        config["S3:SecretKey"] = FleetServer.S3SecretKey;
        config["S3:PollSeconds"] = "1";
        config["S3:CacheDir"] = TestPaths.NewTempDir(); // each replica downloads on its own
        config["Redis:Configuration"] = $"127.0.0.1:{redis.Port},connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000";
        config["Redis:StreamKey"] = $"{prefix}:listens";
        config["Redis:LeaseKey"] = $"{prefix}:lease";
        config["Redis:FollowMilliseconds"] = "50";
        config["Logging:LogLevel:Default"] = "Information"; // the replica's log file, printed when a test fails
        return config;
    }

    /// <summary>The shared test snapshot, published as the fleet's first.</summary>
    private static async Task<string> PublishInitial(FleetServer s3, string prefix)
    {
        var options = new S3Options { ServiceUrl = s3.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey };
        using var client = options.CreateClient();
        var store = new S3SnapshotStore(client, new S3Address(Bucket, prefix), options, NullLogger.Instance);
        return await store.PublishAsync(new SnapshotStore(ServiceData.CopyArtifacts()).Current()!);
    }

    /// <summary>The servers and three replicas of one test, disposed together.</summary>
    private sealed class Running(FleetServer s3, FleetServer redis, ServeProcess[] replicas) : IAsyncDisposable
    {
        public FleetServer S3 { get; } = s3;
        public FleetServer Redis { get; } = redis;
        public ServeProcess[] Replicas { get; } = replicas;
        public required string FirstSnapshot { get; init; }

        public static async Task<Running> StartAsync(string prefix)
        {
            var s3 = FleetServer.StartS3(Bucket);
            var redis = FleetServer.StartRedis();
            var first = await PublishInitial(s3, prefix);
            var replicas = new ServeProcess[3];
            for (var r = 0; r < replicas.Length; r++)
            {
                replicas[r] = await ServeProcess.StartAsync(ReplicaConfig(s3, redis, prefix));
            }

            return new Running(s3, redis, replicas) { FirstSnapshot = first };
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var r in Replicas)
            {
                if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
                {
                    await TestContext.Out.WriteLineAsync($"--- replica {r.Address}:\n{r.Log()}");
                }

                await r.DisposeAsync();
            }

            S3.Dispose();
            Redis.Dispose();
        }
    }

    private static async Task Until(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not within {seconds} s: {what}");
            }

            await Task.Delay(50);
        }
    }

    [Test]
    public async Task AListenLoggedOnReplica1_ChangesTheAnswerOfReplica3()
    {
        await using var fleet = await Running.StartAsync("listens");
        var (first, replicas) = (fleet.FirstSnapshot, fleet.Replicas);
        Assert.That((await replicas[2].Client.GetStatusAsync()).SnapshotId, Is.EqualTo(first), "replicas serve the published snapshot");
        var listened = (await replicas[0].Client.GetPopularAsync(1))[0].TrackId;
        var (_, before) = await replicas[2].Client.GetRecommendationsAsync(ColdUser, 20);
        Assert.That(before.Select(b => b.TrackId), Does.Contain(listened), "a cold user gets popular tracks");
        Assert.That(await replicas[0].Client.LogListenAsync(ColdUser, listened), Is.EqualTo(1));
        Assert.That(await replicas[1].Client.LogListenAsync(ColdUser + 1, listened), Is.EqualTo(2), "one sequence for the fleet");
        await Until(async () => !(await replicas[2].Client.GetRecommendationsAsync(ColdUser, 20)).Items.Any(i => i.TrackId == listened), "replica 3 excludes the track heard through replica 1");
        var (_, after) = await replicas[2].Client.GetRecommendationsAsync(ColdUser, 20);
        Assert.That(after.Select(a => a.Source), Does.Contain(Source.Online), "neighbours of the listen logged elsewhere");

        // Online quality is the fleet's: each replica judges its own listens (the two above were
        // unserved there: replica 3 served that user) and adds them to Redis's hour counts.
        await replicas[2].Client.LogListenAsync(ColdUser, after[0].TrackId); // served by replica 3 just now: a hit
        foreach (var replica in replicas)
        {
            await Until(async () =>
            {
                var quality = await replica.Client.GetOnlineQualityAsync(hours: 2);
                return quality.Fleet && quality.Hours.Sum(h => h.Hits) == 1 && quality.Hours.Sum(h => h.Unserved) == 2 && quality.Hours.Sum(h => h.Misses) == 0;
            }, $"replica {replica.Address} reports the fleet's 1 hit and 2 unserved listens");
        }
    }

    [Test]
    public async Task RetrainNowOnReplica2_PublishesOnce_AndAllThreeSwap_WithoutAFailedRequest()
    {
        await using var fleet = await Running.StartAsync("retrain");
        var (first, replicas, s3, redis) = (fleet.FirstSnapshot, fleet.Replicas, fleet.S3, fleet.Redis);
        await replicas[0].Client.LogListenAsync(ColdUser, (await replicas[0].Client.GetPopularAsync(1))[0].TrackId);
        using var stop = new CancellationTokenSource();
        long ok = 0, failed = 0;
        var load = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var (_, items) = await replicas[i % 3].Client.GetRecommendationsAsync(1 + (i % 50), 10);
                    Interlocked.Increment(ref items.Count == 10 ? ref ok : ref failed);
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        });

        var runId = await replicas[1].Client.RetrainNowAsync();
        using (var lease = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}"))
        {
            await Until(async () => await lease.GetDatabase().KeyExistsAsync("retrain:lease"), "replica 2 holds the retrain lease");
        }

        // Another replica asked while the run holds the lease: it does not train a second snapshot.
        var other = await replicas[2].Client.RetrainNowAsync();
        var refused = await replicas[2].WaitForRunAsync(other);
        Assert.That(refused.LastRunState, Is.EqualTo("failed"));
        Assert.That(refused.LastRunError, Does.Contain("retrain lease"));

        var status = await replicas[1].WaitForRunAsync(runId);
        Assert.That(status.LastRunState, Is.EqualTo("succeeded"), status.LastRunError);
        var next = status.SnapshotId;
        Assert.That(next, Is.Not.EqualTo(first));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Until(async () => (await Task.WhenAll(replicas.Select(r => r.Client.GetStatusAsync()))).All(s => s.SnapshotId == next), "every replica serves the new snapshot");
        TestContext.Out.WriteLine($"all replicas on {next} {watch.Elapsed.TotalSeconds:F1} s after the publisher swapped (poll every 1 s)");
        // The swap is visible in GetStatus a moment before its log line reaches the process's output.
        await Until(() => Task.FromResult(replicas[0].Log().Contains($"snapshot {next} from s3://", StringComparison.Ordinal)), "the others swapped through their followers", seconds: 10);
        Assert.That(replicas[1].Log(), Does.Not.Contain($"snapshot {next} from s3://"), "the publisher swapped to its own snapshot once, not again through its follower");
        await Task.Delay(200);
        await stop.CancelAsync();
        await load;
        Assert.That(failed, Is.Zero, $"{ok} requests succeeded");
        Assert.That(ok, Is.GreaterThan(10));

        var options = new S3Options { ServiceUrl = s3.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey };
        using var client = options.CreateClient();
        var store = new S3SnapshotStore(client, new S3Address(Bucket, "retrain"), options, NullLogger.Instance);
        Assert.That(await store.ListIdsAsync(), Is.EqualTo(new[] { first, next }), "published once");
        // The retrain learned the listen logged on replica 1 (read from the shared stream).
        var snapshot = Recommender.Serving.ServingSnapshot.Load(await store.DownloadAsync(next, new SnapshotStore(TestPaths.NewTempDir())));
        Assert.That(snapshot.Users.IndexOf(ColdUser), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public async Task KillingRedisAndS3_LeavesEveryReplicaServing()
    {
        await using var fleet = await Running.StartAsync("outage");
        var (replicas, s3, redis) = (fleet.Replicas, fleet.S3, fleet.Redis);
        var track = (await replicas[0].Client.GetPopularAsync(1))[0].TrackId;
        await replicas[0].Client.LogListenAsync(ColdUser, track);
        redis.Kill();
        s3.Kill();
        await Task.Delay(1500); // a poll of the pointer fails meanwhile
        foreach (var r in replicas)
        {
            var (_, items) = await r.Client.GetRecommendationsAsync(1, 10);
            Assert.That(items, Has.Count.EqualTo(10), "reads keep serving");
        }

        var down = Assert.ThrowsAsync<RpcException>(() => replicas[1].Client.LogListenAsync(ColdUser, track));
        Assert.That(down!.StatusCode, Is.EqualTo(StatusCode.Unavailable), down.Status.Detail);
        Assert.That(down.Status.Detail, Does.Contain("redis"));

        // Redis back (its append-only file kept the acknowledged listen): listens are taken again.
        redis.Restart();
        await Until(async () =>
        {
            try
            {
                return await replicas[1].Client.LogListenAsync(ColdUser, track) == 2;
            }
            catch (RpcException)
            {
                return false;
            }
        }, "LogListen works again after Redis restarts");
    }

    [Test]
    public async Task TrainAndPublishVerbs_WriteToTheBucket_AndNameBadAddresses()
    {
        using var s3 = FleetServer.StartS3(Bucket);
        var variables = new Dictionary<string, string>
        {
            ["S3__ServiceUrl"] = s3.Url, ["S3__AccessKey"] = FleetServer.S3AccessKey, ["S3__SecretKey"] = FleetServer.S3SecretKey, ["S3__CacheDir"] = TestPaths.NewTempDir(),
        };
        foreach (var (k, v) in variables)
        {
            Environment.SetEnvironmentVariable(k, v);
        }

        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exit = await Recommender.Host.Cli.RecommenderCli.RunAsync(["train", "--data", ServiceData.DataDir, "--out", $"s3://{Bucket}/cli", "--factors", "8", "--iterations", "2"], stdout, stderr);
            Assert.That(exit, Is.Zero, stderr.ToString());
            Assert.That(stdout.ToString(), Does.Contain($"published to s3://{Bucket}/cli"));

            var options = new S3Options { ServiceUrl = s3.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey };
            using var client = options.CreateClient();
            var store = new S3SnapshotStore(client, new S3Address(Bucket, "cli"), options, NullLogger.Instance);
            var trained = await store.CurrentIdAsync();
            Assert.That(trained, Is.Not.Null);

            var other = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
            exit = await Recommender.Host.Cli.RecommenderCli.RunAsync(["publish", "--snapshot", other, "--to", $"s3://{Bucket}/cli"], stdout, stderr);
            Assert.That(exit, Is.Zero, stderr.ToString());
            Assert.That(await store.CurrentIdAsync(), Is.EqualTo(Path.GetFileName(other)));
            Assert.That(await store.ListIdsAsync(), Has.Count.EqualTo(2));

            stderr = new StringWriter();
            exit = await Recommender.Host.Cli.RecommenderCli.RunAsync(["serve", "--artifacts", $"s3://{Bucket}/nothing-here", "--urls", "http://127.0.0.1:0", "--environment", "Development"], new StringWriter(), stderr);
            Assert.That(exit, Is.EqualTo(Recommender.Host.Cli.RecommenderCli.ExitFailure));
            Assert.That(stderr.ToString(), Does.Contain($"no snapshot in s3://{Bucket}/nothing-here").And.Contain("publish --to"));

            stderr = new StringWriter();
            exit = await Recommender.Host.Cli.RecommenderCli.RunAsync(["train", "--data", ServiceData.DataDir, "--out", "s3://Bad_Bucket/x"], new StringWriter(), stderr);
            Assert.That(exit, Is.EqualTo(Recommender.Host.Cli.RecommenderCli.ExitUsage));
            Assert.That(stderr.ToString(), Does.Contain("--out").And.Contain("Bad_Bucket"));
        }
        finally
        {
            foreach (var k in variables.Keys)
            {
                Environment.SetEnvironmentVariable(k, null);
            }
        }
    }
}
