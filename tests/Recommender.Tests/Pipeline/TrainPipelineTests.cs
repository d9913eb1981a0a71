using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Generation;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Ranking;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

public partial class TrainPipelineTests
{
    private static string _synthetic = "";
    private static TrainResult _syntheticRun = null!;
    private static string _syntheticRoot = "";

    [OneTimeSetUp]
    public void TrainOnSyntheticData()
    {
        _synthetic = TestPaths.NewTempDir();
        new SyntheticGenerator(new GeneratorOptions { Users = 2500, Tracks = 2000, Seed = 21 }, NullLogger.Instance).Generate(_synthetic);
        _syntheticRoot = TestPaths.NewTempDir();
        _syntheticRun = new TrainPipeline(new TrainOptions { DataDir = _synthetic, OutRoot = _syntheticRoot, Als = new AlsParameters { Factors = 32, Iterations = 10 } }, NullLogger.Instance).Run();
    }

    [Test]
    public void Snapshot_HoldsTheSeedNamedFilesAndCurrentPointsAtIt()
    {
        var current = new SnapshotStore(_syntheticRoot).Current();
        Assert.That(current, Is.EqualTo(_syntheticRun.SnapshotDir));
        foreach (var file in new[] { FileNames.Items, FileNames.Events, FileNames.TopPopular, FileNames.PersonalAls, FileNames.Similar, FileNames.Recommendations,
            FileNames.UserIds, FileNames.ItemIds, FileNames.AlsModel, FileNames.Metrics, FileNames.MetricsMarkdown, FileNames.Manifest, FileNames.ItemFeatures, FileNames.UserFeatures })
        {
            Assert.That(File.Exists(Path.Combine(current!, file)), file);
        }

        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(current!, FileNames.Manifest)));
        Assert.That(manifest.RootElement.GetProperty("split").GetProperty("split_day").GetString(), Is.EqualTo("2022-12-16"));
        Assert.That(manifest.RootElement.GetProperty("served_list").GetString(), Is.EqualTo(_syntheticRun.Validation.Served));
        Assert.That(ValidationReport.Candidates, Does.Contain(_syntheticRun.Validation.Served));
        Assert.That(manifest.RootElement.GetProperty("timings").GetArrayLength(), Is.GreaterThan(5));
        Assert.That(manifest.RootElement.GetProperty("ranker_features").GetArrayLength(), Is.EqualTo(FeatureContext.FeatureCount), "one name per ranker feature");
    }

    [Test]
    public void Synthetic_RankedBeatsAlsBeatsPopular_OnWarmNdcgAt10()
    {
        var e = _syntheticRun.Evaluation!;
        var ranked = e.WarmAt("ranked", 10).Ndcg;
        var als = e.WarmAt("als", 10).Ndcg;
        var popular = e.WarmAt("popular", 10).Ndcg;
        Assert.That(e.WarmUsers, Is.GreaterThan(1000));
        Assert.That(e.ColdUsers, Is.GreaterThan(0));
        Assert.That(als, Is.GreaterThan(popular * 1.2), $"als {als:F4} popular {popular:F4}");
        Assert.That(ranked, Is.GreaterThan(als * 1.05), $"ranked {ranked:F4} als {als:F4}");
        var served = e.WarmAt("served", 10).Ndcg;
        TestContext.Out.WriteLine($"synthetic warm NDCG@10: served ({_syntheticRun.Validation.Served}) {served:F4}, ranked {ranked:F4}, als {als:F4}, itemknn {e.WarmAt("itemknn", 10).Ndcg:F4}, popular {popular:F4}");
        Assert.That(served, Is.GreaterThanOrEqualTo(ranked * 0.95), "the served list is at least about as good as the ranked one");
    }

    [Test]
    public void PersonalAls_ExcludesEveryTrainListen()
    {
        var dir = _syntheticRun.SnapshotDir;
        var users = IdMap.Load(Path.Combine(dir, FileNames.UserIds));
        var items = IdMap.Load(Path.Combine(dir, FileNames.ItemIds));
        var personal = RecommendationTable.Load(Path.Combine(dir, FileNames.PersonalAls), users, items);
        var train = DataPreparation.Load(_synthetic, NullLogger.Instance).Events.Slice(int.MinValue, EdaReport.DayOf(new DateOnly(2022, 12, 16)));
        for (var u = 0; u < train.NumUsers; u++)
        {
            Assert.That(personal.ItemsOf(u).ToArray().Intersect(train.ItemsOf(u).ToArray()), Is.Empty);
            if (train.CountOf(u) > 0)
            {
                Assert.That(personal.ItemsOf(u).Length, Is.EqualTo(100));
            }
        }
    }

    [Test]
    public void FailedRun_LeavesCurrentAndNoTemporaryFolder()
    {
        var root = TestPaths.NewTempDir();
        var good = new TrainPipeline(new TrainOptions { DataDir = TestPaths.MovieLens, OutRoot = root, Als = new AlsParameters { Factors = 8, Iterations = 2 } }, NullLogger.Instance).Run();
        var bad = TinyData.Create(TinyParquet.Int32(Columns.TrackId, 100, 200, 100, 200, 999, 100));
        Assert.Throws<DataException>(() => new TrainPipeline(new TrainOptions { DataDir = bad, OutRoot = root }, NullLogger.Instance).Run());
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => new TrainPipeline(new TrainOptions { DataDir = TestPaths.MovieLens, OutRoot = root }, NullLogger.Instance).Run(cancelled.Token));

        Assert.That(new SnapshotStore(root).Current(), Is.EqualTo(good.SnapshotDir));
        Assert.That(Directory.GetDirectories(Path.Combine(root, "snapshots")).Select(Path.GetFileName), Is.EqualTo(new[] { good.SnapshotId }));
    }

    /// <summary>Default settings on a real dataset; the served list is the validation winner's.</summary>
    private static TrainResult TrainReal(string name, DateOnly split, Func<TrainOptions, TrainOptions>? adjust = null)
    {
        var options = new TrainOptions { DataDir = Require.SharedData(name), OutRoot = TestPaths.NewTempDir(), SplitDate = split };
        return new TrainPipeline(adjust?.Invoke(options) ?? options, NullLogger.Instance).Run();
    }

    private static void AssertServedIsTheWinner(TrainResult run)
    {
        var e = run.Evaluation!;
        var winner = run.Validation.Served;
        Assert.That(e.WarmAt("served", 10), Is.EqualTo(e.WarmAt(winner, 10) with { }).Using<MetricSet>((a, b) => Math.Abs(a.Ndcg - b.Ndcg) < 1e-12 && Math.Abs(a.Precision - b.Precision) < 1e-12),
            $"recommendations.parquet holds the {winner} list");
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.Metrics)));
        Assert.That(metrics.RootElement.GetProperty("served").GetString(), Is.EqualTo(winner));
        Assert.That(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.MetricsMarkdown)), Does.Contain("# Validation").And.Contain("# Online path").And.Contain("# Evaluation on the test period"));

        // The replay of the serving blend: every strategy scored, and its winners are what the service blends with.
        var replay = metrics.RootElement.GetProperty("replay");
        Assert.That(replay.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("strategy").GetString()), Is.EqualTo(new[] { "Interleave", "RankFusion", "OfflineOnly" }));
        Assert.That(replay.GetProperty("rows")[0].GetProperty("warm").GetProperty("users").GetInt32(), Is.GreaterThan(0));
        var snapshot = Recommender.Serving.ServingSnapshot.Load(run.SnapshotDir);
        var measured = snapshot.MeasuredBlend;

        // The console asks each model afresh, one user at a time: the winner's list must be the file's, item for item.
        var users = Enumerable.Range(0, snapshot.Users.Count).Where(u => snapshot.Recommendations.ItemsOf(u).Length > 0).Take(40).ToArray();
        Assert.That(users, Has.Length.EqualTo(40));
        foreach (var u in users)
        {
            var lists = snapshot.Inspector.Lists(u, 10);
            Assert.That(lists.Single(l => l.Name == winner).Items.Select(x => x.Item), Is.EqualTo(lists.Single(l => l.Name == "served").Items.Select(x => x.Item)), $"user {u}: the inspector's {winner} list");
        }

        // The service follows the replay of the validation window; the test period's is reported beside it.
        var chosen = metrics.RootElement.GetProperty("validation_replay");
        Assert.That(measured?.Warm.ToString(), Is.EqualTo(chosen.GetProperty("best_warm").GetString()));
        Assert.That(measured?.Cold.ToString(), Is.EqualTo(chosen.GetProperty("best_cold").GetString()));
    }

    [Test]
    public void LastFm_ServedRankedListReaches0Point095_AndAlsReachesTheImplicitReference_OnWarmNdcgAt10()
    {
        var run = TrainReal("lastfm-dev", new DateOnly(2010, 6, 1));
        var e = run.Evaluation!;
        Assert.That(e.WarmUsers, Is.EqualTo(283), "the dataset README's warm users");
        AssertServedIsTheWinner(run);
        var served = e.WarmAt("served", 10).Ndcg;
        var als = e.WarmAt("als", 10).Ndcg;
        TestContext.Out.WriteLine($"lastfm-dev warm NDCG@10: served ({run.Validation.Served}, {run.Validation.Blend}) {served:F4}, als {als:F4}, itemknn {e.WarmAt("itemknn", 10).Ndcg:F4}, genre {e.WarmAt("genre", 10).Ndcg:F4}, blend {e.WarmAt("blend", 10).Ndcg:F4}, ranked {e.WarmAt("ranked", 10).Ndcg:F4}, popular {e.WarmAt("popular", 10).Ndcg:F4}");
        // Measured 0.0962 served (ranked: +0.0028 over the blend on validation, standard error
        // 0.0019), blend 0.0893, ALS 0.0815, genre 0.0798, item-based 0.0790, popular 0.0438;
        // references: implicit ALS 0.0736, EASE 0.081.
        Assert.That(als, Is.GreaterThanOrEqualTo(0.070), "ALS with settings chosen on validation");
        Assert.That(served, Is.GreaterThanOrEqualTo(0.095), "issue 27's target: 1.17 × the EASE reference");
        Assert.That(run.Validation.Served, Is.EqualTo("ranked"), "with five cross-fitting folds the ranker clears the gate here");
        var gate = run.Validation.Gate.Single(g => g.Candidate == "ranked");
        Assert.That(gate.Difference, Is.GreaterThan(gate.StandardError), "the gate's own figures agree with its choice");

        // Issue 27: the two-stage ranker at least matches the blend of its own inputs, on validation and on the test period.
        Assert.That(run.Validation.NdcgAt10("ranked"), Is.GreaterThanOrEqualTo(run.Validation.NdcgAt10("blend")), "validation");
        Assert.That(e.WarmAt("ranked", 10).Ndcg, Is.GreaterThanOrEqualTo(e.WarmAt("blend", 10).Ndcg), "test period");

        // The ranker's settings were chosen on validation: the kept settings are the best trial's, and the manifest records them.
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.Metrics)));
        var ranker = metrics.RootElement.GetProperty("ranker");
        var trials = ranker.GetProperty("trials").EnumerateArray().ToArray();
        Assert.That(trials, Has.Length.EqualTo(ValidationSearch.RankerGrid(new Recommender.Ranking.RankerParameters()).Count * ValidationSearch.RankerTreeCounts.Length));
        var best = trials.MaxBy(t => t.GetProperty("ndcg").GetDouble());
        Assert.That(ranker.GetProperty("settings").GetProperty("trees").GetInt32(), Is.EqualTo(best.GetProperty("trees").GetInt32()));
        Assert.That(ranker.GetProperty("settings").GetProperty("leaves").GetInt32(), Is.EqualTo(best.GetProperty("leaves").GetInt32()));
        Assert.That(ranker.GetProperty("importance").EnumerateArray().Select(g => g.GetProperty("feature").GetString()), Is.EquivalentTo(Recommender.Ranking.FeatureContext.FeatureNames));
        Assert.That(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.MetricsMarkdown)), Does.Contain("# The ranker").And.Contain("| blend_score |"));

        // The blend's weights and the item-based build chosen on validation are recorded where an operator reads them.
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.Manifest)));
        var parameters = manifest.RootElement.GetProperty("parameters");
        Assert.That(parameters.GetProperty("blend").GetProperty("item_based").GetSingle(), Is.EqualTo(run.Validation.Blend.ItemBased));
        Assert.That(parameters.GetProperty("blend").GetProperty("genre").GetSingle(), Is.EqualTo(run.Validation.Blend.Genre));
        Assert.That(parameters.GetProperty("item_based").GetString(), Does.StartWith("RP3beta").Or.StartWith("cosine").Or.StartWith("EASE"));
        Assert.That(parameters.GetProperty("ranker").GetProperty("trees").GetInt32(), Is.EqualTo(best.GetProperty("trees").GetInt32()));
        Assert.That(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.MetricsMarkdown)), Does.Contain($"The blend's weights, chosen on these users: {run.Validation.Blend}."));
        Assert.That(served, Is.GreaterThanOrEqualTo(als - 1e-12), "never below the project's ALS");
        Assert.That(served, Is.GreaterThan(e.WarmAt("popular", 10).Ndcg * 1.5));
    }

    [Test]
    public void MovieLens_ServedListBeatsPopular_OnWarmNdcgAt10()
    {
        var run = TrainReal("ml-100k", new DateOnly(1998, 3, 7));
        var e = run.Evaluation!;
        Assert.That(e.WarmUsers, Is.EqualTo(108));
        Assert.That(e.ColdUsers, Is.EqualTo(193));
        AssertServedIsTheWinner(run);
        var served = e.WarmAt("served", 10).Ndcg;
        TestContext.Out.WriteLine($"ml-100k warm NDCG@10: served ({run.Validation.Served}) {served:F4}, ranked {e.WarmAt("ranked", 10).Ndcg:F4}, popular {e.WarmAt("popular", 10).Ndcg:F4}, als {e.WarmAt("als", 10).Ndcg:F4}, itemknn {e.WarmAt("itemknn", 10).Ndcg:F4}");
        Assert.That(e.WarmAt("popular", 10).Ndcg, Is.GreaterThan(0.2), "recent popular movies are a strong baseline here");
        Assert.That(served, Is.GreaterThan(e.WarmAt("popular", 10).Ndcg), "the served list beats popular");
        Assert.That(served, Is.GreaterThan(e.WarmAt("als", 10).Ndcg));
    }

    [Test]
    public void Evaluation_ScoresASeededSampleOfWarmUsers_AndSaysSo()
    {
        var run = TrainReal("ml-100k", new DateOnly(1998, 3, 7), o => o with { EvaluationMaxUsers = 50, PopularWindowDays = 30, Als = o.Als with { Factors = 16, Iterations = 3 }, SearchAls = false });
        var e = run.Evaluation!;
        Assert.That(e.WarmUsers, Is.EqualTo(108), "every warm user is counted");
        Assert.That(e.SampledWarmUsers, Is.EqualTo(50));
        Assert.That(e.ColdUsers, Is.EqualTo(193), "cold users are all scored (their lists are popular's)");
        Assert.That(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.MetricsMarkdown)), Does.Contain("scored on a seeded sample of 50"));
        Assert.That(e.WarmAt("popular", 10).Ndcg, Is.Not.EqualTo(TrainReal("ml-100k", new DateOnly(1998, 3, 7), o => o with { EvaluationMaxUsers = 50, PopularWindowDays = 30, Als = o.Als with { Seed = 7, Factors = 16, Iterations = 3 }, SearchAls = false }).Evaluation!.WarmAt("popular", 10).Ndcg),
            "another seed samples other users");
    }

    [Test]
    public void AUselessRanker_IsNotServed_TheBestOtherListIs()
    {
        var run = TrainReal("lastfm-dev", new DateOnly(2010, 6, 1), o => o with { ShuffleRankerLabels = true });
        var v = run.Validation;
        Assert.That(v.Served, Is.Not.EqualTo("ranked"), $"ranked {v.NdcgAt10("ranked"):F4}, best single {v.BestSingle} {v.NdcgAt10(v.BestSingle):F4}");
        Assert.That(v.NdcgAt10("ranked"), Is.LessThan(v.NdcgAt10(v.BestSingle)));
        Assert.That(v.NdcgAt10("ranked"), Is.LessThan(v.NdcgAt10(v.Served)));
        // lastfm-dev serves the blend (ALS with the genre profile) or, failing that, a single generator; either beats every list it was built from.
        Assert.That(v.Served is "blend" ? v.NdcgAt10("blend") > v.NdcgAt10(v.BestSingle) : !ValidationReport.Combined.Contains(v.Served), $"served {v.Served}");
        AssertServedIsTheWinner(run);
        // What GetStatus reports (served_list) comes from the snapshot as the service loads it.
        Assert.That(Recommender.Serving.ServingSnapshot.Load(run.SnapshotDir).ServedList, Is.EqualTo(v.Served));
    }

    [Test]
    public void SplitPlan_WithoutTheSeedDate_LeavesAboutTenPercentAfterTheSplit()
    {
        var events = DataPreparation.Load(TestPaths.MovieLens, NullLogger.Instance).Events;
        var plan = SplitPlan.Choose(events, null, allEvents: false);
        var after = events.Days.Count(d => d >= plan.SplitDay);
        Assert.That(after / (double)events.NumEvents, Is.InRange(0.09, 0.12));
        var all = SplitPlan.Choose(events, null, allEvents: true);
        Assert.That(all.SplitDay, Is.Null);
        Assert.That(all.FitEndDay, Is.EqualTo(all.LastDay + 1));
    }
}
