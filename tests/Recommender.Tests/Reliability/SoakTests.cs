using System.Globalization;
using Recommender.Host.Cli;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>The soak verb's three-minute version: a real serve process, mixed load, a retrain every minute, and its pass criteria.</summary>
public class SoakTests
{
    [Test]
    public async Task ThreeMinutes_OfMixedLoad_WithARetrainEveryMinute_StayFlat()
    {
        var output = TestPaths.NewTempDir();
        var stdout = new StringWriter();
        var exit = await RecommenderCli.RunAsync(
            ["soak", "--artifacts", ServiceData.CopyArtifacts(), "--data", ServiceData.DataDir, "--out", output, "--minutes", "3",
             "--retrain-every-seconds", "60", "--warmup-seconds", "60", "--sample-seconds", "5", "--rate", "100", "--max-user", "600",
             "--port", FleetServer.FreePort().ToString(CultureInfo.InvariantCulture)],
            stdout, stdout);
        var report = stdout.ToString();
        Assert.That(exit, Is.EqualTo(0), report);

        var rows = File.ReadAllLines(Path.Combine(output, "soak.csv"));
        Assert.That(rows[0], Does.StartWith("minutes,rss_mb,gc_heap_mb,gc_committed_mb,open_files,threads"));
        Assert.That(rows.Length - 1, Is.InRange(30, 37), "one sample every 5 s for 3 minutes");
        var last = rows[^1].Split(',');
        Assert.That(int.Parse(last[11], CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(2), "the retrains' snapshots were swapped in");
        Assert.That(rows.Skip(1).Select(r => double.Parse(r.Split(',')[2], CultureInfo.InvariantCulture)), Is.All.GreaterThan(0), "the GC heap is read from /metrics");
        Assert.That(rows.Skip(1).Select(r => r.Split(',')).Select(c => double.Parse(c[3], CultureInfo.InvariantCulture) - double.Parse(c[2], CultureInfo.InvariantCulture)),
            Is.All.GreaterThanOrEqualTo(0), "the GC holds at least its heap committed");
        Assert.That(File.ReadAllText(Path.Combine(output, "soak.md")), Does.Contain("**passed**").And.Contain("failed requests: 0"));
        var collections = SoakTest.SwapCollections(Path.Combine(output, "serve.log"));
        Assert.That(collections, Has.Count.GreaterThanOrEqualTo(2), "every swap logs its collection");
        Assert.That(collections.Select(c => c.Freed), Is.All.True, "and the replaced snapshot is freed by it");
        Assert.That(File.ReadAllText(Path.Combine(output, "soak.md")), Does.Contain("The collection after each swap"));

        // What explains a slow window: per-kind p99 under the slowest call, and the service's collection pauses as its meter counts them.
        var header = rows[0].Split(',');
        int Column(string name) => Array.IndexOf(header, name) is >= 0 and var i ? i : throw new AssertionException($"soak.csv has no column {name}");
        var cells = rows.Skip(1).Select(r => r.Split(',')).Where(c => c[Column("max_ms")] != "NaN").ToList();
        double At(string[] c, string name) => double.Parse(c[Column(name)], CultureInfo.InvariantCulture);
        foreach (var kind in new[] { "p99_recommendations_ms", "p99_similar_ms", "p99_listen_ms", "p99_ms" })
        {
            Assert.That(cells.Where(c => c[Column(kind)] != "NaN").All(c => At(c, kind) <= At(c, "max_ms")), kind + " is at most the window's slowest call");
        }

        Assert.That(cells.Select(c => At(c, "service_gc_pause_ms")), Is.All.GreaterThanOrEqualTo(0));
        Assert.That(cells.Sum(c => At(c, "service_gc_pause_ms")), Is.GreaterThanOrEqualTo(0.5 * collections.Sum(c => c.PauseMs)),
            "the service's collection pauses (its meter) include the swaps' collections (its log)");
        Assert.That(File.ReadAllText(Path.Combine(output, "soak.md")), Does.Contain("The slowest windows"));
        foreach (var chart in new[] { "soak-memory.png", "soak-latency.png", "soak-handles.png" })
        {
            Assert.That(new FileInfo(Path.Combine(output, chart)).Length, Is.GreaterThan(1000), chart);
        }
    }
}
