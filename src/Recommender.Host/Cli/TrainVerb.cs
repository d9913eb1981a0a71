using System.Diagnostics;
using System.Runtime.InteropServices;
using Recommender.Data;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Ranking;
using Recommender.Snapshots;
using static Recommender.Host.Cli.RecommenderCli;
using Recommender.Host.State;

namespace Recommender.Host.Cli;

/// <summary>The `train` verb: from the raw files to a published snapshot (or an S3 upload).</summary>
internal static class TrainVerb
{
    // The defaults come from the options types that own them (declared before Spec: static
    // fields initialise in textual order).
    private static readonly TrainOptions TrainDefaults = new() { DataDir = TrainOptions.DefaultDataDir, OutRoot = TrainOptions.DefaultOutRoot };
    private static readonly RankerParameters RankerDefaults = new();

    public static VerbSpec Spec { get; } = new VerbSpec("train", "prepare, fit popular/ALS/similar/ranker, write a snapshot, evaluate on the test period",
    [
        new("data", "directory with the three input parquet files", TrainOptions.DefaultDataDir),
        new("out", "snapshot root (snapshots/ID and the current link), or s3://bucket/prefix to publish there (S3 config section)", TrainDefaults.OutRoot),
        new("split-date", "fit before this day, evaluate from it on (yyyy-MM-dd); default 2022-12-16 or the day leaving ~10% of events"),
        new("all-events", "fit on every event and skip evaluation (the nightly retrain)", IsFlag: true),
        new("factors", "ALS factors (or half or double when validation prefers them on data up to 5M events)", Text(TrainDefaults.Als.Factors)),
        new("iterations", "ALS iterations", Text(TrainDefaults.Als.Iterations)),
        new("als-tolerance", "stop ALS early once an iteration lowers the loss by less than this fraction (0: run every iteration)", Text(TrainDefaults.Als.Tolerance)),
        new("warm-iterations", "iterations of the final ALS fit, continued from the validation fit (0: a full fit from noise)", Text(TrainDefaults.AlsWarmIterations ?? 0)),
        new("eval-users", "warm test users scored (a seeded sample when there are more)", Text(TrainDefaults.EvaluationMaxUsers)),
        new("regularization", "ALS L2 penalty (default 0.1; on data up to 5M events, with --alpha unset too, chosen on validation from 0.1, 1, 10)"),
        new("alpha", "ALS confidence weight (default 10; on small data chosen on validation from 1, 10, 40)"),
        new("seed", "random seed of every stage", Text((long)TrainDefaults.Als.Seed)),
        new("max-ranker-users", "users sampled to train the ranker", Text(TrainDefaults.MaxRankerUsers)),
        new("popular-days", "length of the top-popular window ending at the fit cutoff (default: 106, 60, 30, 14 or 7, whichever scores best on validation)"),
        new("ranker-trees", "boosting rounds of the ranker", Text(RankerDefaults.Trees)),
        new("ranker-leaves", "leaves per tree of the ranker", Text(RankerDefaults.Leaves)),
        new("ranker-min-leaf", "minimum rows per leaf of the ranker (default: training rows / 2000, within 5..100)"),
        new("quick", "a demo-sized search: default ALS settings, no EASE, 3 label windows (what demo runs)", IsFlag: true),
        new("drop-duplicates", "keep the first of repeated (user, track) events instead of failing", IsFlag: true),
        new("online-log", "listens logged by the service (LogListen) to learn from as well"),
        new("als-factors", "a Spark MLlib ALSModel.save folder (userFactors/, itemFactors/: id int, features array<float>) used instead of the final ALS fit"),
        new("options", "a JSON file of every train setting (TrainOptions), as the service's nightly retrain writes it; excludes the other options"),
    ]);

