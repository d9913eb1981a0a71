using System.Diagnostics;
using Recommender.Pipeline;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `prepare` verb: quality report, EDA, items.parquet and events.parquet.</summary>
internal static class PrepareVerb
{
    public static VerbSpec Spec { get; } = new VerbSpec("prepare", "data-quality report, EDA, items.parquet and events.parquet",
    [
        new("data", "directory with the three input parquet files", TrainOptions.DefaultDataDir),
        new("out", "output directory", "out/prepared"),
        new("eda-window-start", "start (yyyy-MM-dd) of the EDA's recent window; default three months before the last day"),
        new("drop-duplicates", "keep the first of repeated (user, track) events instead of failing", IsFlag: true),
    ]);

    public static Task<int> RunAsync(ParsedOptions o, CliContext ctx)
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
}
