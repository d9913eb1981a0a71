using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Generation;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Serving;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

/// <summary>The online strategies the service follows are chosen on the validation window: what happens after the split cannot move them.</summary>
public sealed class ReplayChoiceTests
{
    private static readonly Lazy<(TrainResult Before, TrainResult After)> Runs = new(Train);

    private static (TrainResult Before, TrainResult After) Train()
    {
        var data = TestPaths.NewTempDir();
        new SyntheticGenerator(new GeneratorOptions { Users = 600, Tracks = 500, Seed = 3 }, NullLogger.Instance).Generate(data);
        var split = new DateOnly(2022, 12, 16);
        TrainOptions Options(string? online) => new() { DataDir = data, OutRoot = TestPaths.NewTempDir(), SplitDate = split, OnlineEventsPath = online, Als = new AlsParameters { Factors = 8, Iterations = 3 } };

        // The same export, plus 3,000 listens after the split: the test period is another one.
        var log = Path.Combine(TestPaths.NewTempDir(), "listens.log");
        using (var online = new OnlineEventLog(log))
        {
            var rng = new Random(5);
            var catalog = TrackCatalog.Read(data);
            for (var i = 0; i < 3000; i++)
            {
                online.Append(new OnlineEvent(1 + rng.Next(600), catalog.Items.RawId(rng.Next(catalog.Items.Count)), new DateTime(2022, 12, 17 + rng.Next(14), rng.Next(24), 0, 0, DateTimeKind.Utc)));
            }
        }

        return (new TrainPipeline(Options(null), NullLogger.Instance).Run(), new TrainPipeline(Options(log), NullLogger.Instance).Run());
    }

    [Test]
    public void TheServedBlend_IsChosenBeforeTheSplit_AlteringTheTestPeriodLeavesItAlone()
    {
        var (before, after) = Runs.Value;
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(before.SnapshotDir, FileNames.Metrics)));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(after.SnapshotDir, FileNames.Metrics)));
        Assert.That(b.RootElement.GetProperty("replay").GetRawText(), Is.Not.EqualTo(a.RootElement.GetProperty("replay").GetRawText()), "the test period did change");
        Assert.That(b.RootElement.GetProperty("validation_replay").GetRawText(), Is.EqualTo(a.RootElement.GetProperty("validation_replay").GetRawText()), "the validation window's replay did not");
        var (ma, mb) = (SnapshotManifest.Read(before.SnapshotDir), SnapshotManifest.Read(after.SnapshotDir));
        Assert.That(mb.Blend, Is.EqualTo(ma.Blend));
        Assert.That(ma.Blend!.MeasuredBy, Does.StartWith("replay of the validation window"));
        var replay = a.RootElement.GetProperty("validation_replay");
        Assert.That(ma.Blend.Warm, Is.EqualTo(replay.GetProperty("best_warm").GetString()));
        Assert.That(ma.Blend.Cold, Is.EqualTo(replay.GetProperty("best_cold").GetString()));
        Assert.That(replay.GetProperty("rows")[0].GetProperty("warm").GetProperty("users").GetInt32(), Is.GreaterThan(50), "warm users replayed in the window");
        Assert.That(ServingSnapshot.Load(before.SnapshotDir).MeasuredBlend?.Warm.ToString(), Is.EqualTo(ma.Blend.Warm), "the service follows it");
    }

    /// <summary>Candidate recall: deeper lists find more, and the ranker's candidates (ALS's and item-based's top 50 among them) find at least what either's top 50 does.</summary>
    [Test]
    public void CandidateRecall_GrowsWithDepth_AndTheRankersUnionHoldsItsParts()
    {
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Runs.Value.Before.SnapshotDir, FileNames.Metrics)));
        var recall = metrics.RootElement.GetProperty("candidate_recall");
        Assert.That(recall.GetProperty("users").GetInt32(), Is.GreaterThan(50));
        var rows = recall.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("source").GetString()!, r => (At50: r.GetProperty("at50").GetDouble(), At100: r.GetProperty("at100").GetDouble(), At200: r.GetProperty("at200").GetDouble()));
        Assert.That(rows.Keys, Is.EquivalentTo(new[] { "als", "itemknn", "genre", "similar", "popular", "blend" }));
        foreach (var (name, r) in rows)
        {
            Assert.That(r.At50, Is.InRange(0.0, 1.0), name);
            Assert.That(r.At100, Is.GreaterThanOrEqualTo(r.At50), name);
            Assert.That(r.At200, Is.GreaterThanOrEqualTo(r.At100), name);
        }

        var union = recall.GetProperty("union").GetDouble();
        Assert.That(union, Is.GreaterThanOrEqualTo(Math.Max(rows["als"].At50, rows["itemknn"].At50) - 1e-12), "the union holds ALS's and item-based's top 50");
        Assert.That(rows["als"].At200, Is.GreaterThan(0.05), "ALS finds positives on this data");

        // The depths chosen on these users keep the budget, and the manifest (what the snapshot's ranked model is loaded with) carries them.
        var depths = recall.GetProperty("depths").Deserialize<Recommender.Ranking.CandidateDepths>(new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        Assert.That(recall.GetProperty("depths").EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "als", "item_knn", "genre", "similar", "popular" }));
        Assert.That(depths.Validate(), Is.Empty);
        Assert.That(depths.Total, Is.EqualTo(Recommender.Ranking.CandidateDepths.Default.Total), "the greedy choice spends the whole budget");
        var snakeCase = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        Assert.That(SnapshotManifest.Read(Runs.Value.Before.SnapshotDir).Parameters!["candidate_depths"].Deserialize<Recommender.Ranking.CandidateDepths>(snakeCase), Is.EqualTo(depths));
        Assert.That(union, Is.GreaterThanOrEqualTo(recall.GetProperty("default_union").GetDouble() - 0.02), "the chosen union is not clearly worse than the defaults' (greedy, on the same users)");
        Assert.That(File.ReadAllText(Path.Combine(Runs.Value.Before.SnapshotDir, FileNames.MetricsMarkdown)), Does.Contain("# Candidate recall on the validation window"));
    }
}
