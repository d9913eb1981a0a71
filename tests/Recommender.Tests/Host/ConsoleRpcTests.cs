using System.Net;
using System.Text.Json;
using Grpc.Core;
using Recommender.Data;
using Recommender.Diagnostics;
using Recommender.Host.Services;
using Recommender.Ranking;
using Recommender.Serving;
using Recommender.Snapshots;
using Recommender.V1;

namespace Recommender.Tests.Host;

/// <summary>
/// The console's RPCs on the shared trained snapshot, each answer checked against the snapshot's
/// own files (loaded here beside the service): history order and days, each list as written or as
/// its model gives it, contributions adding up to the ranker's score, hit counting.
/// </summary>
[NonParallelizable] // the hour and minute counts are the service's own: one test at a time reads them
public sealed class ConsoleRpcTests
{
    private static readonly Lazy<(string Artifacts, ServingSnapshot Snapshot)> Shared = new(() =>
    {
        var artifacts = ServiceData.CopyArtifacts();
        return (artifacts, ServingSnapshot.Load(new SnapshotStore(artifacts).RequireCurrent()));
    });

    private static ServingSnapshot Snap => Shared.Value.Snapshot;

    /// <summary>A user with a served list and at least 12 listens, chosen from the snapshot's files.</summary>
    private static (int Dense, long Raw) KnownUser()
    {
        var u = Enumerable.Range(0, Snap.Users.Count).First(u => Snap.HistoryOf(u).Length >= 12 && Snap.Recommendations.ItemsOf(u).Length >= 10);
        return (u, Snap.Users.RawId(u));
    }

    [Test]
    public async Task InspectUser_ShowsTheHistoryNewestFirst_AndEveryListAsTheSnapshotHoldsIt()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        var (dense, raw) = KnownUser();
        var reply = await service.Client.InspectUserAsync(raw, k: 10, history: 12);

        Assert.That(reply.Known, Is.True);
        Assert.That(reply.SnapshotListens, Is.EqualTo(Snap.HistoryOf(dense).Length));
        Assert.That(reply.OnlineListens, Is.Zero);

        // user_history.bin in reverse; each day from listen_days.bin's slice, read here whole.
        var history = Snap.HistoryOf(dense).ToArray();
        Assert.That(reply.History.Select(h => h.TrackId), Is.EqualTo(history.Reverse().Take(12).Select(Snap.Items.RawId)));
        var days = new ushort[history.Length];
        UserHistory.ReadDays(Path.Combine(Snap.Directory, FileNames.ListenDays), Snap.HistoryItems.Length, Snap.HistoryOffsets.Span[dense], days);
        Assert.That(reply.History.Select(h => h.Time), Is.EqualTo(days.Reverse().Take(12).Select(d => DateOnly.FromDayNumber(new DateOnly(1970, 1, 1).DayNumber + d).ToString("yyyy-MM-dd"))));
        Assert.That(reply.History.Select(h => h.Name), Is.EqualTo(history.Reverse().Take(12).Select(i => Snap.Tracks[i].Name)));

        Assert.That(reply.Lists.Select(l => l.Name), Is.EqualTo(SnapshotInspector.ListNames));
        var served = reply.Lists.Single(l => l.Name == "served");
        Assert.That(served.Items.Select(i => i.TrackId), Is.EqualTo(Snap.Recommendations.ItemsOf(dense)[..10].ToArray().Select(Snap.Items.RawId)), "recommendations.parquet's row");
        Assert.That(served.Items.Select(i => i.Rank), Is.EqualTo(Enumerable.Range(1, 10)));
        var popular = reply.Lists.Single(l => l.Name == "popular");
        // The models see the listens before the snapshot's test period (those they were fitted on).
        var fitted = Snap.Inspector.ModelHistory(dense);
        Assert.That(fitted.Length, Is.LessThan(history.Length), "the shared snapshot holds a test period");
        Assert.That(fitted, Is.EqualTo(history.Where((_, e) => days[e] < DayOf(Snap.Inspector.Manifest.Split!.SplitDay!.Value))), "the listens before the split day");
        Assert.That(popular.Items.Select(i => i.TrackId), Is.EqualTo(Snap.Popular.Items.Where(i => !fitted.Contains(i)).Take(10).Select(Snap.Items.RawId)), "top_popular.parquet without the tracks heard before the split");
        var heard = history.Select(Snap.Items.RawId).ToHashSet();
        foreach (var list in reply.Lists)
        {
            Assert.That(list.Items, Has.Count.LessThanOrEqualTo(10), list.Name);
            Assert.That(list.Items.Select(i => i.Heard), Is.EqualTo(list.Items.Select(i => heard.Contains(i.TrackId))), $"{list.Name}: heard tracks are marked");
            Assert.That(list.Description, Is.Not.Empty);
        }

