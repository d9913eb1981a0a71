using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Host.Fleet;

/// <summary>
/// Loads ARTIFACTS/current before the server accepts calls; a missing snapshot stops the start with
/// a clear error. Taking the online log as a dependency opens and replays it now, not on the first call.
/// </summary>
internal sealed partial class SnapshotLoader(SnapshotHolder holder, IListenLog online, SnapshotSource source, IOptions<RecommenderOptions> options, ILogger<SnapshotLoader> logger) : IHostedService
{
    private readonly IListenLog _online = online;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (source.Remote is { } remote)
        {
            // The published snapshot first; with the store unreachable, the last one cached here still serves.
            try
            {
                if (await remote.CurrentIdAsync(cancellationToken) is { } id)
                {
                    await remote.DownloadAsync(id, new SnapshotStore(source.LocalRoot), cancellationToken);
                }
            }
            catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException or Recommender.Data.DataException)
            {
                LogStartFetchFailed(logger, remote.Location.ToString(), source.LocalRoot, e.Message);
            }

            if (new SnapshotStore(source.LocalRoot).Current() is null)
            {
                throw new SnapshotNotFoundException($"no snapshot in {remote.Location} (nor cached in {source.LocalRoot}): run 'train --out {remote.Location}' or 'publish --to {remote.Location}' first");
            }
        }

        var dir = new SnapshotStore(source.LocalRoot).RequireCurrent();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var snapshot = ServingSnapshot.Load(dir, tablesOutsideGcHeap: true);
        holder.Replace(snapshot);
        Heap.CompactLargeObjects(); // the load's column buffers
        Heap.TrimNativeHeap(); // and the native Parquet reader's
        LogLoaded(logger, snapshot.Id, snapshot.Directory, snapshot.Users.Count, snapshot.Items.Count, watch.Elapsed.TotalSeconds, Path.GetFullPath(options.Value.OnlineLogPath));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "serving snapshot {Id} from {Directory}: {Users} users, {Items} tracks, loaded in {Seconds:F1} s; online listens go to {OnlineLog}")]
    private static partial void LogLoaded(ILogger logger, string id, string directory, int users, int items, double seconds, string onlineLog);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not fetch the current snapshot from {Location} ({Reason}); serving the cached one in {CacheRoot}")]
    private static partial void LogStartFetchFailed(ILogger logger, string location, string cacheRoot, string reason);
}
