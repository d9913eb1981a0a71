using System.CommandLine;
using System.Diagnostics;
using Recommender.Generation;
using Recommender.Pipeline;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `generate` verb: synthetic input files in the export's schema.</summary>
internal sealed class GenerateVerb : Verb
{
    private static readonly GeneratorOptions Defaults = new();
    private readonly Option<string> _out = CliOption.Text("out", "output directory", TrainOptions.DefaultDataDir);
    private readonly Option<int> _users = CliOption.Int("users", "number of users", Defaults.Users, 10);
    private readonly Option<int> _tracks = CliOption.Int("tracks", "number of tracks", Defaults.Tracks, 50, 20_000_000);
    private readonly Option<long> _seed = CliOption.Long("seed", "random seed", (long)Defaults.Seed, 0);

    public GenerateVerb()
        : base("generate", "write synthetic tracks/catalog_names/interactions parquet files in the export's schema") => Options(_out, _users, _tracks, _seed);

    public override Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var options = new GeneratorOptions { Users = r.GetValue(_users), Tracks = r.GetValue(_tracks), Seed = (ulong)r.GetValue(_seed) };
        var outDir = r.GetValue(_out)!;
        var logger = ctx.Logger("generate");
        var watch = Stopwatch.StartNew();
        var summary = new SyntheticGenerator(options, logger).Generate(outDir);
        LogDone(logger, "generate", watch.Elapsed.TotalSeconds, PeakMemoryMb());
        ctx.Out.WriteLine($"wrote {summary.Users:N0} users, {summary.Tracks:N0} tracks, {summary.Events:N0} events to {Path.GetFullPath(outDir)}");
        return Task.FromResult(ExitOk);
    }
}
