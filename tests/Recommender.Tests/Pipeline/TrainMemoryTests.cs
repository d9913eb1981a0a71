using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Generation;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

/// <summary>What the train run does for its memory: the read's column-by-column placement and the live-heap log.</summary>
public class TrainMemoryTests
{
    /// <summary>
    /// The read places the track, day and track_seq columns one after another and hands each raw
    /// column's memory back once placed (three calls), and the log it builds is the one read
    /// without the hook.
    /// </summary>
    [Test]
    public void TheRead_GivesBackEachRawColumnOnceItIsPlaced()
    {
        var dir = TinyData.Create();
        var calls = 0;
        var data = DataPreparation.Load(dir, NullLogger.Instance, releaseMemory: () => calls++);
        var plain = DataPreparation.Load(dir, NullLogger.Instance);
        Assert.That(calls, Is.EqualTo(3));
        Assert.That(data.Events.Items, Is.EqualTo(plain.Events.Items));
        Assert.That(data.Events.Days, Is.EqualTo(plain.Events.Days));
        Assert.That(data.Events.Seqs, Is.EqualTo(plain.Events.Seqs));
        Assert.That(data.Events.UserOffsets, Is.EqualTo(plain.Events.UserOffsets));
    }

    /// <summary>With MeasureLiveHeap every finished stage is followed by its live heap; without it, none is.</summary>
    [Test]
    public void LiveHeap_IsLoggedAfterEveryStage_OnlyWhenAsked()
    {
        var data = TestPaths.NewTempDir();
        new SyntheticGenerator(new GeneratorOptions { Users = 400, Tracks = 300, Seed = 5 }, NullLogger.Instance).Generate(data);
        List<string> Train(bool live)
        {
            var log = new CapturedLog();
            var options = new TrainOptions
            {
                DataDir = data,
                OutRoot = TestPaths.NewTempDir(),
                AllEvents = true,
                MeasureLiveHeap = live,
                Als = new AlsParameters { Factors = 8, Iterations = 2 },
            }.Quick();
            new TrainPipeline(options, log).Run();
            return log.Messages;
        }

        var measured = Train(live: true);
        var stages = measured.Where(m => m.Contains(" done in ", StringComparison.Ordinal)).Select(m => m[..m.IndexOf(" done in ", StringComparison.Ordinal)]).ToList();
        var live = measured.Where(m => m.Contains(": live heap ", StringComparison.Ordinal)).Select(m => m[..m.IndexOf(": live heap ", StringComparison.Ordinal)]).ToList();
        Assert.That(stages, Has.Count.GreaterThan(10));
        Assert.That(live, Is.EqualTo(stages), "one live-heap line per stage, in order");
        Assert.That(Train(live: false).Where(m => m.Contains("live heap", StringComparison.Ordinal)), Is.Empty);
    }

    /// <summary>
    /// Every user's ALS top-k and served list are computed and written a block of users at a
    /// time: blocks of 97 users (none a multiple of the ranker's batch) give the files and the
    /// evaluation of one block of every user, byte for byte.
    /// </summary>
    [Test]
    public void UserListsInSmallBlocks_AreTheSameFilesAndMetrics()
    {
        var data = TestPaths.NewTempDir();
        new SyntheticGenerator(new GeneratorOptions { Users = 1200, Tracks = 600, Seed = 9 }, NullLogger.Instance).Generate(data);
        TrainResult Train(int block) => new TrainPipeline(new TrainOptions
        {
            DataDir = data,
            OutRoot = TestPaths.NewTempDir(),
            UserListBlock = block,
            Als = new AlsParameters { Factors = 8, Iterations = 3 },
        }.Quick(), NullLogger.Instance).Run();

        var whole = Train(1 << 20).SnapshotDir;
        var run = Train(97);
        var blocked = run.SnapshotDir;
        foreach (var file in new[] { FileNames.PersonalAls, FileNames.Recommendations, FileNames.Metrics })
        {
            Assert.That(File.ReadAllBytes(Path.Combine(blocked, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(whole, file))), file);
        }

        // The evaluation reads the lists it kept of the written ones: scored from the files
        // instead (every warm user, in index order, as the evaluation does), the same figures.
        var (users, items) = (IdMap.Load(Path.Combine(blocked, FileNames.UserIds)), IdMap.Load(Path.Combine(blocked, FileNames.ItemIds)));
        var split = EdaReport.DayOf(SnapshotManifest.Read(blocked).Split!.SplitDay!.Value);
        var events = DataPreparation.Load(data, NullLogger.Instance).Events;
        var (train, test) = (events.Slice(int.MinValue, split), events.Slice(split, int.MaxValue));
        foreach (var (source, file) in new[] { ("served", FileNames.Recommendations), ("als", FileNames.PersonalAls) })
        {
            var lists = RecommendationTable.Load(Path.Combine(blocked, file), users, items);
            var metrics = new MetricsAccumulator(10, train.ItemUserCounts(), Enumerable.Range(0, train.NumUsers).Count(u => train.CountOf(u) > 0));
            var listed = 0;
            for (var u = 0; u < test.NumUsers; u++)
            {
                if (test.CountOf(u) > 0 && train.CountOf(u) > 0)
                {
                    var truth = test.ItemsOf(u).ToArray();
                    Array.Sort(truth);
                    metrics.Add(lists.ItemsOf(u), truth);
                    listed += lists.ItemsOf(u).IsEmpty ? 0 : 1;
                }
            }

            Assert.That(listed, Is.GreaterThan(97 * 3), $"{file}: the evaluated lists span several blocks");
            Assert.That(run.Evaluation!.WarmAt(source, 10).Ndcg, Is.EqualTo(metrics.Result().Ndcg).Within(1e-12), $"{source} NDCG@10 from {file}");
        }
    }
}
