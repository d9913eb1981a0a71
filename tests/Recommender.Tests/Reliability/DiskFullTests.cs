using Recommender.Host.Cli;
using Recommender.Snapshots;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>A disk that fills during train or a retrain: a one-line error naming the file, exit 1, the old snapshot kept.</summary>
[NonParallelizable]
public class DiskFullTests
{
    [Test]
    public async Task Train_OntoADiskThatFills_FailsWithOneLineNamingTheFile_AndKeepsCurrent()
    {
        using var disk = SmallDisk.Mount(4096);
        var root = Path.Combine(disk.Path, "artifacts");
        string[] train = ["train", "--data", ServiceData.DataDir, "--out", root, "--factors", "8", "--iterations", "2"];
        Assert.That(await RecommenderCli.RunAsync(train, new StringWriter(), new StringWriter()), Is.EqualTo(RecommenderCli.ExitOk));
        var before = new SnapshotStore(root).Current();
        var filler = disk.Fill(leaveKilobytes: 400); // the snapshot needs ~1.2 MB: the run starts, then the disk fills

        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(train, new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitFailure));
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr.ToString());
        Assert.That(lines[0], Does.StartWith("error: ").And.Contain("No space left on device").And.Contain(Path.Combine(root, "snapshots", ".tmp-")));
        Assert.That(new SnapshotStore(root).Current(), Is.EqualTo(before));
        Assert.That(Directory.GetDirectories(Path.Combine(root, "snapshots"), ".tmp-*"), Is.Empty, "the unfinished snapshot is removed");
        File.Delete(filler);
    }

    [Test]
    public async Task AChildRetrain_OnAFullDisk_ReportsTheCauseThroughGetStatus()
    {
        using var disk = SmallDisk.Mount(4096);
        var root = Path.Combine(disk.Path, "artifacts");
        var source = new SnapshotStore(ServiceData.CopyArtifacts()).Current()!;
        var dir = Path.Combine(root, "snapshots", Path.GetFileName(source));
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        new SnapshotStore(root).PointCurrentAt(dir);
        var config = ServiceData.Config(root);
        config["Recommender:RetrainMode"] = "ChildProcess";
        await using var service = await RunningService.StartAsync(config);
        var filler = disk.Fill();
        var runId = await service.Client.RetrainNowAsync();
        Recommender.Client.ServiceStatus status;
        do
        {
            await Task.Delay(100);
            status = await service.Client.GetStatusAsync();
        }
        while (status.LastRunState == "running");

        Assert.That(status.LastRunState, Is.EqualTo("failed"));
        Assert.That(status.LastRunError, Does.Contain("exited with code 1").And.Contain("No space left on device").And.Contain(root));
        Assert.That(status.LastRunError, Does.Not.Contain("   at "), "the cause, not a stack trace");
        Assert.That((await service.Client.GetRecommendationsAsync(1, 5)).Items, Has.Count.EqualTo(5));
        File.Delete(filler);
    }
}
