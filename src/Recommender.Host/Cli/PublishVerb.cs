using System.Diagnostics;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `publish` verb: a local snapshot to S3-compatible storage.</summary>
internal static class PublishVerb
{
    public static VerbSpec Spec { get; } = new VerbSpec("publish", "upload a local snapshot to s3://bucket/prefix (S3 config section) and point current there",
    [
        new("snapshot", "snapshot folder (ROOT/current or ROOT/snapshots/ID)"),
        new("to", "s3://bucket/prefix"),
    ]);

    public static async Task<int> RunAsync(ParsedOptions o, CliContext ctx)
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
}
