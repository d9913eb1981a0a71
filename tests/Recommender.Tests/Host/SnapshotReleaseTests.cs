using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Recommender.Data;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Tests.Host;

/// <summary>
/// The serving snapshot's arrays sit on the pinned object heap, so the compacting collection after
/// a swap moves none of them; the replaced snapshot is freed by that collection unless something
/// still holds it.
/// </summary>
public sealed class SnapshotReleaseTests
{
    [Test]
    public void Arrays_go_on_the_pinned_heap_inside_the_scope_and_its_tasks_only()
    {
        // A fresh small array is in generation 0; one on the pinned object heap reports the oldest generation.
        Assert.That(GC.GetGeneration(LoadedArrays.New<int>(16)), Is.EqualTo(0), "outside the scope");
        using (LoadedArrays.OnPinnedHeap())
        {
            Assert.That(GC.GetGeneration(LoadedArrays.New<float>(16)), Is.EqualTo(GC.MaxGeneration), "inside");
            var fromTasks = new int[2];
            Parallel.Invoke(
                () => fromTasks[0] = GC.GetGeneration(LoadedArrays.New<long>(16)),
                () => fromTasks[1] = GC.GetGeneration(LoadedArrays.New<int>(16)));
            Assert.That(fromTasks, Is.All.EqualTo(GC.MaxGeneration), "the tasks a load starts inherit the scope");
            using (LoadedArrays.OnPinnedHeap())
            {
                Assert.That(LoadedArrays.Pinned, Is.True);
            }

            Assert.That(LoadedArrays.Pinned, Is.True, "a nested scope restores the outer one");
        }

        Assert.That(LoadedArrays.Pinned, Is.False);
        Assert.That(GC.GetGeneration(LoadedArrays.New<int>(16)), Is.EqualTo(0), "after the scope");
        Assert.That(LoadedArrays.New<int>(5), Is.All.EqualTo(0), "zeroed");
    }

    [Test]
    public void A_loaded_snapshot_keeps_its_arrays_in_place_through_a_compacting_collection()
    {
        var snapshot = ServingSnapshot.Load(new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent());
        var arrays = new Array[] { snapshot.HistoryItems, snapshot.HistoryOffsets, snapshot.Als.UserFactors, snapshot.Als.ItemFactors };
        var before = arrays.Select(a => Marshal.UnsafeAddrOfPinnedArrayElement(a, 0)).ToArray();
        Assert.That(arrays.Select(GC.GetGeneration), Is.All.EqualTo(GC.MaxGeneration), "on the pinned object heap");
        Heap.CompactLargeObjects();
        Assert.That(arrays.Select(a => Marshal.UnsafeAddrOfPinnedArrayElement(a, 0)), Is.EqualTo(before), "not moved");
        Assert.That(LoadedArrays.Pinned, Is.False, "the load's scope ended with it");
    }

    [Test]
    public void The_replaced_snapshot_is_freed_by_the_collection_after_a_swap_unless_something_holds_it()
    {
        var artifacts = ServiceData.CopyArtifacts();
        var holder = new SnapshotHolder();
        Assert.That(SwapIn(holder, artifacts), Is.Null, "nothing was serving");

        var freed = Heap.ReleaseReplaced(SwapIn(holder, artifacts));
        Assert.That(freed.ReplacedFreed, Is.True, freed.ToString());
        Assert.That(freed.PauseMs, Is.GreaterThan(0));
        Assert.That(freed.CommittedBytes, Is.GreaterThanOrEqualTo(freed.HeapBytes));

        var held = holder.Current!; // a leak: something keeps the replaced snapshot
        var kept = Heap.ReleaseReplaced(SwapIn(holder, artifacts));
        Assert.That(kept.ReplacedFreed, Is.False, "a snapshot still referenced is reported as such");
        GC.KeepAlive(held);
    }

    // Loaded and swapped in a frame of its own: unoptimised (tier-0) code keeps a method's temporaries alive to its end.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference? SwapIn(SnapshotHolder holder, string artifacts) =>
        holder.Replace(ServingSnapshot.Load(new SnapshotStore(artifacts).RequireCurrent()));
}
