using Microsoft.Extensions.DependencyInjection;
using Recommender.Data;
using Recommender.Host.Cli;
using Recommender.Host;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>A damaged snapshot never serves: it is refused naming the file, at start and at swap.</summary>
[NonParallelizable]
public class SnapshotDamageTests
{
    private static string[] SnapshotFiles()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
        return [.. Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n != FileNames.Manifest).Order()!];
    }

    public enum Damage
    {
        Truncated,
        FlippedByte,
        Missing,
    }

    private static void Apply(string path, Damage damage)
    {
        switch (damage)
        {
            case Damage.Truncated:
                using (var f = new FileStream(path, FileMode.Open))
                {
                    f.SetLength(f.Length / 2);
                }

                break;
            case Damage.FlippedByte:
                var bytes = File.ReadAllBytes(path);
                bytes[bytes.Length / 2] ^= 0x01;
                File.WriteAllBytes(path, bytes);
                break;
            case Damage.Missing:
                File.Delete(path);
                break;
        }
    }

    [Test]
    public void TheManifest_ListsEveryFileWithSizeAndChecksum()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
        var listed = SnapshotIntegrity.Describe(dir).Select(f => f.Name);
        Assert.That(SnapshotFiles(), Is.EqualTo(listed));
        Assert.That(SnapshotFiles(), Does.Contain(FileNames.AlsModel).And.Contain(FileNames.Recommendations).And.Contain(UserHistory.FileName));
        Assert.DoesNotThrow(() => SnapshotIntegrity.Verify(dir));
    }

    [Test]
    public void EveryDamagedFile_IsRefusedByLoad_NamingIt([Values] Damage damage)
    {
        foreach (var name in SnapshotFiles())
        {
            var dir = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
            Apply(Path.Combine(dir, name), damage);
            var e = Assert.Throws<DataException>(() => ServingSnapshot.Load(dir), name);
            Assert.That(e!.Message, Does.StartWith(name).And.Contain("damaged snapshot file"), name);
        }
    }

    [TestCase("", "not valid JSON")]
    [TestCase("{\"snapshot_id\": \"x\", \"created_utc\": \"2022-12-31T00:00:00Z\"}", "lists no files")]
    [TestCase("{\"snapshot_id\": \"x\", \"files\": []}", "created_utc")]
    public void ABadManifest_IsRefused(string manifest, string expected)
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
        File.WriteAllText(Path.Combine(dir, FileNames.Manifest), manifest);
        var e = Assert.Throws<DataException>(() => ServingSnapshot.Load(dir));
        Assert.That(e!.Message, Does.StartWith(FileNames.Manifest).And.Contain(expected));
    }

    [TestCase(FileNames.AlsModel)]
    [TestCase(UserHistory.FileName)]
    [TestCase(FileNames.Recommendations)]
    [TestCase(FileNames.Items)]
    [TestCase(FileNames.Manifest)]
    public async Task Serve_OnADamagedSnapshot_ExitsWithTheBadDataCode_NamingTheFile(string name)
    {
        var artifacts = ServiceData.CopyArtifacts();
        var dir = new SnapshotStore(artifacts).Current()!;
        Apply(Path.Combine(dir, name), Damage.Truncated);
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["serve", "--artifacts", artifacts, "--urls", "http://127.0.0.1:0", "--environment", "Development", "--online-log", Path.Combine(TestPaths.NewTempDir(), "l.log")], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData), stderr.ToString());
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), "one line, no stack trace");
        Assert.That(lines[0], Does.StartWith("error: bad input: " + name));
    }

    [Test]
    public async Task ADamagedNewSnapshot_IsRefusedAtSwap_TheOldOneKeepsServing_AndCurrentPointsBack()
    {
        var artifacts = ServiceData.CopyArtifacts();
        var before = new SnapshotStore(artifacts).Current();
        var config = ServiceData.Config(artifacts);
        config["Recommender:RetrainMode"] = "InProcess";
        await using var service = await RunningService.StartAsync(config, b => b.Services.AddSingleton<IRetrainRunner>(sp => new DamagingRunner(ActivatorUtilities.CreateInstance<RetrainRunner>(sp))));
        var served = (await service.Client.GetStatusAsync()).SnapshotId;
        var runId = await service.Client.RetrainNowAsync();
        Recommender.Client.ServiceStatus status;
        do
        {
            await Task.Delay(100);
            status = await service.Client.GetStatusAsync();
        }
        while (status.LastRunState == "running");

        Assert.That(status.LastRunId, Is.EqualTo(runId));
        Assert.That(status.LastRunState, Is.EqualTo("failed"));
        Assert.That(status.LastRunError, Does.Contain("refused").And.Contain(FileNames.AlsModel).And.Contain($"current points back at {served}"));
        Assert.That(status.SnapshotId, Is.EqualTo(served));
        Assert.That((await service.Client.GetRecommendationsAsync(1, 5)).Items, Has.Count.EqualTo(5));
        Assert.That(new SnapshotStore(artifacts).Current(), Is.EqualTo(before), "a restart serves the good snapshot too");
    }

    /// <summary>The real retrain, then a damaged model file, as a bad disk would leave it.</summary>
    private sealed class DamagingRunner(RetrainRunner inner) : IRetrainRunner
    {
        public string Run(RecommenderOptions o, string onlineLog, string runId, CancellationToken cancellation)
        {
            var dir = inner.Run(o, onlineLog, runId, cancellation);
            Apply(Path.Combine(dir, FileNames.AlsModel), Damage.FlippedByte);
            return dir;
        }
    }
}
