using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.DependencyInjection;
using Recommender.Data;
using Recommender.Serving;
using Recommender.Snapshots;
using Recommender.Tests.Support;
using Recommender.V1;

namespace Recommender.Tests.Host;

/// <summary>Through the generated client against the real host on Kestrel (loopback).</summary>
[NonParallelizable]
public class ServiceTests
{
    private static (long User, long[] History) WarmUser(string artifacts)
    {
        var snapshot = ServingSnapshot.Load(new SnapshotStore(artifacts).Current()!);
        for (var u = 0; u < snapshot.Users.Count; u++)
        {
            if (snapshot.Recommendations.ItemsOf(u).Length >= 10 && snapshot.HistoryOf(u).Length >= 5)
            {
                return (snapshot.Users.RawId(u), snapshot.HistoryOf(u).ToArray().Select(i => snapshot.Items.RawId(i)).ToArray());
            }
        }

        throw new InvalidOperationException("no warm user");
    }

    private const long ColdUser = 987_654_321;

    [Test]
    public async Task ColdUser_GetsPopularTracks_WarmUser_GetsPersonalOnesNeverHeard()
    {
        var artifacts = ServiceData.CopyArtifacts();
        await using var service = await RunningService.StartAsync(ServiceData.Config(artifacts));
        var popular = await service.Client.GetPopularAsync(10);
        var (_, cold) = await service.Client.GetRecommendationsAsync(ColdUser, 10);
        Assert.That(cold, Has.Count.EqualTo(10));
        Assert.That(cold.Select(c => c.Source), Is.All.EqualTo(Source.Popular));
        Assert.That(cold.Select(c => c.TrackId), Is.EqualTo(popular.Select(p => p.TrackId)));

        var (user, history) = WarmUser(artifacts);
        var (_, warm) = await service.Client.GetRecommendationsAsync(user, 200);
        Assert.That(warm, Has.Count.EqualTo(200), "k items whenever the catalog allows");
        Assert.That(warm.Take(10).Select(w => w.Source), Is.All.EqualTo(Source.Personal));
        Assert.That(warm.Select(w => w.TrackId).Intersect(history), Is.Empty);
        Assert.That(warm.Select(w => w.TrackId).Distinct().Count(), Is.EqualTo(200));
        Assert.That(warm[0].Name, Is.Not.Empty);
    }

    [Test]
    public async Task LoggedListen_ChangesTheNextAnswer_AndIsNeverRecommendedBack()
    {
        var artifacts = ServiceData.CopyArtifacts();
        await using var service = await RunningService.StartAsync(ServiceData.Config(artifacts));
        var popular = await service.Client.GetPopularAsync(3);
        var (_, before) = await service.Client.GetRecommendationsAsync(ColdUser, 20);
        var listened = popular[0].TrackId;
        var sequence = await service.Client.LogListenAsync(ColdUser, listened);
        Assert.That(sequence, Is.EqualTo(1));
        var (_, after) = await service.Client.GetRecommendationsAsync(ColdUser, 20);
        Assert.That(after.Select(a => a.TrackId), Does.Not.Contain(listened));
        Assert.That(after.Select(a => a.Source), Does.Contain(Source.Online), "neighbours of the new listen");
        Assert.That(after.Select(a => a.Source), Does.Contain(Source.Personal), "an ALS fold-in for a user the model never saw");
        Assert.That(after.Select(a => a.TrackId), Is.Not.EqualTo(before.Select(b => b.TrackId)));
    }

