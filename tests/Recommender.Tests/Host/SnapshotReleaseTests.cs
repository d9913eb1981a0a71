using Recommender.Host.Cli;
using Recommender.Numerics;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Tests.Host;

/// <summary>
/// A served snapshot's tables live outside the GC heap and are unmapped when the last reader of
/// the replaced snapshot lets go: not before (a request on it keeps reading), not never.
/// </summary>
public sealed class SnapshotReleaseTests
{
    [Test]
    public void The_replaced_snapshot_is_released_at_the_swap_when_nobody_reads_it()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent();
        var holder = new SnapshotHolder();
        Assert.That(holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true)), Is.Null, "nothing was serving");
        var first = holder.Current!;
        Assert.That(first.TableBytes, Is.GreaterThan(0), "the tables were mapped outside the GC heap");

        var replaced = holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true));
        Assert.That(replaced, Is.SameAs(first));
        Assert.That(first.Released, Is.True, "the holder's reference was the last");
        Assert.That(first.TryRetain(), Is.False, "a released snapshot cannot be read again");

        var release = Heap.ReleaseReplaced(replaced);
        Assert.That(release.ReplacedFreed, Is.True, release.ToString());
        Assert.That(release.TableBytes, Is.EqualTo(first.TableBytes));
        Assert.That(release.CommittedBytes, Is.GreaterThanOrEqualTo(release.HeapBytes));
    }

    [Test]
    public void A_lease_keeps_the_replaced_snapshot_readable_until_it_ends()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent();
        var holder = new SnapshotHolder();
        Assert.That(holder.Lease().Snapshot, Is.Null, "no snapshot: an empty lease");
        holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true));
        var reference = ServingSnapshot.Load(dir); // ordinary arrays: what the leased one must still read
        var user = Enumerable.Range(0, reference.Users.Count).First(u => reference.HistoryOf(u).Length > 0 && reference.Recommendations.ItemsOf(u).Length > 0);

        var lease = holder.Lease();
        var leased = lease.Snapshot!;
        var replaced = holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true));
        Assert.That(replaced, Is.SameAs(leased));
        Assert.That(leased.Released, Is.False, "a request is still on it");
        Assert.That(holder.Lease() is { Snapshot: { } next } l && !ReferenceEquals(next, leased) && Dispose(l), Is.True, "new requests get the new snapshot");
        Assert.That(leased.HistoryOf(user).ToArray(), Is.EqualTo(reference.HistoryOf(user).ToArray()), "the leased tables are intact after the swap");
        Assert.That(leased.Recommendations.ItemsOf(user).ToArray(), Is.EqualTo(reference.Recommendations.ItemsOf(user).ToArray()));

        var kept = Heap.ReleaseReplaced(replaced, TimeSpan.FromMilliseconds(50));
        Assert.That(kept.ReplacedFreed, Is.False, "a snapshot still read is reported as such");
        lease.Dispose();
        Assert.That(leased.Released, Is.True, "the last request's end unmaps the tables");
    }

    [Test]
    public void Tables_outside_the_GC_heap_hold_what_ordinary_arrays_hold()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent();
        var managed = ServingSnapshot.Load(dir);
        var native = ServingSnapshot.Load(dir, tablesOutsideGcHeap: true);
        Assert.That(managed.TableBytes, Is.Zero);
        Assert.That(native.TableBytes, Is.GreaterThan(0));
        for (var u = 0; u < managed.Users.Count; u++)
        {
            Assert.That(native.HistoryOf(u).SequenceEqual(managed.HistoryOf(u)), Is.True, $"history of user {u}");
            Assert.That(native.Recommendations.ItemsOf(u).SequenceEqual(managed.Recommendations.ItemsOf(u)), Is.True, $"list of user {u}");
            Assert.That(native.Recommendations.ScoresOf(u).SequenceEqual(managed.Recommendations.ScoresOf(u)), Is.True, $"scores of user {u}");
            Assert.That(native.Als.UserVector(u).SequenceEqual(managed.Als.UserVector(u)), Is.True, $"factors of user {u}");
        }

        var found = new ScoredItem[20];
        var expected = new ScoredItem[20];
        for (var i = 0; i < managed.Items.Count; i++)
        {
            Assert.That(native.Als.ItemVector(i).SequenceEqual(managed.Als.ItemVector(i)), Is.True, $"factors of item {i}");
            var n = native.SimilarTracks(i, found);
            Assert.That(found[..n], Is.EqualTo(expected[..managed.SimilarTracks(i, expected)]), $"similar to item {i}");
        }

        var user = managed.Als.UserVector(0).ToArray();
        ScoredItem[] a = new ScoredItem[10], b = new ScoredItem[10];
        var got = native.AlsSearch.RecommendFor(user, [], 10, a);
        var want = managed.AlsSearch.RecommendFor(user, [], 10, b);
        Assert.That(got, Is.GreaterThan(0));
        Assert.That(a[..got], Is.EqualTo(b[..want]), "the IVF search over vectors outside the heap");
        native.Release();
        Assert.That(native.Released, Is.True);
    }

    [Test]
    public void Requests_racing_swaps_read_only_snapshots_that_are_mapped()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent();
        var reference = ServingSnapshot.Load(dir);
        var expected = Enumerable.Range(0, reference.Users.Count).Select(u => reference.HistoryOf(u).ToArray()).ToArray();
        var holder = new SnapshotHolder();
        holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true));
        var replaced = new List<ServingSnapshot>();
        using var stop = new CancellationTokenSource();
        long reads = 0, wrong = 0;
        var readers = Enumerable.Range(0, 3).Select(t => Task.Run(() =>
        {
            var rng = new Random(t);
            while (!stop.IsCancellationRequested)
            {
                using var lease = holder.Lease();
                var u = rng.Next(expected.Length);
                // Read twice with a yield between: a swap in the middle must not unmap what the lease reads.
                var first = lease.Snapshot!.HistoryOf(u).ToArray();
                Thread.Yield();
                if (!first.AsSpan().SequenceEqual(expected[u]) || !lease.Snapshot.HistoryOf(u).SequenceEqual(expected[u]))
                {
                    Interlocked.Increment(ref wrong);
                }

                Interlocked.Increment(ref reads);
            }
        })).ToArray();

        for (var s = 0; s < 8; s++)
        {
            replaced.Add(holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true))!);
        }

        stop.Cancel();
        Task.WaitAll(readers);
        Assert.That(wrong, Is.Zero, $"{wrong} of {reads} reads saw other tables");
        Assert.That(reads, Is.GreaterThan(100));
        Assert.That(replaced.Select(r => r.Released), Is.All.True, "every replaced snapshot was unmapped once its readers left");
        Assert.That(holder.Current!.Released, Is.False);
    }

    [Test]
    public async Task The_swaps_benchmark_prints_each_swaps_collection()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent();
        var output = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["bench", "--stages", "swaps", "--snapshot", dir, "--swaps", "3"], output, output);
        var text = output.ToString();
        Assert.That(exit, Is.EqualTo(0), text);
        var rows = text.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\| \d+ \|")).ToArray();
        Assert.That(rows, Has.Length.EqualTo(3), text);
        Assert.That(rows, Is.All.Contains("| freed |"), "nothing but the holder held the replaced snapshot");
    }

    private static bool Dispose(SnapshotLease lease)
    {
        lease.Dispose();
        return true;
    }
}
