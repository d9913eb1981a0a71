namespace Recommender.Host.Hosting;

public static class Memory
{
    /// <summary>
    /// A compacting full collection, large-object heap included. Called where gigabytes of large
    /// arrays turn into garbage at once (between pipeline stages, after a snapshot load or swap):
    /// the server GC would otherwise carry them into the next allocation peak.
    /// </summary>
    public static void CompactLargeObjects()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
    }
}