    [Test]
    public async Task BadRequests_GetStatusCodesNamingTheField()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        var k = Assert.ThrowsAsync<RpcException>(() => service.Client.GetRecommendationsAsync(1, 0));
        Assert.That(k!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(k.Status.Detail, Does.StartWith("k must be"));
        var bigK = Assert.ThrowsAsync<RpcException>(() => service.Client.GetPopularAsync(1_000_000));
        Assert.That(bigK!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        var track = Assert.ThrowsAsync<RpcException>(() => service.Client.GetSimilarTracksAsync(2_000_000_000, 5));
        Assert.That(track!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(track.Status.Detail, Does.Contain("track_id"));
        var listen = Assert.ThrowsAsync<RpcException>(() => service.Client.LogListenAsync(1, 12345678901));
        Assert.That(listen!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(listen.Status.Detail, Does.Contain("track_id"));
        var user = Assert.ThrowsAsync<RpcException>(() => service.Client.LogListenAsync(-1, 1));
        Assert.That(user!.Status.Detail, Does.Contain("user_id"));
    }

    [Test]
    public async Task OpsCalls_RequireTheBearerToken()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        using var anonymous = service.ClientWithToken(null);
        using var wrong = service.ClientWithToken("not-the-token-at-all");
        Assert.That(Assert.ThrowsAsync<RpcException>(() => anonymous.GetStatusAsync())!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(Assert.ThrowsAsync<RpcException>(() => wrong.RetrainNowAsync())!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        var status = await service.Client.GetStatusAsync();
        Assert.That(status.SnapshotId, Is.Not.Empty);
        Assert.That(status.MetricsJson, Does.Contain("warm").And.Contain("validation"));
        Assert.That(Recommender.Evaluation.ValidationReport.Candidates, Does.Contain(status.ServedList), "GetStatus says which list is served");
        Assert.That(status.LastRunState, Is.EqualTo("idle"));
        // The recommendation service itself needs no token.
        Assert.That(await anonymous.GetPopularAsync(1), Has.Count.EqualTo(1));
    }

    [TestCase("ChildProcess")]
    [TestCase("InProcess")]
    public async Task RetrainNow_SwapsTheSnapshotWhileRequestsKeepSucceeding(string mode)
    {
        var artifacts = ServiceData.CopyArtifacts();
        var onlineLog = Path.Combine(TestPaths.NewTempDir(), "listens.log");
        var config = ServiceData.Config(artifacts, onlineLog: onlineLog);
        config["Recommender:RetrainMode"] = mode;
        await using var service = await RunningService.StartAsync(config);
        var before = (await service.Client.GetStatusAsync()).SnapshotId;
        await service.Client.LogListenAsync(ColdUser, (await service.Client.GetPopularAsync(1))[0].TrackId);

        using var stop = new CancellationTokenSource();
        long ok = 0, failed = 0;
        var snapshotsSeen = new HashSet<string>();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (id, items) = await service.Client.GetRecommendationsAsync(1, 10);
                    lock (snapshotsSeen)
                    {
                        snapshotsSeen.Add(id);
                    }

                    if (items.Count == 10)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch (RpcException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        });

        var runId = await service.Client.RetrainNowAsync();
        Assert.That(runId, Is.Not.Empty);
        var status = await service.WaitForRunAsync(runId);
        await Task.Delay(200);
        await stop.CancelAsync();
        await load;

        Assert.That(status.LastRunState, Is.EqualTo("succeeded"), status.LastRunError);
        Assert.That(status.SnapshotId, Is.Not.EqualTo(before));
        Assert.That(failed, Is.Zero, $"{ok} requests succeeded");
        Assert.That(ok, Is.GreaterThan(10));
        Assert.That(snapshotsSeen, Does.Contain(before).And.Contain(status.SnapshotId), $"requests ran before and after the swap (before {before}, after {status.SnapshotId})");
        var manifest = File.ReadAllText(Path.Combine(new SnapshotStore(artifacts).Current()!, "manifest.json"));
        Assert.That(manifest, Does.Contain("\"all_events\": true"));
        // The retrained model learned the online listen: the cold user is now a known user.
        var snapshot = ServingSnapshot.Load(new SnapshotStore(artifacts).Current()!);
        Assert.That(snapshot.Users.IndexOf(ColdUser), Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public async Task ANightlyFireDuringARun_IsSkippedNotQueued()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        var runId = await service.Client.RetrainNowAsync();
        var scheduler = await service.App.Services.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler();
        await scheduler.TriggerJob(Recommender.Host.Retraining.RetrainJob.Key); // what the cron trigger does at 03:00
        var status = await service.WaitForRunAsync(runId);
        Assert.That(status.LastRunState, Is.EqualTo("succeeded"), status.LastRunError);
        await Task.Delay(1500);
        status = await service.Client.GetStatusAsync();
        Assert.That(status.LastRunId, Is.EqualTo(runId), "no second run started after the first one");
        Assert.That(status.LastRunState, Is.EqualTo("succeeded"));
    }

    [Test]
    public async Task FailingRetrain_KeepsTheOldSnapshotServing()
    {
        var artifacts = ServiceData.CopyArtifacts();
        var broken = TestPaths.NewTempDir();
        await File.WriteAllTextAsync(Path.Combine(broken, "tracks.parquet"), "not parquet");
        await using var service = await RunningService.StartAsync(ServiceData.Config(artifacts, dataDir: broken));
        var before = (await service.Client.GetStatusAsync()).SnapshotId;
        var runId = await service.Client.RetrainNowAsync();
        var status = await service.WaitForRunAsync(runId);
        Assert.That(status.LastRunState, Is.EqualTo("failed"));
        Assert.That(status.LastRunError, Does.Contain("tracks.parquet"));
        Assert.That(status.SnapshotId, Is.EqualTo(before));
        Assert.That((await service.Client.GetRecommendationsAsync(1, 5)).Items, Has.Count.EqualTo(5));
    }

    [Test]
    public async Task DuringALongChildRetrain_ASecondIsRefused_AndShutdownStopsItWithoutAHalfSnapshot()
    {
        var artifacts = ServiceData.CopyArtifacts();
        var before = new SnapshotStore(artifacts).Current();
        var config = ServiceData.Config(artifacts);
        config["Recommender:AlsFactors"] = "1024";
        config["Recommender:AlsIterations"] = "1000"; // minutes of work: only a cancellation ends it within the test
        var service = await RunningService.StartAsync(config);
        var runId = await service.Client.RetrainNowAsync();

        // One run at a time: a second request while this long run goes on is refused.
        var overlap = Assert.ThrowsAsync<RpcException>(() => service.Client.RetrainNowAsync());
        Assert.That(overlap!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(overlap.Status.Detail, Does.Contain(runId));
        var snapshots = Path.Combine(artifacts, "snapshots");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Directory.GetDirectories(snapshots, ".tmp-*").Any() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50); // the child has begun writing its snapshot
        }

        Assert.That(Directory.GetDirectories(snapshots, ".tmp-*"), Is.Not.Empty, "the child retrain started");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await service.DisposeAsync();
        Assert.That(watch.Elapsed, Is.LessThan(Recommender.Host.Retraining.RetrainRunner.CancelGrace), "stopped by SIGTERM, not by the kill after the grace period");
        Assert.That(Directory.GetDirectories(snapshots, ".tmp-*"), Is.Empty, "the cancelled child removed its unfinished snapshot");
        Assert.That(new SnapshotStore(artifacts).Current(), Is.EqualTo(before));
    }

    [TestCase("OfflineOnly", false)]
    [TestCase("Interleave", true)]
    [TestCase("RankFusion", true)]
    public async Task MeasuredBlend_FollowsTheSnapshotsReplayWinner(string strategy, bool onlineShows)
    {
        var artifacts = ServiceData.CopyArtifacts();
        var manifest = Path.Combine(artifacts, SnapshotStore.CurrentLink, FileNames.Manifest);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        json["blend"] = new System.Text.Json.Nodes.JsonObject { ["warm"] = strategy, ["cold"] = strategy };
        File.WriteAllText(manifest, json.ToJsonString());
        await using var service = await RunningService.StartAsync(ServiceData.Config(artifacts, blend: "Measured"));
        var listened = (await service.Client.GetPopularAsync(1))[0].TrackId;
        await service.Client.LogListenAsync(ColdUser, listened);
        var (_, after) = await service.Client.GetRecommendationsAsync(ColdUser, 20);
        Assert.That(after.Select(a => a.TrackId), Does.Not.Contain(listened));
        Assert.That(after.Any(a => a.Source == Source.Online), Is.EqualTo(onlineShows), $"{strategy} for cold users, from the manifest");
    }

    [Test]
    public async Task AcknowledgedListens_SurviveARestart()
    {
        var artifacts = ServiceData.CopyArtifacts();
        var log = Path.Combine(TestPaths.NewTempDir(), "listens.log");
        long track;
        await using (var first = await RunningService.StartAsync(ServiceData.Config(artifacts, onlineLog: log)))
        {
            track = (await first.Client.GetPopularAsync(1))[0].TrackId;
            await first.Client.LogListenAsync(ColdUser, track, new DateTime(2023, 1, 2, 0, 0, 0, DateTimeKind.Utc));
        }

        await using var second = await RunningService.StartAsync(ServiceData.Config(artifacts, onlineLog: log));
        Assert.That((await second.Client.GetStatusAsync()).OnlineEvents, Is.EqualTo(1));
        var (_, items) = await second.Client.GetRecommendationsAsync(ColdUser, 10);
        Assert.That(items.Select(i => i.TrackId), Does.Not.Contain(track));
        Assert.That(items.Select(i => i.Source), Does.Contain(Source.Online));
    }

    [Test]
    public async Task HealthAndReflection_AreServed()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        using var channel = GrpcChannel.ForAddress(service.Address);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));

        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.That(await call.ResponseStream.MoveNext(), Is.True);
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();
        Assert.That(services, Does.Contain("recommender.v1.RecommendationService").And.Contain("recommender.v1.OpsService").And.Contain("grpc.health.v1.Health"));
    }

