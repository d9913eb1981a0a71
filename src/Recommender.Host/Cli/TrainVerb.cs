using System.CommandLine;
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
internal sealed class TrainVerb : Verb
{
    // The defaults come from the options types that own them.
    private static readonly TrainOptions Defaults = new() { DataDir = TrainOptions.DefaultDataDir, OutRoot = TrainOptions.DefaultOutRoot };
    private static readonly RankerParameters RankerDefaults = new();

    private readonly Option<string> _data = CliOption.Text("data", "directory with the three input parquet files", TrainOptions.DefaultDataDir);
    private readonly Option<string> _out = CliOption.Text("out", "snapshot root (snapshots/ID and the current link), or s3://bucket/prefix to publish there (S3 config section)", Defaults.OutRoot);
    private readonly Option<DateOnly?> _splitDate = CliOption.Date("split-date", "fit before this day, evaluate from it on (yyyy-MM-dd); default 2022-12-16 or the day leaving ~10% of events");
    private readonly Option<bool> _allEvents = CliOption.Flag("all-events", "fit on every event and skip evaluation (the nightly retrain)");
    private readonly Option<int> _factors = CliOption.Int("factors", "ALS factors (or half or double when validation prefers them on data up to 5M events)", Defaults.Als.Factors, AlsParameters.FactorsRange.Min, AlsParameters.FactorsRange.Max);
    private readonly Option<int> _iterations = CliOption.Int("iterations", "ALS iterations", Defaults.Als.Iterations, AlsParameters.IterationsRange.Min, AlsParameters.IterationsRange.Max);
    private readonly Option<double> _tolerance = CliOption.Double("als-tolerance", "stop ALS early once an iteration lowers the loss by less than this fraction (0: run every iteration)", Defaults.Als.Tolerance, 0);
    private readonly Option<int> _warmIterations = CliOption.Int("warm-iterations", "iterations of the final ALS fit, continued from the validation fit (0: a full fit from noise)", Defaults.AlsWarmIterations ?? 0, 0, 1000);
    private readonly Option<int> _evalUsers = CliOption.Int("eval-users", "warm test users scored (a seeded sample when there are more)", Defaults.EvaluationMaxUsers, 1);
    private readonly Option<float?> _regularization = CliOption.OptionalFloat("regularization", "ALS L2 penalty (default 0.1; on data up to 5M events, with --alpha unset too, chosen on validation from 0.1, 1, 10)", 0);
    private readonly Option<float?> _alpha = CliOption.OptionalFloat("alpha", "ALS confidence weight (default 10; on small data chosen on validation from 1, 10, 40)", 0);
    private readonly Option<long> _seed = CliOption.Long("seed", "random seed of every stage", (long)Defaults.Als.Seed, 0);
    private readonly Option<int> _maxRankerUsers = CliOption.Int("max-ranker-users", "users sampled to train the ranker", Defaults.MaxRankerUsers, 1);
    private readonly Option<int?> _popularDays = CliOption.OptionalInt("popular-days", "length of the top-popular window ending at the fit cutoff (default: 106, 60, 30, 14 or 7, whichever scores best on validation)", 1);
    private readonly Option<int> _rankerTrees = CliOption.Int("ranker-trees", "boosting rounds of the ranker (any --ranker-* option turns off the validation search of its settings)", RankerDefaults.Trees, 1, 10_000);
    private readonly Option<int> _rankerLeaves = CliOption.Int("ranker-leaves", "leaves per tree of the ranker", RankerDefaults.Leaves, 2, 4096);
    private readonly Option<int?> _rankerMinLeaf = CliOption.OptionalInt("ranker-min-leaf", "minimum rows per leaf of the ranker (default: training rows / 2000, within 5..100)", 1);
    private readonly Option<bool> _quick = CliOption.Flag("quick", $"a demo-sized search: default ALS settings, no EASE, {TrainOptions.QuickLabelWindows} label windows (what demo runs)");
    private readonly Option<int?> _windowDays = CliOption.OptionalInt("window-days", "read only the latest N days of the log and of --online-log (default: all of it); --split-date then splits inside them", 1);
    private readonly Option<bool> _dropDuplicates = CliOption.Flag("drop-duplicates", "keep the first of repeated (user, track) events instead of failing");
    private readonly Option<bool> _liveHeap = CliOption.Flag("live-heap", "log the live heap after each stage (a full collection each time: slower, for memory tables)");
    private readonly Option<string?> _onlineLog = CliOption.OptionalText("online-log", "listens logged by the service (LogListen) to learn from as well");
    private readonly Option<string?> _alsFactors = CliOption.OptionalText("als-factors", "a Spark MLlib ALSModel.save folder (userFactors/, itemFactors/: id int, features array<float>) used instead of the final ALS fit");
    private readonly Option<string?> _optionsFile = CliOption.OptionalText("options", "a JSON file of every train setting (TrainOptions), as the service's nightly retrain writes it; excludes the other options");

