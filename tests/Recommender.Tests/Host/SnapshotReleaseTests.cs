using System.Runtime.CompilerServices;
using Recommender.Host.Cli;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Tests.Host;

/// <summary>The replaced snapshot is freed by the collection after a swap unless something still holds it.</summary>
public sealed class SnapshotReleaseTests
{
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

    // Loaded and swapped in a frame of its own: unoptimised (tier-0) code keeps a method's temporaries alive to its end.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference? SwapIn(SnapshotHolder holder, string artifacts) =>
        holder.Replace(ServingSnapshot.Load(new SnapshotStore(artifacts).RequireCurrent()));
}