    [Test]
    public async Task TheNightlyTrigger_IsBuiltFromTheValidatedCron()
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config["Recommender:RetrainCron"] = "0 30 4 ? * MON-FRI";
        await using var service = await RunningService.StartAsync(config);
        var scheduler = await service.App.Services.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler();
        var trigger = await scheduler.GetTrigger(Recommender.Host.Retraining.NightlyRetrainSchedule.Key) as Quartz.ICronTrigger;
        Assert.That(trigger, Is.Not.Null, "the nightly trigger is scheduled");
        Assert.That(trigger!.CronExpressionString, Is.EqualTo("0 30 4 ? * MON-FRI"));
        Assert.That(trigger.JobKey, Is.EqualTo(Recommender.Host.Retraining.RetrainJob.Key));
        var next = trigger.NextFireTimeUtc!.Value;
        Assert.That(next.Minute, Is.EqualTo(30));
        Assert.That(next.DayOfWeek, Is.Not.EqualTo(DayOfWeek.Saturday).And.Not.EqualTo(DayOfWeek.Sunday));
    }

    [Test]
    public void InvalidConfiguration_ListsEveryFailureAtStart()
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config["Recommender:RetrainCron"] = "every night please";
        config["Recommender:MaxK"] = "0";
        config["Recommender:AlsIterations"] = "5000";
        config["Ops:Token"] = "short";
        var error = Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(async () => await RunningService.StartAsync(config));
        Assert.That(error!.Message, Does.Contain("RetrainCron").And.Contain("MaxK").And.Contain("AlsIterations"));
        Assert.That(error.Failures.Count(), Is.GreaterThanOrEqualTo(3), string.Join("; ", error.Failures));
    }
}

/// <summary>The same contract through ASP.NET Core's in-memory test server.</summary>
public class InProcessServiceTests
{
    [Test]
    public async Task Recommendations_AndValidation_InProcess()
    {
        await using var service = await InProcessService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        var (snapshot, items) = await service.Client.GetRecommendationsAsync(123_456_789, 7);
        Assert.That(snapshot, Is.Not.Empty);
        Assert.That(items, Has.Count.EqualTo(7));
        var similar = await service.Client.GetSimilarTracksAsync(items[0].TrackId, 5);
        Assert.That(similar, Has.Count.EqualTo(5));
        Assert.That(similar.Select(s => s.TrackId), Does.Not.Contain(items[0].TrackId));
        var error = Assert.ThrowsAsync<RpcException>(() => service.Client.GetRecommendationsAsync(1, -3));
        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }
}
