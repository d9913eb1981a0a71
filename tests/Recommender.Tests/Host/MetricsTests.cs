using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;

namespace Recommender.Tests.Host;

/// <summary>/metrics in the Prometheus text format, scraped from a real server before and after some calls.</summary>
public partial class MetricsTests
{
    [GeneratedRegex(@"^(?<name>[a-z_][a-z0-9_]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex Sample();

    private static async Task<List<(string Name, string Labels, double Value)>> Scrape(HttpClient http)
    {
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        return [.. Sample().Matches(text).Select(m => (m.Groups["name"].Value, m.Groups["labels"].Value, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))];
    }

    private static double Value(List<(string Name, string Labels, double Value)> samples, string name, params string[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.Contains(l, StringComparison.Ordinal))).Sum(s => s.Value);

    [Test]
    public async Task Counters_Move_WithCalls_AndTheSnapshotIsDescribed()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };
        var before = await Scrape(http);

        var popular = await service.Client.GetPopularAsync(3);
        await service.Client.GetRecommendationsAsync(5, 10);
        await service.Client.GetRecommendationsAsync(6, 10);
        await service.Client.LogListenAsync(5, popular[0].TrackId);
        Assert.That(async () => await service.Client.GetRecommendationsAsync(5, 0), Throws.InstanceOf<RpcException>());
        await http.GetStringAsync(new Uri("/v1/popular?k=2", UriKind.Relative)); // transcoded calls count too

        var after = await Scrape(http);
        double Moved(string name, params string[] labels) => Value(after, name, labels) - Value(before, name, labels);
        Assert.That(Moved("recommender_rpc_requests_total", "method=\"GetRecommendations\"", "status=\"OK\""), Is.EqualTo(2));
        Assert.That(Moved("recommender_rpc_requests_total", "method=\"GetRecommendations\"", "status=\"InvalidArgument\""), Is.EqualTo(1));
        Assert.That(Moved("recommender_rpc_requests_total", "method=\"GetPopular\"", "status=\"OK\""), Is.EqualTo(2));
        Assert.That(Moved("recommender_rpc_duration_seconds_count", "method=\"GetRecommendations\""), Is.EqualTo(3));
        Assert.That(Moved("recommender_online_listens_total"), Is.EqualTo(1));
        Assert.That(Value(after, "recommender_online_events"), Is.EqualTo(1));
        Assert.That(Value(after, "recommender_rpc_in_flight"), Is.Zero, "nothing in flight between calls");

        var snapshot = (await service.Client.GetStatusAsync()).SnapshotId;
        Assert.That(Value(after, "recommender_snapshot_users", $"snapshot_id=\"{snapshot}\""), Is.GreaterThan(0));
        Assert.That(Value(after, "recommender_snapshot_tracks", $"snapshot_id=\"{snapshot}\""), Is.EqualTo(500));
        Assert.That(Value(after, "recommender_snapshot_age_seconds"), Is.GreaterThan(0));
        var published = after.Where(s => s.Name == "recommender_snapshot_served_ndcg_at_10").ToArray();
        Assert.That(published.Select(s => s.Labels), Has.Some.Contains("split=\"validation\""), "the published NDCG@10 of the served list");
        Assert.That(published.Select(s => s.Value), Has.All.InRange(0.0, 1.0).And.Some.GreaterThan(0));

        // The gauge reads the typed manifest; metrics.json (written by the same train) holds the same figures.
        var status = await service.Client.GetStatusAsync();
        using var metrics = System.Text.Json.JsonDocument.Parse(status.MetricsJson);
        double At10(System.Text.Json.JsonElement sets) => sets.EnumerateArray().Single(m => m.GetProperty("k").GetInt32() == 10).GetProperty("ndcg").GetDouble();
        var root = metrics.RootElement;
        Assert.That(Value(after, "recommender_snapshot_served_ndcg_at_10", "split=\"validation\""), Is.EqualTo(At10(root.GetProperty("validation").GetProperty("sources").GetProperty(status.ServedList))).Within(1e-9));
        Assert.That(Value(after, "recommender_snapshot_served_ndcg_at_10", "split=\"test\""), Is.EqualTo(At10(root.GetProperty("test").GetProperty("warm").GetProperty("served"))).Within(1e-9));
        Assert.That(after.Any(s => s.Name.StartsWith("http_server_request_duration_seconds", StringComparison.Ordinal)), "ASP.NET Core's own HTTP metrics are exported too");
    }

    [Test]
    public async Task Listens_are_counted_as_hits_when_the_track_was_in_the_last_list_served()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };
        var before = await Scrape(http);

        var (_, served) = await service.Client.GetRecommendationsAsync(5, 10);
        var catalog = (await service.Client.GetPopularAsync(50)).Select(p => p.TrackId).ToList();
        var outside = catalog.First(t => served.All(s => s.TrackId != t));
        await service.Client.LogListenAsync(5, served[3].TrackId);   // hit
        await service.Client.LogListenAsync(5, outside);              // miss
        await service.Client.LogListenAsync(6, served[0].TrackId);   // unserved: nothing was served to user 6

        var after = await Scrape(http);
        double Moved(string name, params string[] labels) => Value(after, name, labels) - Value(before, name, labels);
        Assert.That(Moved("recommender_online_hits_total"), Is.EqualTo(1));
        Assert.That(Moved("recommender_online_listens_total", "outcome=\"hit\""), Is.EqualTo(1));
        Assert.That(Moved("recommender_online_listens_total", "outcome=\"miss\""), Is.EqualTo(1));
        Assert.That(Moved("recommender_online_listens_total", "outcome=\"unserved\""), Is.EqualTo(1));
        Assert.That(Moved("recommender_online_listens_total"), Is.EqualTo(3));
    }
}
