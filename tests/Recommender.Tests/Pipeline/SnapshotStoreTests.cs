using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

public class SnapshotStoreTests
{
    [Test]
    public void Begin_RemovesFoldersOfDeadRunsOnly_AndCommitLeavesNoOwnerFile()
    {
        var store = new SnapshotStore(TestPaths.NewTempDir());
        Directory.CreateDirectory(store.SnapshotsDir);
        string Abandoned(string name, string? owner)
        {
            var dir = Path.Combine(store.SnapshotsDir, name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "similar.parquet"), "half written");
            if (owner is not null)
            {
                File.WriteAllText(Path.Combine(dir, SnapshotStore.OwnerFile), owner);
            }

            return dir;
        }

        // A pid above Linux's pid_max (4,194,304) never names a running process.
        var dead = Abandoned(".tmp-dead", "2000000000");
        var live = Abandoned(".tmp-live", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var fresh = Abandoned(".tmp-no-owner-yet", null);
        var published = Abandoned("20220101-000000-000", "2000000000");

        var (id, temp) = store.Begin();
        Assert.That(Directory.Exists(dead), Is.False, "the dead run's folder is removed");
        Assert.That(Directory.Exists(live), Is.True, "a running process's folder is kept");
        Assert.That(Directory.Exists(fresh), Is.True, "a folder without an owner file is kept for a day");
        Assert.That(Directory.Exists(published), Is.True, "published snapshots are never touched");
        Assert.That(File.ReadAllText(Path.Combine(temp, SnapshotStore.OwnerFile)), Is.EqualTo(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var final = store.Commit(id, temp);
        Assert.That(File.Exists(Path.Combine(final, SnapshotStore.OwnerFile)), Is.False);
        Assert.That(store.Current(), Is.EqualTo(final));
    }
}
