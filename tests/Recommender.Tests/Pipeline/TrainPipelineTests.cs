using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Generation;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Ranking;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

public class TrainPipelineTests
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
        Assert.That(manifest.RootElement.GetProperty("split").GetProperty("label_window_start").GetString(), Is.EqualTo("2022-12-01"));
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

    [Test]
    public void MovieLens_RankedBeatsAlsAndPopular_OnWarmNdcgAt10()
    {
        // Small data: a small ALS, a recent popularity window and shallow trees (few users train the ranker).
        var run = new TrainPipeline(new TrainOptions
        {
            DataDir = TestPaths.MovieLens,
            OutRoot = TestPaths.NewTempDir(),
            SplitDate = new DateOnly(1998, 3, 7),
            PopularWindowDays = 14,
            Als = new AlsParameters { Factors = 16, Regularization = 10, Alpha = 5 },
            Ranker = new RankerParameters { Trees = 100, Leaves = 3, MinExamplesPerLeaf = 100 },
        }, NullLogger.Instance).Run();
        var e = run.Evaluation!;
        Assert.That(e.WarmUsers, Is.EqualTo(108));
        Assert.That(e.ColdUsers, Is.EqualTo(193));
        var ranked = e.WarmAt("ranked", 10).Ndcg;
        Assert.That(e.WarmAt("popular", 10).Ndcg, Is.GreaterThan(0.2), "recent popular movies are a strong baseline here");
        Assert.That(ranked, Is.GreaterThan(e.WarmAt("popular", 10).Ndcg), $"ranked {ranked:F4}");
        Assert.That(ranked, Is.GreaterThan(e.WarmAt("als", 10).Ndcg * 1.1), $"ranked {ranked:F4}");
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.SnapshotDir, FileNames.Metrics)));
        Assert.That(metrics.RootElement.GetProperty("warm").GetProperty("ranked")[1].GetProperty("ndcg").GetDouble(), Is.EqualTo(ranked));
    }

    [Test]
    public void SplitPlan_WithoutTheSeedDate_LeavesAboutTenPercentAfterTheSplit()
    {
        var events = DataPreparation.Load(TestPaths.MovieLens, NullLogger.Instance).Events;
        var plan = SplitPlan.Choose(events, null, allEvents: false);
        var after = events.Days.Count(d => d >= plan.SplitDay);
        Assert.That(after / (double)events.NumEvents, Is.InRange(0.09, 0.12));
        Assert.That(plan.LabelFromDay, Is.LessThan(plan.SplitDay!.Value));
        var all = SplitPlan.Choose(events, null, allEvents: true);
        Assert.That(all.SplitDay, Is.Null);
        Assert.That(all.FitEndDay, Is.EqualTo(all.LastDay + 1));
    }
}
