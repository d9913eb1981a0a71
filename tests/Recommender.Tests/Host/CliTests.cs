using Recommender.Host.Cli;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Host;

public class CliTests
{
    [Test]
    public async Task Help_ListsEveryVerb()
    {
        var stdout = new StringWriter();
        Assert.That(await RecommenderCli.RunAsync(["--help"], stdout, new StringWriter()), Is.Zero);
        foreach (var verb in new[] { "generate", "prepare", "train", "serve", "recommend", "loadtest", "demo" })
        {
            Assert.That(stdout.ToString(), Does.Contain($"{verb}: "));
        }
    }

    [Test]
    public async Task Demo_WithoutServing_GeneratesTrainsAndPublishesASnapshot()
    {
        var root = Path.Combine(TestPaths.NewTempDir(), "demo");
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["demo", "--out", root, "--no-serve"], new StringWriter(), stderr);
        Assert.That(exit, Is.Zero, stderr.ToString());
        var current = new SnapshotStore(Path.Combine(root, "artifacts")).Current();
        Assert.That(current, Is.Not.Null);
        Assert.That(File.Exists(Path.Combine(current!, "recommendations.parquet")));
    }

    [Test]
    public async Task Serve_WithoutASnapshot_FailsWithAClearMessage()
    {
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["serve", "--artifacts", TestPaths.NewTempDir(), "--urls", "http://127.0.0.1:0", "--environment", "Development"], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitFailure));
        Assert.That(stderr.ToString(), Does.Contain("no snapshot at").And.Contain("run 'train"));
    }

    [Test]
    public async Task Serve_InProductionWithoutAToken_RefusesToStart_NamingTheKey()
    {
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["serve", "--artifacts", TestPaths.NewTempDir(), "--urls", "http://127.0.0.1:0", "--environment", "Production"], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(stderr.ToString(), Does.Contain("Ops:Token").And.Contain("Ops__Token"));
    }

    [Test]
    public async Task Train_RejectsContradictoryOptions()
    {
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["train", "--data", TestPaths.NewTempDir(), "--out", TestPaths.NewTempDir(), "--all-events", "--split-date", "1998-03-07"], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(stderr.ToString(), Does.Contain("--split-date and --all-events"));
    }
}