        // No list holds a track heard before the split; one heard in the test period may be there (marked).
        var heardBefore = fitted.Select(Snap.Items.RawId).ToHashSet();
        Assert.That(reply.Lists.SelectMany(l => l.Items).Where(i => heardBefore.Contains(i.TrackId)), Is.Empty);

        Assert.That(reply.Lists.Where(l => l.Name != "served").Sum(l => l.Items.Count), Is.GreaterThan(40), "the models answer");

        // The ranked list's reasons: in its order, every feature named, bias + Σ contributions = score.
        var ranked = reply.Lists.Single(l => l.Name == "ranked");
        Assert.That(reply.RankedReasons.Select(r => r.TrackId), Is.EqualTo(ranked.Items.Select(i => i.TrackId)));
        foreach (var reasons in reply.RankedReasons)
        {
            Assert.That(reasons.Features.Select(f => f.Feature), Is.EqualTo(FeatureContext.FeatureNames));
            Assert.That(reasons.Bias + reasons.Features.Sum(f => f.Contribution), Is.EqualTo(reasons.Score).Within(1e-4), $"track {reasons.TrackId}");
        }

        Assert.That(reply.Answer.Items.Select(i => i.TrackId), Is.EqualTo((await service.Client.GetRecommendationsAsync(raw, 10)).Items.Select(i => i.TrackId)), "the answer is GetRecommendations'");
        Assert.That(reply.AnswerReason, Does.Contain("known user without online listens"));
    }

    [Test]
    public async Task ALoggedListen_JoinsTheHistory_AndLeavesTheServedColumnAndTheAnswer()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        var (_, raw) = KnownUser();
        var before = await service.Client.InspectUserAsync(raw, k: 10);
        var track = before.Lists.Single(l => l.Name == "served").Items.First(i => !i.Heard).TrackId;
        Assert.That(before.Answer.Items.Select(i => i.TrackId), Does.Contain(track), "a served track not heard yet is in the answer");

        await service.Client.LogListenAsync(raw, track);
        var after = await service.Client.InspectUserAsync(raw, k: 10);
        Assert.That(after.OnlineListens, Is.EqualTo(1));
        Assert.That(after.History[0].TrackId, Is.EqualTo(track));
        Assert.That(after.History[0].Online, Is.True);
        Assert.That(after.History.Skip(1).Select(h => h.Online), Is.All.False);
        Assert.That(after.Lists.Single(l => l.Name == "served").Items.Select(i => i.TrackId).ToList(), Does.Not.Contain(track).And.Count.EqualTo(10));
        Assert.That(after.Answer.Items.Select(i => i.TrackId), Does.Not.Contain(track));
        Assert.That(after.AnswerReason, Does.Contain("1 online listen"));
    }

    [Test]
    public async Task AColdUser_IsAnsweredWithPopular_AndToldWhy()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        const long Stranger = 987_654_321;
        var reply = await service.Client.InspectUserAsync(Stranger, k: 5);
        Assert.That(reply.Known, Is.False);
        Assert.That(reply.History, Is.Empty);
        Assert.That(reply.Lists.Single(l => l.Name == "served").Items, Is.Empty, "recommendations.parquet has no row for them");
        Assert.That(reply.Answer.Items.Select(i => i.TrackId), Is.EqualTo(Snap.Popular.Items.Take(5).Select(Snap.Items.RawId)));
        Assert.That(reply.Answer.Items.Select(i => i.Source), Is.All.EqualTo(Source.Popular));
        Assert.That(reply.AnswerReason, Does.Contain("cold user with no listens"));

        await service.Client.LogListenAsync(Stranger, Snap.Items.RawId(Snap.Popular.Items[0]));
        var folded = await service.Client.InspectUserAsync(Stranger, k: 5);
        Assert.That(folded.AnswerReason, Does.Contain("fold-in"));
        Assert.That(folded.History.Single().Online, Is.True);
    }

    [Test]
    public async Task InspectTrack_GivesTheSnapshotsNeighbourTables_AndSearchFindsTracksByNameOrArtist()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        var item = Enumerable.Range(0, Snap.Items.Count).First(i => Snap.Similar.NeighborsOf(i).Length >= 5 && Snap.Sequential.NeighborsOf(i).Length >= 2);
        var reply = await service.Client.InspectTrackAsync(Snap.Items.RawId(item), k: 5);
        Assert.That(reply.Track.Name, Is.EqualTo(Snap.Tracks[item].Name));
        Assert.That(reply.Listeners, Is.GreaterThan(0));
        Assert.That(reply.Neighbours.Select(n => n.Name), Is.EqualTo(new[] { "als", "next", "itemknn" }));
        Assert.That(reply.Neighbours[0].Items.Select(i => i.TrackId), Is.EqualTo(Snap.Similar.NeighborsOf(item)[..5].ToArray().Select(Snap.Items.RawId)));
        Assert.That(reply.Neighbours[0].Items.Select(i => (float)i.Score), Is.EqualTo(Snap.Similar.ScoresOf(item)[..5].ToArray()));
        var next = Snap.Sequential.NeighborsOf(item);
        Assert.That(reply.Neighbours[1].Items.Select(i => i.TrackId), Is.EqualTo(next[..Math.Min(5, next.Length)].ToArray().Select(Snap.Items.RawId)));
        var knn = NeighborTableOf(FileNames.ItemKnn);
        Assert.That(reply.Neighbours[2].Items.Select(i => i.TrackId), Is.EqualTo(knn.NeighborsOf(item)[..Math.Min(5, knn.NeighborsOf(item).Length)].ToArray().Select(Snap.Items.RawId)), "item_knn.parquet's row");

        var missing = Assert.ThrowsAsync<RpcException>(() => service.Client.InspectTrackAsync(int.MaxValue));
        Assert.That(missing!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        var badK = Assert.ThrowsAsync<RpcException>(() => service.Client.InspectTrackAsync(Snap.Items.RawId(item), k: -1));
        Assert.That(badK!.Status.Detail, Does.StartWith("k must be"));

        // A name's middle, upper-cased: found; an artist finds their tracks.
        var name = Snap.Tracks[item].Name;
        var found = await service.Client.SearchTracksAsync(name[1..^1].ToUpperInvariant(), 100);
        Assert.That(found.Select(t => t.TrackId), Does.Contain(Snap.Items.RawId(item)));
        Assert.That(found.Select(t => t.Name.Contains(name[1..^1], StringComparison.OrdinalIgnoreCase) || t.Artists.Any(a => a.Contains(name[1..^1], StringComparison.OrdinalIgnoreCase))), Is.All.True);
        var artist = Snap.Tracks[item].Artists[0];
        var byArtist = await service.Client.SearchTracksAsync(artist, 100);
        Assert.That(byArtist.Select(t => t.TrackId), Does.Contain(Snap.Items.RawId(item)));
        Assert.That(await service.Client.SearchTracksAsync("no track is called this \u2603"), Is.Empty);
        var empty = Assert.ThrowsAsync<RpcException>(() => service.Client.SearchTracksAsync("  "));
        Assert.That(empty!.Status.Detail, Does.StartWith("query"));

        // The JSON route with the query in the URL.
        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/v1/ops/tracks?query={Uri.EscapeDataString(artist)}&limit=3", UriKind.Relative));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServiceData.Token);
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.That(json.RootElement.GetProperty("tracks").GetArrayLength(), Is.InRange(1, 3));
    }

    [Test]
    public async Task GetReports_GivesTheSnapshotsReportFiles()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        var reports = await service.Client.GetReportsAsync();
        Assert.That(reports.SnapshotId, Is.EqualTo(Snap.Id));
        Assert.That(reports.QualityJson, Is.EqualTo(File.ReadAllText(Path.Combine(Snap.Directory, FileNames.QualityJson))));
        Assert.That(reports.EdaJson, Is.EqualTo(File.ReadAllText(Path.Combine(Snap.Directory, FileNames.EdaJson))));
        Assert.That(reports.MetricsJson, Is.EqualTo(File.ReadAllText(Path.Combine(Snap.Directory, FileNames.Metrics))));
        Assert.That(SnapshotManifest.Parse(System.Text.Encoding.UTF8.GetBytes(reports.ManifestJson), "reply").Timings, Is.Not.Empty);
    }

    [Test]
    public async Task ListensAreCountedPerHour_AsHitMissOrUnserved()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        var (_, raw) = KnownUser();
        var served = (await service.Client.GetRecommendationsAsync(raw, 10)).Items;
        var outside = Snap.Items.RawId(Enumerable.Range(0, Snap.Items.Count).First(i => served.All(s => s.TrackId != Snap.Items.RawId(i))));
        await service.Client.LogListenAsync(raw, served[3].TrackId); // hit
        await service.Client.LogListenAsync(raw, outside); // miss
        await service.Client.LogListenAsync(raw + 1, outside); // unserved: nothing was served to them here

        await Task.Delay(1100); // the request rate counts whole seconds
        var quality = await service.Client.GetOnlineQualityAsync(hours: 2);
        Assert.That(quality.Hours, Has.Count.EqualTo(2));
        Assert.That(quality.Hours[1].Hour.ToDateTime(), Is.GreaterThan(quality.Hours[0].Hour.ToDateTime()));
        // Both hours: the test may straddle an hour's end.
        Assert.That((quality.Hours.Sum(h => h.Hits), quality.Hours.Sum(h => h.Misses), quality.Hours.Sum(h => h.Unserved)), Is.EqualTo((1L, 1L, 1L)));
        Assert.That(quality.Fleet, Is.False, "no Redis: this replica's counts");
        Assert.That(quality.RememberedUsers, Is.EqualTo(1));
        Assert.That(quality.RememberedBytes, Is.EqualTo(80L * ServedLists.DefaultSlots), "the table: 80 B per slot");
        Assert.That(quality.RecommendationsPerSecond, Is.EqualTo(1 / 60.0).Within(1e-9), "one call in the last minute");
        Assert.That(quality.RecommendationsP99Ms, Is.GreaterThan(0));
        Assert.That((await service.Client.GetOnlineQualityAsync()).Hours, Has.Count.EqualTo(72), "the default");
        Assert.ThrowsAsync<RpcException>(() => service.Client.GetOnlineQualityAsync(hours: 169));
    }

    [Test]
    public void RunProgress_AddsTheRestOfTheStageAtItsRate_ToTheLaterStagesOfTheServingRun()
    {
        var timings = Snap.Inspector.Manifest.Timings;
        Assume.That(timings, Has.Count.GreaterThan(3));
        var started = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var done = timings.Take(2).Select(t => t.Stage).ToArray();
        var current = timings[2].Stage;
        // 40 s in, a quarter done: 120 s more for this stage, then every later stage as long as it took before.
        var progress = OpsGrpcService.Progress("run-1", new RunProgressReport(current, started, 25, 100, done), Snap, started.AddSeconds(40));
        Assert.That(progress.Stage, Is.EqualTo(current));
        Assert.That(progress.StagesDone, Is.EqualTo(2));
        Assert.That(progress.StagesExpected, Is.EqualTo(timings.Count));
        Assert.That(progress.StageSeconds, Is.EqualTo(40).Within(1e-9));
        Assert.That(progress.SecondsLeft, Is.EqualTo(120 + timings.Skip(3).Where(t => t.Stage != current && !done.Contains(t.Stage)).Sum(t => t.Seconds)).Within(1e-6));

        // Without units: what the stage took last time, less the time so far (never negative).
        var unitless = OpsGrpcService.Progress("run-1", new RunProgressReport(current, started, 0, 0, done), Snap, started.AddSeconds(timings[2].Seconds / 2));
        Assert.That(unitless.SecondsLeft, Is.EqualTo((timings[2].Seconds / 2) + timings.Skip(3).Where(t => t.Stage != current && !done.Contains(t.Stage)).Sum(t => t.Seconds)).Within(1e-6));
    }

    private static int DayOf(DateOnly date) => date.DayNumber - new DateOnly(1970, 1, 1).DayNumber;

    private static Recommender.Models.NeighborTable NeighborTableOf(string file) => Recommender.Models.NeighborTable.Load(Path.Combine(Snap.Directory, file), Snap.Items);
}
