using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Generation;
using Recommender.Host.Fleet;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Ranking;
using Recommender.Snapshots;

namespace Recommender.Host.Cli;

/// <summary>The verbs of the one executable: offline jobs, the service and its client.</summary>
public static partial class RecommenderCli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;
    public const int ExitBadData = 3;

    private sealed record Verb(VerbSpec Spec, Func<ParsedOptions, CliContext, Task<int>> Run);

    // The generate and train verbs' defaults come from the options types that own them (declared before Verbs:
    // static fields initialise in textual order).
    private const string DefaultDataDir = TrainOptions.DefaultDataDir;
    private static readonly TrainOptions TrainDefaults = new() { DataDir = DefaultDataDir, OutRoot = TrainOptions.DefaultOutRoot };
    private static readonly RankerParameters RankerDefaults = new();
    private static readonly Generation.GeneratorOptions GeneratorDefaults = new();

    private static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly Verb[] Verbs =
    [
        new(new VerbSpec("generate", "write synthetic tracks/catalog_names/interactions parquet files in the export's schema",
        [
            new("out", "output directory", DefaultDataDir),
            new("users", "number of users", Text(GeneratorDefaults.Users)),
            new("tracks", "number of tracks", Text(GeneratorDefaults.Tracks)),
            new("seed", "random seed", Text((long)GeneratorDefaults.Seed)),
        ]), Generate),
        new(new VerbSpec("prepare", "data-quality report, EDA, items.parquet and events.parquet",
        [
            new("data", "directory with the three input parquet files", DefaultDataDir),
            new("out", "output directory", "out/prepared"),
            new("eda-window-start", "start (yyyy-MM-dd) of the EDA's recent window; default three months before the last day"),
            new("drop-duplicates", "keep the first of repeated (user, track) events instead of failing", IsFlag: true),
        ]), Prepare),
        new(new VerbSpec("train", "prepare, fit popular/ALS/similar/ranker, write a snapshot, evaluate on the test period",
        [
            new("data", "directory with the three input parquet files", DefaultDataDir),
            new("out", "snapshot root (snapshots/ID and the current link), or s3://bucket/prefix to publish there (S3 config section)", TrainDefaults.OutRoot),
            new("split-date", "fit before this day, evaluate from it on (yyyy-MM-dd); default 2022-12-16 or the day leaving ~10% of events"),
            new("all-events", "fit on every event and skip evaluation (the nightly retrain)", IsFlag: true),
            new("factors", "ALS factors (or half or double when validation prefers them on data up to 5M events)", Text(TrainDefaults.Als.Factors)),
            new("iterations", "ALS iterations", Text(TrainDefaults.Als.Iterations)),
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
            new("drop-duplicates", "keep the first of repeated (user, track) events instead of failing", IsFlag: true),
            new("online-log", "listens logged by the service (LogListen) to learn from as well"),
            new("als-factors", "a Spark MLlib ALSModel.save folder (userFactors/, itemFactors/: id int, features array<float>) used instead of the final ALS fit"),
            new("options", "a JSON file of every train setting (TrainOptions), as the service's nightly retrain writes it; excludes the other options"),
        ]), Train),
        new(new VerbSpec("serve", "run the gRPC recommendation service (Generic Host, Quartz nightly retrain)",
        [
            new("artifacts", "snapshot root whose current snapshot is served, or s3://bucket/prefix to follow (config Recommender:ArtifactsDir)"),
            new("urls", "listen address (config Urls)"),
            new("data", "input data the nightly retrain reads (config Recommender:DataDir)"),
            new("online-log", "durable log of listens received online (config Recommender:OnlineLogPath)"),
            new("environment", "host environment; outside Development the public development ops token is refused (default: ASPNETCORE_ENVIRONMENT, else Production)"),
        ]), Serve),
        new(new VerbSpec("publish", "upload a local snapshot to s3://bucket/prefix (S3 config section) and point current there",
        [
            new("snapshot", "snapshot folder (ROOT/current or ROOT/snapshots/ID)"),
            new("to", "s3://bucket/prefix"),
        ]), Publish),
        new(new VerbSpec("recommend", "ask a running service for a user's recommendations",
        [
            new("user", "user id"),
            new("k", "how many tracks", "10"),
            new("address", "service address", Hosting.RecommenderHost.DefaultUrl),
        ]), Recommend),
        new(LoadTest.Spec, LoadTest.RunAsync),
        new(Bench.Spec, Bench.RunAsync),
        new(new VerbSpec("demo", "the main job: generate a small dataset (unless --data is given), train, and serve it",
        [
            new("out", "working directory", "out/demo"),
            new("data", "real input data to use instead of a generated dataset"),
            new("urls", "listen address", Hosting.RecommenderHost.DefaultUrl),
            new("no-serve", "stop after training", IsFlag: true),
        ]), Demo),
    ];

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            PrintHelp(stdout);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }

        var verb = Verbs.FirstOrDefault(v => v.Spec.Name == args[0]);
        if (verb is null)
        {
            await stderr.WriteLineAsync($"unknown verb '{args[0]}'; verbs: {string.Join(", ", Verbs.Select(v => v.Spec.Name))}");
            return ExitUsage;
        }

        if (args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            PrintVerbHelp(stdout, verb.Spec);
            return ExitOk;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }));
        var context = new CliContext(loggerFactory, stdout, stderr, args[1..]);
        try
        {
            var options = new ParsedOptions(verb.Spec, args[1..]);
            return await verb.Run(options, context);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return ExitUsage;
        }
        catch (DataException e)
        {
            await stderr.WriteLineAsync($"error: bad input: {e.Message}");
            return ExitBadData;
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return ExitUsage;
        }
        catch (Exception e) when (Failure(e) is { } failure)
        {
            // Disk full, permission denied, a missing folder, a crashed stage: one line, exit 1, no stack trace.
            await stderr.WriteLineAsync($"error: {failure}");
            return ExitFailure;
        }
    }

    /// <summary>The one-line cause of a failed verb: the innermost I/O error (it names the file), else the first cause.</summary>
    internal static string? Failure(Exception e)
    {
        if (e is OutOfMemoryException or OperationCanceledException)
        {
            return null;
        }

        var causes = new List<Exception>();
        void Walk(Exception x)
        {
            causes.Add(x);
            if (x is AggregateException a)
            {
                foreach (var inner in a.InnerExceptions)
                {
                    Walk(inner);
                }
            }
            else if (x.InnerException is { } inner)
            {
                Walk(inner);
            }
        }

        Walk(e);
        var io = causes.LastOrDefault(c => c is IOException or UnauthorizedAccessException);
        var cause = io ?? causes.FirstOrDefault(c => c is not AggregateException and not System.Reflection.TargetInvocationException) ?? e;
        var message = cause.Message.ReplaceLineEndings(" ");
        return cause is IOException or UnauthorizedAccessException or DataException ? message : $"{message} ({cause.GetType().Name})";
    }

    private static void PrintHelp(TextWriter w)
    {
        w.WriteLine("usage: Recommender.Host <verb> [options]   (dotnet run -c Release --project src/Recommender.Host -- <verb> ...)");
        w.WriteLine();
        foreach (var v in Verbs)
        {
            PrintVerbHelp(w, v.Spec);
        }
    }

    private static void PrintVerbHelp(TextWriter w, VerbSpec spec)
    {
        w.WriteLine($"{spec.Name}: {spec.Summary}");
        foreach (var o in spec.Options)
        {
            var value = o.IsFlag ? "" : " <value>";
            var def = o.Default is null ? "" : $" (default: {o.Default})";
            w.WriteLine($"  --{o.Name}{value}  {o.Help}{def}");
        }

        w.WriteLine();
    }

    private static Task<int> Generate(ParsedOptions o, CliContext ctx)
    {
        var options = new GeneratorOptions
        {
            Users = o.Int("users", 10),
            Tracks = o.Int("tracks", 50, 20_000_000),
            Seed = (ulong)o.Long("seed", 0),
        };
        var outDir = o.Required("out");
        var logger = ctx.Logger("generate");
        var watch = Stopwatch.StartNew();
        var summary = new SyntheticGenerator(options, logger).Generate(outDir);
        LogDone(logger, "generate", watch.Elapsed.TotalSeconds, PeakMemoryMb());
        ctx.Out.WriteLine($"wrote {summary.Users:N0} users, {summary.Tracks:N0} tracks, {summary.Events:N0} events to {Path.GetFullPath(outDir)}");
        return Task.FromResult(ExitOk);
    }

    private static Task<int> Prepare(ParsedOptions o, CliContext ctx)
    {
        var dataDir = o.Required("data");
        var outDir = o.Required("out");
        var windowStart = o.Date("eda-window-start");
        var logger = ctx.Logger("prepare");
        var watch = Stopwatch.StartNew();
        var data = DataPreparation.Load(dataDir, logger, o.Flag("drop-duplicates"));
        DataPreparation.Write(data, outDir, logger, windowStart);
        LogDone(logger, "prepare", watch.Elapsed.TotalSeconds, PeakMemoryMb());
        ctx.Out.WriteLine($"prepared {data.Events.NumEvents:N0} events of {data.Events.NumUsers:N0} users into {Path.GetFullPath(outDir)}");
        return Task.FromResult(ExitOk);
    }

    private static async Task<int> Train(ParsedOptions o, CliContext ctx)
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
        return await RunTrain(options, remote, s3, ctx);
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
            var result = new TrainPipeline(options, logger, Hosting.Memory.CompactLargeObjects).Run(cancel.Token);
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

    private static async Task<int> Demo(ParsedOptions o, CliContext ctx)
    {
        var root = o.Required("out");
        var data = o.String("data") ?? Path.Combine(root, "data");
        var artifacts = Path.Combine(root, "artifacts");
        if (!o.Has("data"))
        {
            var generated = await RunAsync(["generate", "--out", data], ctx.Out, ctx.Error);
            if (generated != ExitOk)
            {
                return generated;
            }
        }

        var trained = await RunAsync(["train", "--data", data, "--out", artifacts], ctx.Out, ctx.Error);
        if (trained != ExitOk || o.Flag("no-serve"))
        {
            return trained;
        }

        ctx.Out.WriteLine($"demo folder: {Path.GetFullPath(root)} (data, artifacts, online log); serving {Path.GetFullPath(artifacts)}/current over gRPC on {o.Required("urls")} and JSON on {Hosting.RecommenderHost.DefaultHttpUrl}; try: curl -s '{Hosting.RecommenderHost.DefaultHttpUrl}/v1/users/1/recommendations?k=5'");
        return await RunAsync(["serve", "--artifacts", artifacts, "--data", data, "--online-log", Path.Combine(root, "online", "listens.log"), "--urls", o.Required("urls"), "--environment", "Development"], ctx.Out, ctx.Error);
    }

    private static async Task<int> Serve(ParsedOptions o, CliContext ctx)
    {
        var overrides = new Dictionary<string, string?>();
        void Map(string option, string key)
        {
            if (o.String(option) is { } value)
            {
                overrides[key] = value;
            }
        }

        Map("artifacts", $"{Hosting.RecommenderOptions.Section}:{nameof(Hosting.RecommenderOptions.ArtifactsDir)}");
        Map("data", $"{Hosting.RecommenderOptions.Section}:{nameof(Hosting.RecommenderOptions.DataDir)}");
        Map("online-log", $"{Hosting.RecommenderOptions.Section}:{nameof(Hosting.RecommenderOptions.OnlineLogPath)}");
        Map("urls", "Urls");
        try
        {
            await using var app = Hosting.RecommenderHost.Build([], overrides, environment: o.String("environment"));
            await app.RunAsync();
            return ExitOk;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            await ctx.Error.WriteLineAsync($"error: invalid configuration: {string.Join("; ", e.Failures)}");
            return ExitUsage;
        }
        catch (SnapshotNotFoundException e)
        {
            await ctx.Error.WriteLineAsync($"error: {e.Message}");
            return ExitFailure;
        }
    }

    private static async Task<int> Publish(ParsedOptions o, CliContext ctx)
    {
        var target = S3Address.Parse(o.Required("to"), "--to");
        var source = Path.GetFullPath(o.Required("snapshot"));
        var dir = new DirectoryInfo(source).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? source;
        if (!Directory.Exists(dir))
        {
            throw new UsageException($"publish: --snapshot {source} is not a folder");
        }

        var s3 = S3Options.FromConfiguration();
        using var client = s3.CreateClient();
        var watch = Stopwatch.StartNew();
        var id = await new S3SnapshotStore(client, target, s3, ctx.Logger("publish")).PublishAsync(dir);
        ctx.Out.WriteLine($"published {id} to {target} in {watch.Elapsed.TotalSeconds:F1} s; {target}/{S3SnapshotStore.CurrentKey} names it");
        return ExitOk;
    }

    private static async Task<int> Recommend(ParsedOptions o, CliContext ctx)
    {
        var user = o.Long("user", 0);
        var k = o.Int("k", 1, 10_000);
        using var client = Recommender.Client.RecommenderClient.Connect(o.Required("address"));
        try
        {
            var (snapshot, items) = await client.GetRecommendationsAsync(user, k);
            ctx.Out.WriteLine($"user {user}, snapshot {snapshot}:");
            for (var r = 0; r < items.Count; r++)
            {
                var i = items[r];
                ctx.Out.WriteLine($"{r + 1,3}. {i.TrackId,10}  {i.Name}  [{string.Join(", ", i.Artists)}] ({string.Join(", ", i.Genres)})  {i.Score:F4} {i.Source}");
            }

            return ExitOk;
        }
        catch (Grpc.Core.RpcException e)
        {
            await ctx.Error.WriteLineAsync($"error: {e.StatusCode}: {e.Status.Detail}");
            return ExitFailure;
        }
    }

    public static long PeakMemoryMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024 * 1024);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Verb} finished in {Seconds:F1} s, peak working set {PeakMb} MB")]
    public static partial void LogDone(ILogger logger, string verb, double seconds, long peakMb);
}

/// <summary>What a verb gets besides its options.</summary>
public sealed record CliContext(ILoggerFactory Loggers, TextWriter Out, TextWriter Error, string[] RawArgs)
{
    public ILogger Logger(string category) => Loggers.CreateLogger(category);
}
