using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Serving;

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
    /// serving process, are freed without moving anything.
    /// </summary>
    public static void ReleaseWithoutCompacting() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);

    /// <summary>What the collection after a swap took and left.</summary>
    public readonly record struct Release(double PauseMs, bool ReplacedFreed, long HeapBytes, long CommittedBytes, long TableBytes);

    /// <summary>How long a swap waits for the requests still on the replaced snapshot before it reports it as still referenced.</summary>
    public static readonly TimeSpan ReaderWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// After a swap: waits for the last request on the replaced snapshot, whose release unmaps its
    /// tables (<see cref="ServingSnapshot"/>: they live outside the GC heap, so their memory goes
    /// back to the system without a collection), then compacts what is left on the GC heap and
    /// hands the C heap's free pages back (<see cref="TrimNativeHeap"/>). With the tables on the GC
    /// heap this compaction moved the serving snapshot's 200 MB and stopped every request for
    /// 69–213 ms at 100K users (the hour's soak) and ~0.5 s at full size; with them outside, the
    /// heap it compacts is the service's own ~26 MB (<c>bench --stages swaps</c>,
    /// docs/benchmarks.md). A non-compacting background collection pauses less but left 50–150 MB
    /// of load garbage committed, different after every swap. <paramref name="replaced"/> not
    /// released within <paramref name="readerWait"/> (<see cref="ReaderWait"/>) is reported as
    /// still referenced (a request that long, or a leaked lease); its tables are unmapped when that
    /// reference goes.
    /// </summary>
    public static Release ReleaseReplaced(ServingSnapshot? replaced, TimeSpan? readerWait = null)
    {
        var wait = readerWait ?? ReaderWait;
        var pausedBefore = GC.GetTotalPauseDuration();
        var watch = Stopwatch.StartNew();
        var tableBytes = replaced?.TableBytes ?? 0;
        while (replaced is { Released: false } && watch.Elapsed < wait)
        {
            Thread.Sleep(1);
        }

        var freed = replaced is not { Released: false };
        CompactLargeObjects();
        TrimNativeHeap();
        var info = GC.GetGCMemoryInfo();
        return new Release((GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds, freed, info.HeapSizeBytes, info.TotalCommittedBytes, freed ? tableBytes : 0);
    }

    /// <summary>
    /// Gives the C heap's free pages back to the system (<see cref="NativeHeap.Trim"/>). Reading a
    /// snapshot's parquet files goes through the native Parquet library, whose freed buffers glibc
    /// keeps: without this the service's RSS grew ~5 MB a swap at 100K users (369 → 405 MB over 8
    /// swaps, flat at 386–389 MB over 12 with it) and 224 → 304 MB outside the GC over the hour's soak.
    /// </summary>
    public static void TrimNativeHeap() => NativeHeap.Trim();


    public static void Log(ILogger logger, string snapshotId, Release r) =>
        LogReleased(logger, snapshotId, r.PauseMs, r.ReplacedFreed ? "freed" : "still referenced", r.TableBytes >> 20, r.HeapBytes >> 20, r.CommittedBytes >> 20);

    // "the replaced snapshot freed by a N ms collection" is what the soak reads (SoakTest.SwapCollections): the pause is the requests' stall.
    [LoggerMessage(Level = LogLevel.Information, Message = "swapped to {SnapshotId}: the replaced snapshot {Outcome} by a {PauseMs:F0} ms collection ({TablesMb} MB of tables unmapped); GC heap {HeapMb} MB, committed {CommittedMb} MB")]
    private static partial void LogReleased(ILogger logger, string snapshotId, double pauseMs, string outcome, long tablesMb, long heapMb, long committedMb);
}
