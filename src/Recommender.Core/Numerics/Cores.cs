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

    /// <summary>
    /// Runs single-threaded jobs side by side, one per core at most (files, each encoded on one
    /// thread). A job's exception comes out as itself, not wrapped: the first one thrown.
    /// </summary>
    public static void SideBySide(params Action[] jobs)
    {
        try
        {
            Parallel.Invoke(Options(), jobs);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
