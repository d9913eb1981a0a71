using Recommender.Snapshots;
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

    [Test]
    public void Prune_KeepsTheNewestAndTheCurrent_AndNoTemporaryFolderIsTouched()
    {
        var store = new SnapshotStore(TestPaths.NewTempDir());
        string[] ids = ["20260101-000000-000", "20260102-000000-000", "20260103-000000-000", "20260104-000000-000"];
        foreach (var id in ids)
        {
            Directory.CreateDirectory(Path.Combine(store.SnapshotsDir, id));
        }

        var building = Path.Combine(store.SnapshotsDir, ".tmp-20260105-000000-000-x");
        Directory.CreateDirectory(building);
        store.PointCurrentAt(Path.Combine(store.SnapshotsDir, ids[0])); // e.g. a newer one was refused
        var removed = store.Prune(2);
        Assert.That(removed.Select(Path.GetFileName), Is.EqualTo(new[] { ids[1] }));
        Assert.That(Directory.GetDirectories(store.SnapshotsDir).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { building, Path.Combine(store.SnapshotsDir, ids[0]), Path.Combine(store.SnapshotsDir, ids[2]), Path.Combine(store.SnapshotsDir, ids[3]) }.Select(Path.GetFileName).Order()));
        Assert.That(store.Current(), Is.EqualTo(Path.Combine(store.SnapshotsDir, ids[0])));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Prune(0));
    }
}
