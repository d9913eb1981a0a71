using Microsoft.Extensions.Options;
using Recommender.Pipeline;
using Recommender.Serving;

namespace Recommender.Host.Hosting;

/// <summary>
/// The serving snapshot, replaced as a whole by one reference exchange: a request reads
/// <see cref="Current"/> once and works on that snapshot to the end.
/// </summary>
public sealed partial class SnapshotHolder(IOptions<RecommenderOptions> options, ILogger<SnapshotHolder> logger)
{
    private ServingSnapshot? _current;

    public ServingSnapshot? Current => Volatile.Read(ref _current);

    public ServingSnapshot Require() => Current ?? throw new InvalidOperationException("no snapshot is loaded");

    /// <summary>Loads ARTIFACTS/current; throws with a clear message when there is none.</summary>
    public ServingSnapshot LoadCurrent()
    {
        var store = new SnapshotStore(options.Value.ArtifactsDir);
        var dir = store.Current() ?? throw new InvalidOperationException($"no snapshot at {Path.Combine(store.Root, SnapshotStore.CurrentLink)}: run 'train --out {options.Value.ArtifactsDir}' first");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var snapshot = ServingSnapshot.Load(dir);
        Swap(snapshot);
        CompactAfterLoad();
        LogLoaded(logger, snapshot.Id, snapshot.Users.Count, snapshot.Items.Count, watch.Elapsed.TotalSeconds);
        return snapshot;
    }

    /// <summary>Publishes a new snapshot; returns the one it replaced.</summary>
    public ServingSnapshot? Swap(ServingSnapshot next) => Interlocked.Exchange(ref _current, next);

    /// <summary>
    /// Loading reads gigabytes of temporary column buffers and a swap drops a whole snapshot; a
    /// compacting collection right away gives that memory back instead of carrying it for hours.
    /// </summary>
    public static void CompactAfterLoad()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "serving snapshot {Id}: {Users} users, {Items} tracks, loaded in {Seconds:F1} s")]
    private static partial void LogLoaded(ILogger logger, string id, int users, int items, double seconds);
}
