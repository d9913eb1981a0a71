using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Generation;
using Recommender.Pipeline;

namespace Recommender.Host.Cli;

/// <summary>The verbs of the one executable: offline jobs, the service and its client.</summary>
public static partial class RecommenderCli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;
    public const int ExitBadData = 3;

    private sealed record Verb(VerbSpec Spec, Func<ParsedOptions, CliContext, Task<int>> Run);

    private static readonly Verb[] Verbs =
    [
        new(new VerbSpec("generate", "write synthetic tracks/catalog_names/interactions parquet files in the export's schema",
        [
            new("out", "output directory", "data/synthetic"),
            new("users", "number of users", "3000"),
            new("tracks", "number of tracks", "4000"),
            new("seed", "random seed", "42"),
        ]), Generate),
        new(new VerbSpec("prepare", "data-quality report, EDA, items.parquet and events.parquet",
        [
            new("data", "directory with the three input parquet files", "data/synthetic"),
            new("out", "output directory", "out/prepared"),
            new("eda-window-start", "start (yyyy-MM-dd) of the EDA's recent window; default three months before the last day"),
            new("drop-duplicates", "keep the first of repeated (user, track) events instead of failing", IsFlag: true),
        ]), Prepare),
        new(new VerbSpec("demo", "the main job on an embedded default: generate a small dataset and prepare it",
        [
            new("out", "working directory", "out/demo"),
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
        ctx.Out.WriteLine($"wrote {summary.Users:N0} users, {summary.Tracks:N0} tracks, {summary.Events:N0} events to {outDir}");
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
        ctx.Out.WriteLine($"prepared {data.Events.NumEvents:N0} events of {data.Events.NumUsers:N0} users into {outDir}");
        return Task.FromResult(ExitOk);
    }

    private static async Task<int> Demo(ParsedOptions o, CliContext ctx)
    {
        var root = o.Required("out");
        var data = Path.Combine(root, "data");
        var exit = await RunAsync(["generate", "--out", data], ctx.Out, ctx.Error);
        return exit != ExitOk ? exit : await RunAsync(["prepare", "--data", data, "--out", Path.Combine(root, "prepared")], ctx.Out, ctx.Error);
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