    public TrainVerb()
        : base("train", "prepare, fit popular/ALS/similar/ranker, write a snapshot, evaluate on the test period") => Options(
            _data, _out, _splitDate, _allEvents, _factors, _iterations, _tolerance, _warmIterations, _evalUsers, _regularization, _alpha, _seed,
            _maxRankerUsers, _popularDays, _rankerTrees, _rankerLeaves, _rankerMinLeaf, _quick, _windowDays, _dropDuplicates, _liveHeap, _onlineLog, _alsFactors, _optionsFile);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        if (r.GetValue(_optionsFile) is { } file)
        {
            if (Command.Options.FirstOrDefault(x => x != _optionsFile && r.Given(x)) is { } other)
            {
                throw new UsageException($"train: --options holds every setting; it excludes {other.Name}");
            }

            return await RunTrain(TrainOptions.ReadFile(file), null, null, ctx);
        }

        var seed = (ulong)r.GetValue(_seed);
        // --out s3://bucket/prefix: train into the local cache root, then publish there.
        var outRoot = r.GetValue(_out)!;
        var remote = S3Address.IsS3(outRoot) ? S3Address.Parse(outRoot, "--out") : null;
        var s3 = remote is null ? null : S3Options.FromConfiguration();
        var options = new TrainOptions
        {
            DataDir = r.GetValue(_data)!,
            OutRoot = remote is null ? outRoot : SnapshotSource.CacheRoot(s3!, remote),
            SplitDate = r.GetValue(_splitDate),
            AllEvents = r.GetValue(_allEvents),
            SearchAls = r.GetValue(_regularization) is null && r.GetValue(_alpha) is null,
            SearchAlsFactors = !r.Given(_factors),
            SearchRanker = !r.Given(_rankerTrees) && !r.Given(_rankerLeaves) && !r.Given(_rankerMinLeaf),
            DropDuplicates = r.GetValue(_dropDuplicates),
            MeasureLiveHeap = r.GetValue(_liveHeap),
            TrainWindowDays = r.GetValue(_windowDays),
            OnlineEventsPath = r.GetValue(_onlineLog),
            MaxRankerUsers = r.GetValue(_maxRankerUsers),
            AlsWarmIterations = r.GetValue(_warmIterations) is var warm and > 0 ? warm : null,
            EvaluationMaxUsers = r.GetValue(_evalUsers),
            AlsFactorsDir = r.GetValue(_alsFactors),
            PopularWindowDays = r.GetValue(_popularDays),
            Als = new AlsParameters
            {
                Factors = r.GetValue(_factors),
                Iterations = r.GetValue(_iterations),
                Tolerance = r.GetValue(_tolerance),
                Regularization = r.GetValue(_regularization) ?? AlsParameters.Default.Regularization,
                Alpha = r.GetValue(_alpha) ?? AlsParameters.Default.Alpha,
                Seed = seed,
            },
            Ranker = new RankerParameters
            {
                Seed = (int)(seed % int.MaxValue),
                Trees = r.GetValue(_rankerTrees),
                Leaves = r.GetValue(_rankerLeaves),
                MinExamplesPerLeaf = r.GetValue(_rankerMinLeaf),
            },
        };
        return await RunTrain(r.GetValue(_quick) ? options.Quick() : options, remote, s3, ctx);
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
