using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Generation;
using Recommender.Models;
using Recommender.Pipeline;
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
}