    public static async Task<int> RunAsync(ParsedOptions o, CliContext ctx)
    {
        if (o.Has("options"))
        {
            if (o.Verb.Options.Where(x => x.Name != "options").FirstOrDefault(x => o.Has(x.Name)) is { } other)
            {
                throw new UsageException($"train: --options holds every setting; it excludes --{other.Name}");
            }

            return await RunTrain(TrainOptions.ReadFile(o.Required("options")), null, null, ctx);
        }

        var seed = (ulong)o.Long("seed", 0);
        // --out s3://bucket/prefix: train into the local cache root, then publish there.
        var remote = S3Address.IsS3(o.Required("out")) ? S3Address.Parse(o.Required("out"), "--out") : null;
        var s3 = remote is null ? null : S3Options.FromConfiguration();
        var options = new TrainOptions
        {
            DataDir = o.Required("data"),
            OutRoot = remote is null ? o.Required("out") : SnapshotSource.CacheRoot(s3!, remote),
            SplitDate = o.Date("split-date"),
            AllEvents = o.Flag("all-events"),
            SearchAls = !o.Has("regularization") && !o.Has("alpha"),
            SearchAlsFactors = !o.Has("factors"),
            DropDuplicates = o.Flag("drop-duplicates"),
            OnlineEventsPath = o.String("online-log"),
            MaxRankerUsers = o.Int("max-ranker-users", 1),
            AlsWarmIterations = o.Int("warm-iterations", 0, 1000) is var warm and > 0 ? warm : null,
            EvaluationMaxUsers = o.Int("eval-users", 1),
            AlsFactorsDir = o.String("als-factors"),
            PopularWindowDays = o.Has("popular-days") ? o.Int("popular-days", 1) : null,
            Als = new AlsParameters
            {
                Factors = o.Int("factors", AlsParameters.FactorsRange.Min, AlsParameters.FactorsRange.Max),
                Iterations = o.Int("iterations", AlsParameters.IterationsRange.Min, AlsParameters.IterationsRange.Max),
                Tolerance = o.Double("als-tolerance", 0),
                Regularization = o.Has("regularization") ? o.Float("regularization", 0) : AlsParameters.Default.Regularization,
                Alpha = o.Has("alpha") ? o.Float("alpha", 0) : AlsParameters.Default.Alpha,
                Seed = seed,
            },
            Ranker = new RankerParameters
            {
                Seed = (int)(seed % int.MaxValue),
                Trees = o.Int("ranker-trees", 1, 10_000),
                Leaves = o.Int("ranker-leaves", 2, 4096),
                MinExamplesPerLeaf = o.Has("ranker-min-leaf") ? o.Int("ranker-min-leaf", 1) : null,
            },
        };
        return await RunTrain(o.Flag("quick") ? options.Quick() : options, remote, s3, ctx);
    }

    private static async Task<int> RunTrain(TrainOptions options, S3Address? remote, S3Options? s3, CliContext ctx)
    {
        var logger = ctx.Logger("train");
        var watch = Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource();

        // Ctrl+C, or SIGTERM from the service that started this run (or from systemd): cancel at the
        // next stage or ALS sweep so the unfinished snapshot is removed, instead of dying mid-write.
        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = true;
            cancel.Cancel();
        }

        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            var result = new TrainPipeline(options, logger, Heap.CompactLargeObjects).Run(cancel.Token);
            if (remote is not null)
            {
                using var client = s3!.CreateClient();
                await new S3SnapshotStore(client, remote, s3, logger).PublishAsync(result.SnapshotDir, cancel.Token);
                ctx.Out.WriteLine($"published to {remote}: {remote}/{S3SnapshotStore.CurrentKey} names {result.SnapshotId}");
            }

            LogDone(logger, "train", watch.Elapsed.TotalSeconds, PeakMemoryMb());
            ctx.Out.WriteLine($"snapshot {result.SnapshotId} at {Path.GetFullPath(result.SnapshotDir)} ({Path.GetFullPath(Path.Combine(options.OutRoot, SnapshotStore.CurrentLink))} points at it); metrics in {FileNames.MetricsMarkdown} there");
            if (result.Evaluation is { } e)
            {
                ctx.Out.Write(e.ToMarkdown());
            }

            return ExitOk;
        }
        catch (OperationCanceledException)
        {
            await ctx.Error.WriteLineAsync("train cancelled; the current snapshot is unchanged");
            return ExitFailure;
        }
    }
}
