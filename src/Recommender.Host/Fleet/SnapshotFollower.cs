using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Host.Fleet;

/// <summary>
/// Follows the remote store's current pointer: every S3:PollSeconds a new snapshot is downloaded,
/// verified, loaded and swapped in. Any failure (the store unreachable, a damaged download) is
/// logged and the serving snapshot stays; a refused snapshot is not fetched again.
/// </summary>
internal sealed partial class SnapshotFollower(SnapshotSource source, SnapshotHolder holder, IOptions<S3Options> s3, TimeProvider clock, ILogger<SnapshotFollower> logger) : BackgroundService
{
    private string? _refused;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (source.Remote is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(s3.Value.PollSeconds), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await PollOnceAsync(stoppingToken);
        }
    }

    internal async Task PollOnceAsync(CancellationToken cancellation)
    {
        var remote = source.Remote!;
        if (!await source.SwapGate.WaitAsync(0, cancellation))
        {
            return; // this replica is publishing its own retrain: it swaps to it itself
        }

        try
        {
            var id = await remote.CurrentIdAsync(cancellation);
            if (id is null || id == holder.Current?.Id || id == _refused)
            {
                return;
            }

            try
            {
                var next = ServingSnapshot.Load(await remote.DownloadAsync(id, new SnapshotStore(source.LocalRoot), cancellation));
                holder.Swap(next);
                Heap.CompactLargeObjects(); // the replaced snapshot
                LogSwapped(logger, next.Id, remote.Location.ToString());
                new SnapshotStore(source.LocalRoot).Prune(s3.Value.Retention); // the cache keeps what the bucket keeps
            }
            catch (Recommender.Data.DataException e)
            {
                // Damaged or incomplete: not fetched again until current names another snapshot.
                _refused = id;
                LogRefused(logger, id, e.Message);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // shutting down
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException)
        {
            // The store unreachable: keep serving what we have, try again at the next tick.
            LogPollFailed(logger, remote.Location.ToString(), e.Message);
        }
        finally
        {
            source.SwapGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "snapshot {Id} from {Location} is now serving")]
    private static partial void LogSwapped(ILogger logger, string id, string location);

    [LoggerMessage(Level = LogLevel.Error, Message = "snapshot {Id} refused: {Reason}; the serving snapshot stays")]
    private static partial void LogRefused(ILogger logger, string id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not follow {Location}: {Reason}; the serving snapshot stays")]
    private static partial void LogPollFailed(ILogger logger, string location, string reason);
}
