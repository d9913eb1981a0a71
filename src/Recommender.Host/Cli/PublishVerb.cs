using System.CommandLine;
using System.Diagnostics;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `publish` verb: a local snapshot to S3-compatible storage.</summary>
internal sealed class PublishVerb : Verb
{
    private readonly Option<string?> _snapshot = CliOption.OptionalText("snapshot", "snapshot folder (ROOT/current or ROOT/snapshots/ID)");
    private readonly Option<string?> _to = CliOption.OptionalText("to", "s3://bucket/prefix");

    public PublishVerb()
        : base("publish", "upload a local snapshot to s3://bucket/prefix (S3 config section) and point current there")
    {
        _snapshot.Required = true;
        _to.Required = true;
        Options(_snapshot, _to);
    }

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var target = S3Address.Parse(r.GetValue(_to)!, "--to");
        var source = Path.GetFullPath(r.GetValue(_snapshot)!);
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
}
