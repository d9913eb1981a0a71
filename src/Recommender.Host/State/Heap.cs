using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Recommender.Host.State;

public static partial class Heap
{
    /// <summary>
    /// A compacting full collection, large-object heap included, that also gives the freed memory
    /// back to the operating system. Called where gigabytes of large arrays turn into garbage at
    /// once (between pipeline stages, after a snapshot load or swap). A plain full collection
    /// frees them but keeps their regions committed for reuse, and the next stage's arrays, of
    /// other sizes, are committed beside them: the full-size train's peak working set stood
    /// 6–9 GB above its live heap (stage log lines, docs/benchmarks.md).
    /// </summary>
    public static void CompactLargeObjects()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>
    /// A blocking full collection that does not compact: the inspector's column buffers, in the
    /// serving process, are freed without moving anything. After a swap
    /// <see cref="ReleaseReplaced"/> is used instead: with this one the hour-long soak's RSS at
    /// cycle ends swung 860–1,113 MB (docs/reliability.md).
    /// </summary>
    public static void ReleaseWithoutCompacting() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);

    /// <summary>What the collection after a swap took and left.</summary>
    public readonly record struct Release(double PauseMs, bool ReplacedFreed, long HeapBytes, long CommittedBytes);

    /// <summary>
    /// After a swap: a compacting collection that hands the replaced snapshot's memory back to the
    /// operating system, so that the service's memory is the same after every swap. It moves the
    /// serving snapshot's arrays; its track names are a few flat arrays (<c>TrackTable</c>), not
    /// an object per string to mark and move. At 100K users and tracks it takes 54–90 ms and leaves
    /// the heap the same 214 MB after every swap (<c>bench --stages swaps</c>); at full size
    /// 458–491 ms, once per swap. On the pinned object heap the arrays would not move (42–57 ms)
    /// but their holes moved the heap by up to 80 MB at 100K and 1.1 GB at full size
    /// (docs/benchmarks.md). <paramref name="replaced"/> says
    /// whether anything still holds the old snapshot (a request in flight for a moment; anything
    /// else is a leak).
    /// </summary>
    public static Release ReleaseReplaced(WeakReference? replaced)
    {
        var watch = Stopwatch.StartNew();
        CompactLargeObjects();
        var pause = watch.Elapsed.TotalMilliseconds;
        var info = GC.GetGCMemoryInfo();
        return new Release(pause, replaced is not { IsAlive: true }, info.HeapSizeBytes, info.TotalCommittedBytes);
    }

    public static void Log(ILogger logger, string snapshotId, Release r) =>
        LogReleased(logger, snapshotId, r.PauseMs, r.ReplacedFreed ? "freed" : "still referenced", r.HeapBytes >> 20, r.CommittedBytes >> 20);

    [LoggerMessage(Level = LogLevel.Information, Message = "swapped to {SnapshotId}: the replaced snapshot {Outcome} by a {PauseMs:F0} ms collection; GC heap {HeapMb} MB, committed {CommittedMb} MB")]
    private static partial void LogReleased(ILogger logger, string snapshotId, double pauseMs, string outcome, long heapMb, long committedMb);
}
