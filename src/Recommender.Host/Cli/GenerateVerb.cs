using System.Diagnostics;
using Recommender.Generation;
using Recommender.Pipeline;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `generate` verb: synthetic input files in the export's schema.</summary>
internal static class GenerateVerb
{
    // The defaults come from the options types that own them (declared before Spec: static
    // fields initialise in textual order).
    private static readonly GeneratorOptions GeneratorDefaults = new();

    public static VerbSpec Spec { get; } = new VerbSpec("generate", "write synthetic tracks/catalog_names/interactions parquet files in the export's schema",
    [
        new("out", "output directory", TrainOptions.DefaultDataDir),
        new("users", "number of users", Text(GeneratorDefaults.Users)),
        new("tracks", "number of tracks", Text(GeneratorDefaults.Tracks)),
        new("seed", "random seed", Text((long)GeneratorDefaults.Seed)),
    ]);

    public static Task<int> RunAsync(ParsedOptions o, CliContext ctx)
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
}
