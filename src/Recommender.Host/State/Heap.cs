namespace Recommender.Host.State;

public static class Heap
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
    /// A blocking full collection that does not compact: the replaced snapshot's arrays (primitive
    /// arrays, nothing to trace) are freed for the next load to reuse. With it, the swaps' 10 s
    /// windows in an hour-long soak reached p99 38–84 ms (docs/reliability.md; the pause itself
    /// not timed), but RSS at cycle ends swung 860–1,113 MB: the freed regions stay committed some
    /// swaps and not others.
    /// After a swap in the serving process the compacting one (<see cref="CompactLargeObjects"/>)
    /// stalled every request: the hour-long soak's p99 rose to 97–172 ms in each swap's 10 s
    /// window (5–10 ms otherwise); a background collection left the old snapshot in the heap
    /// (RSS 630 → 950 MB at 100K users) until the next full collection, whenever that came.
    /// </summary>
    public static void ReleaseWithoutCompacting() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
}
