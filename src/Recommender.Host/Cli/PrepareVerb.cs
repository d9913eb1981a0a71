using System.CommandLine;
using System.Diagnostics;
using Recommender.Pipeline;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `prepare` verb: quality report, EDA, items.parquet and events.parquet.</summary>
internal sealed class PrepareVerb : Verb
{
    private readonly Option<string> _data = CliOption.Text("data", "directory with the three input parquet files", TrainOptions.DefaultDataDir);
    private readonly Option<string> _out = CliOption.Text("out", "output directory", "out/prepared");
    private readonly Option<DateOnly?> _windowStart = CliOption.Date("eda-window-start", "start (yyyy-MM-dd) of the EDA's recent window; default three months before the last day");
    private readonly Option<bool> _dropDuplicates = CliOption.Flag("drop-duplicates", "keep the first of repeated (user, track) events instead of failing");

    public PrepareVerb()
        : base("prepare", "data-quality report, EDA, items.parquet and events.parquet") => Options(_data, _out, _windowStart, _dropDuplicates);

    public override Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var outDir = r.GetValue(_out)!;
        var logger = ctx.Logger("prepare");
        var watch = Stopwatch.StartNew();
        var data = DataPreparation.Load(r.GetValue(_data)!, logger, r.GetValue(_dropDuplicates));
        DataPreparation.Write(data, outDir, logger, r.GetValue(_windowStart));
        LogDone(logger, "prepare", watch.Elapsed.TotalSeconds, PeakMemoryMb());
        ctx.Out.WriteLine($"prepared {data.Events.NumEvents:N0} events of {data.Events.NumUsers:N0} users into {Path.GetFullPath(outDir)}");
        return Task.FromResult(ExitOk);
    }
}
