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

    /// <summary>The shared test snapshot again, under another id (its manifest says so too), published to the bucket directly.</summary>
    private static async Task<string> PublishCopy(FleetServer s3, string prefix, string id)
    {
        var source = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
        var dir = Path.Combine(TestPaths.NewTempDir(), id);
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        (SnapshotManifest.Read(dir) with { SnapshotId = id }).Write(dir);
        var options = new S3Options { ServiceUrl = s3.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey };
        using var client = options.CreateClient();
        return await new S3SnapshotStore(client, new S3Address(Bucket, prefix), options, NullLogger.Instance).PublishAsync(dir);
    }

    /// <summary>The servers and three replicas of one test, disposed together.</summary>
    private sealed class Running(FleetServer s3, FleetServer redis, ServeProcess[] replicas) : IAsyncDisposable
    {
        public FleetServer S3 { get; } = s3;
        public FleetServer Redis { get; } = redis;
        public ServeProcess[] Replicas { get; } = replicas;
        public required string FirstSnapshot { get; init; }

        /// <param name="configure">changes each replica's configuration; it is given the object store.</param>
        public static async Task<Running> StartAsync(string prefix, Action<Dictionary<string, string?>, FleetServer>? configure = null)
        {
            var s3 = FleetServer.StartS3(Bucket);
            var redis = FleetServer.StartRedis();
            var first = await PublishInitial(s3, prefix);
            var replicas = new ServeProcess[3];
            for (var r = 0; r < replicas.Length; r++)
            {
                var config = ReplicaConfig(s3, redis, prefix);
                configure?.Invoke(config, s3);
                replicas[r] = await ServeProcess.StartAsync(config);
            }

            return new Running(s3, redis, replicas) { FirstSnapshot = first };
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var r in Replicas)
            {
                // A replica that exited on its own explains a failure before NUnit has recorded it.
                if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed || r.HasExited)
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
    public async Task ALeaseHolderStoppedPastItsLease_DoesNotPublishOverTheNewHoldersSnapshot()
    {
        const int SigStop = 19, SigCont = 18; // Linux x86-64 and arm64
        // 6 s (the service's default is 60): the new holder trains in-process, and its renewals (every
        // 2 s) have waited 2 s and more for a thread-pool thread while the ranker's fits held both
        // workers; with 3 s one late renewal lapsed the new holder's own lease (seen once).
        await using var fleet = await Running.StartAsync("fence", (c, _) => c["Redis:LeaseSeconds"] = "6");
        var (first, replicas, s3, redis) = (fleet.FirstSnapshot, fleet.Replicas, fleet.S3, fleet.Redis);
        using var lease = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        var db = lease.GetDatabase();

        // Replica 1 takes the lease for its run, then freezes (SIGSTOP) while it trains, before it can publish.
        var frozenRun = await replicas[0].Client.RetrainNowAsync();
        await Until(async () => await db.KeyExistsAsync("fence:lease"), "replica 1 holds the retrain lease", seconds: 10);
        await Until(() => Task.FromResult(replicas[0].Log().Contains("prepare: read and check", StringComparison.Ordinal)), "replica 1 is training", seconds: 10);
        Assert.That(Recommender.Host.Retraining.NativeSignals.Kill(replicas[0].Pid, SigStop), Is.Zero);
        try
        {
            await Until(async () => !await db.KeyExistsAsync("fence:lease"), "the frozen holder's lease lapses", seconds: 15);

            // Replica 2 takes the lapsed lease, trains and publishes.
            var newRun = await replicas[1].Client.RetrainNowAsync();
            var published = await replicas[1].WaitForRunAsync(newRun);
            Assert.That(published.LastRunState, Is.EqualTo("succeeded"), published.LastRunError);
        }
        finally
        {
            Assert.That(Recommender.Host.Retraining.NativeSignals.Kill(replicas[0].Pid, SigCont), Is.Zero);
        }

        var next = (await replicas[1].Client.GetStatusAsync()).SnapshotId;
        var fenced = await replicas[0].WaitForRunAsync(frozenRun);
        Assert.That(fenced.LastRunState, Is.EqualTo("failed"), "the resumed run must not publish");
        Assert.That(fenced.LastRunError, Does.Contain("lease").And.Contain("not publishing"), "fenced off, not failed for another reason");

        var options = new S3Options { ServiceUrl = s3.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey };
        using var client = options.CreateClient();
        var store = new S3SnapshotStore(client, new S3Address(Bucket, "fence"), options, NullLogger.Instance);
        Assert.That(await store.CurrentIdAsync(), Is.EqualTo(next), "current still names the new holder's snapshot");
        Assert.That(await store.ListIdsAsync(), Is.EqualTo(new[] { first, next }), "nothing of the fenced run was uploaded");
        await Until(async () => (await Task.WhenAll(replicas.Select(r => r.Client.GetStatusAsync()))).All(s => s.SnapshotId == next), "every replica, the resumed one too, serves the new holder's snapshot");
    }

    [Test]
    public async Task RedisRestartedWhileListensStream_KeepsEveryAcknowledgedListenOnce_InOrder_OnEveryReplica()
    {
        await using var fleet = await Running.StartAsync("restart");
        var (replicas, redis) = (fleet.Replicas, fleet.Redis);
        var track = (await replicas[0].Client.GetPopularAsync(1))[0].TrackId;
        var acknowledged = new List<(long User, long Sequence)>();
        int Acknowledged()
        {
            lock (acknowledged)
            {
                return acknowledged.Count;
            }
        }

        var refused = 0;
        var afterRestart = int.MaxValue / 2; // the acknowledged count once Redis is back (until then: far away)
        var writer = Task.Run(async () =>
        {
            // One user per listen, so that each listen can be found in the stream; sent round the
            // replicas one at a time, until 100 more are acknowledged after the restart.
            for (var i = 0; i < 20_000 && Acknowledged() < Volatile.Read(ref afterRestart) + 100; i++)
            {
                try
                {
                    var n = await replicas[i % 3].Client.LogListenAsync(ColdUser + 1_000 + i, track);
                    lock (acknowledged)
                    {
                        acknowledged.Add((ColdUser + 1_000 + i, n));
                    }
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                {
                    Interlocked.Increment(ref refused); // not acknowledged: it may or may not be in the stream, and is not sent again
                    await Task.Delay(20);
                }
            }
        });

        await Until(() => Task.FromResult(Acknowledged() >= 150), "listens stream in before the restart");
        redis.Kill(); // kill -9; down long enough for calls and the followers' reads to fail
        await Task.Delay(2500);
        redis.Restart(); // the same port and append-only file, while the writer goes on
        Volatile.Write(ref afterRestart, Acknowledged());
        await writer;
        TestContext.Out.WriteLine($"{acknowledged.Count} listens acknowledged, {refused} refused while Redis restarted");

        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        var stream = await connection.GetDatabase().StreamRangeAsync("restart:listens");
        var inStream = stream.Select(e => ((long)e["u"], (long)e["n"])).ToList();
        foreach (var (user, sequence) in acknowledged)
        {
            Assert.That(inStream.Where(e => e.Item1 == user).Select(e => e.Item2), Is.EqualTo(new[] { sequence }), $"acknowledged listen of user {user} is in the stream once, with its sequence number");
        }

        var order = inStream.Where(e => acknowledged.Any(a => a.User == e.Item1)).Select(e => e.Item1).ToList();
        Assert.That(order, Is.EqualTo(acknowledged.Select(a => a.User)), "in the order they were acknowledged");
        Assert.That(acknowledged.Select(a => a.Sequence), Is.Ordered.Ascending);
        await Until(async () => (await Task.WhenAll(replicas.Select(r => r.Client.GetStatusAsync()))).All(s => s.OnlineEvents == stream.Length),
            $"every replica followed the {stream.Length} entries once (none skipped, none twice)");
    }

    [Test]
    public async Task TheObjectStoreFailingDuringFollowersDownloads_TheyKeepServing_NeverAPartialSnapshot_AndConverge()
    {
        FaultyProxy? proxy = null;
        await using var fleet = await Running.StartAsync("faults", (c, s3) =>
        {
            proxy ??= new FaultyProxy(s3.Port);
            c["S3:ServiceUrl"] = proxy.Url; // the replicas reach the store through the faults; the test publishes around them
        });
        using var _ = proxy;
        var (first, replicas, s3) = (fleet.FirstSnapshot, fleet.Replicas, fleet.S3);

        using var stop = new CancellationTokenSource();
        long ok = 0, failed = 0;
        var served = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var load = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var (snapshot, items) = await replicas[i % 3].Client.GetRecommendationsAsync(1 + (i % 50), 10);
                    served.AddOrUpdate(snapshot, 1, (_, n) => n + 1);
                    Interlocked.Increment(ref items.Count == 10 ? ref ok : ref failed);
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref failed);
                }

                await Task.Delay(5);
            }
        });

        // A new snapshot is published while the store answers the replicas 503, then resets their
        // connections, then answers slowly (a download cut by the next mode change), then recovers.
        proxy!.Mode = FaultyProxy.Fault.Unavailable;
        var next = await PublishCopy(s3, "faults", "29990101-000000-000");
        foreach (var (fault, seconds) in new[] { (FaultyProxy.Fault.Unavailable, 4), (FaultyProxy.Fault.Reset, 3), (FaultyProxy.Fault.Slow, 3) })
        {
            proxy.Mode = fault;
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            foreach (var r in replicas)
            {
                Assert.That((await r.Client.GetStatusAsync()).SnapshotId, Is.EqualTo(first), $"{fault}: the first snapshot keeps serving");
            }
        }

        Assert.That(proxy.Faulted, Is.GreaterThan(0), "the replicas met the faults");
        proxy.Mode = FaultyProxy.Fault.None;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Until(async () => (await Task.WhenAll(replicas.Select(r => r.Client.GetStatusAsync()))).All(s => s.SnapshotId == next), "every replica converges once the store is back", seconds: 90);
        TestContext.Out.WriteLine($"converged {watch.Elapsed.TotalSeconds:F1} s after the store recovered; {proxy.Faulted} connections faulted");
        await stop.CancelAsync();
        await load;
        Assert.That(failed, Is.Zero, $"{ok} requests succeeded");
        Assert.That(served.Keys, Is.SubsetOf(new[] { first, next }), "only whole snapshots were served");
        foreach (var r in replicas)
        {
            Assert.That(r.Log(), Does.Contain("could not follow"), "each replica met the faults");
        }
    }

    [Test]
    public async Task ThePublisherKilledDuringItsUpload_CurrentNeverNamesAnIncompleteSnapshot_AndAnotherReplicaPublishes()
    {
        FaultyProxy? proxy = null;
        await using var fleet = await Running.StartAsync("killed", (c, s3) =>
        {
            proxy ??= new FaultyProxy(s3.Port) { SlowDelay = TimeSpan.FromMilliseconds(100) };
            c["S3:ServiceUrl"] = proxy.Url;
            c["Redis:LeaseSeconds"] = "3";
        });
        using var _ = proxy;
        var (first, replicas, s3) = (fleet.FirstSnapshot, fleet.Replicas, fleet.S3);
        var options = new S3Options { ServiceUrl = s3.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey };
        using var client = options.CreateClient();
        var store = new S3SnapshotStore(client, new S3Address(Bucket, "killed"), options, NullLogger.Instance);
        async Task<bool> Complete(string id) =>
            (await client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = Bucket, Prefix = $"killed/snapshots/{id}/{Recommender.Data.FileNames.Manifest}" })).S3Objects is { Count: > 0 };

        // current is read all along: every id it names must be a complete upload.
        using var stop = new CancellationTokenSource();
        var named = new List<string>();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                string? id;
                try
                {
                    id = await store.CurrentIdAsync();
                }
                catch (Exception e) when (e is not AssertionException)
                {
                    // s3rver streams an object while it is being rewritten: a read that meets the
                    // publisher's write ends early or with a broken ETag (seen as IOException and
                    // ArgumentOutOfRangeException in the SDK). That read says nothing of what current named.
                    await Task.Delay(50);
                    continue;
                }

                if (id is not null && (named.Count == 0 || named[^1] != id))
                {
                    Assert.That(await Complete(id), Is.True, $"current named {id} before its manifest was uploaded");
                    named.Add(id);
                }

                await Task.Delay(50);
            }
        });

        // Replica 1 retrains and uploads slowly; it is killed once its first file is in the bucket.
        proxy!.Mode = FaultyProxy.Fault.Slow;
        await replicas[0].Client.RetrainNowAsync();
        string? partial = null;
        await Until(async () => (partial = (await store.ListIdsAsync()).FirstOrDefault(id => id != first)) is not null, "replica 1's upload started", seconds: 60);
        replicas[0].Kill();
        proxy.Mode = FaultyProxy.Fault.None;
        Assert.That(await Complete(partial!), Is.False, "killed before its manifest went up");
        Assert.That(await store.CurrentIdAsync(), Is.EqualTo(first));

        // Its lease lapses; replica 2 retrains and publishes; the survivors swap to it.
        string? published = null;
        await Until(async () =>
        {
            var run = await replicas[1].Client.RetrainNowAsync();
            var status = await replicas[1].WaitForRunAsync(run);
            published = status.LastRunState == "succeeded" ? status.SnapshotId : null;
            return published is not null;
        }, "replica 2 takes the lapsed lease and publishes", seconds: 60);
        await Until(async () => (await Task.WhenAll(replicas.Skip(1).Select(r => r.Client.GetStatusAsync()))).All(s => s.SnapshotId == published), "the survivors serve it");
        await stop.CancelAsync();
        await watcher;
        Assert.That(await store.CurrentIdAsync(), Is.EqualTo(published));
        Assert.That(await Complete(published!), Is.True);
        Assert.That(named[0], Is.EqualTo(first));
        Assert.That(named.Skip(1), Is.SubsetOf(new[] { published }), "current named nothing but the two complete snapshots (the watcher checked each as it saw it)");
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
