using Microsoft.Extensions.Options;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Host.Hosting;

/// <summary>
/// The serving snapshot, replaced as a whole by one reference exchange: a request reads
/// <see cref="Current"/> once and works on that snapshot to the end.
/// </summary>
public sealed partial class SnapshotHolder(IOptions<RecommenderOptions> options, Fleet.SnapshotSource source, ILogger<SnapshotHolder> logger)
{
    private ServingSnapshot? _current;

    public ServingSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Loads the local snapshot root's current; throws with a clear message when there is none.</summary>
    public ServingSnapshot LoadCurrent()
    {
        var dir = new SnapshotStore(source.LocalRoot).RequireCurrent();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var snapshot = ServingSnapshot.Load(dir);
        Swap(snapshot);
        Memory.CompactLargeObjects(); // the load's column buffers
        LogLoaded(logger, snapshot.Id, snapshot.Directory, snapshot.Users.Count, snapshot.Items.Count, watch.Elapsed.TotalSeconds, Path.GetFullPath(options.Value.OnlineLogPath));
        return snapshot;
    }

    /// <summary>Publishes a new snapshot; returns the one it replaced.</summary>
    public ServingSnapshot? Swap(ServingSnapshot next) => Interlocked.Exchange(ref _current, next);

    [LoggerMessage(Level = LogLevel.Information, Message = "serving snapshot {Id} from {Directory}: {Users} users, {Items} tracks, loaded in {Seconds:F1} s; online listens go to {OnlineLog}")]
    private static partial void LogLoaded(ILogger logger, string id, string directory, int users, int items, double seconds, string onlineLog);
}
