namespace Recommender.Numerics;

/// <summary>
/// Every parallel loop in Core runs at most one worker per core. Without the cap, Parallel.For
/// keeps starting replicas as the thread pool grows (it injects threads when its queue looks
/// starved), and a full-size train ran with a load average near 38 on 2 cores.
/// </summary>
public static class Cores
{
    public static int Count => Environment.ProcessorCount;

    public static ParallelOptions Options(CancellationToken cancellation = default) =>
        new() { MaxDegreeOfParallelism = Count, CancellationToken = cancellation };
}
