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
}
