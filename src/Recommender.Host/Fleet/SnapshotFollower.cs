using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.State;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Host.Fleet;

/// <summary>
/// Follows the remote store's current pointer: every S3:PollSeconds a new snapshot is downloaded,
/// verified, loaded and swapped in. Any failure (the store unreachable, a damaged download) is
/// logged and the serving snapshot stays; a refused snapshot is not fetched again. While the store
/// keeps failing, polls back off exponentially (up to <see cref="MaxBackoffPolls"/> poll intervals) with jitter, so that
/// a fleet does not hammer a store that is coming back all at the same moment.
/// </summary>
internal sealed partial class SnapshotFollower(SnapshotSource source, SnapshotHolder holder, IOptions<S3Options> s3, TimeProvider clock, ILogger<SnapshotFollower> logger) : BackgroundService
{
    /// <summary>The longest wait between polls while the store keeps failing, in poll intervals (5 minutes at the default 10 s).</summary>
    public const int MaxBackoffPolls = 30;

    private string? _refused;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (source.Remote is null)
        {
            return;
        }

        var poll = TimeSpan.FromSeconds(s3.Value.PollSeconds);
        var failures = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Jitter needs no seed: it only spreads the replicas' retries in time, nothing is computed from it.
                await Task.Delay(Backoff(poll, failures, Random.Shared.NextDouble()), clock, stoppingToken);
                try
                {
                    failures = await PollOnceAsync(stoppingToken) ? 0 : failures + 1;
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // A follower must never stop the host: whatever a poll throws, this replica keeps
                    // serving and tries again later (a thrown exception here would end the process).
                    LogPollFailed(logger, source.Remote.Location.ToString(), $"{e.GetType().Name}: {e.Message}");
                    failures++;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>
    /// The wait before the next poll: the poll interval after a success; after n failures in a row,
    /// poll × 2ⁿ up to <see cref="MaxBackoffPolls"/> polls, times a jitter factor in [0.5, 1.5) from <paramref name="unit"/> ∈ [0, 1).
    /// </summary>
    internal static TimeSpan Backoff(TimeSpan poll, int failures, double unit)
    {
        if (failures == 0)
        {
            return poll;
        }

        var grown = poll.TotalSeconds * Math.Min(Math.Pow(2, Math.Min(failures, 20)), MaxBackoffPolls);
        return TimeSpan.FromSeconds(grown * (0.5 + unit));
    }

    /// <summary>One poll; false when the store could not be reached (the caller backs off).</summary>
    internal async Task<bool> PollOnceAsync(CancellationToken cancellation)
    {
        var remote = source.Remote!;
        if (!await source.SwapGate.WaitAsync(0, cancellation))
        {
            return true; // this replica is publishing its own retrain: it swaps to it itself
        }

        try
        {
            var id = await remote.CurrentIdAsync(cancellation);
            if (id is null || id == holder.Current?.Id || id == _refused)
            {
                return true;
            }

            try
            {
                var next = ServingSnapshot.Load(await remote.DownloadAsync(id, new SnapshotStore(source.LocalRoot), cancellation), tablesOutsideGcHeap: true);
                Heap.Log(logger, next.Id, Heap.ReleaseReplaced(holder.Replace(next)));
                LogSwapped(logger, next.Id, remote.Location.ToString());
                new SnapshotStore(source.LocalRoot).Prune(s3.Value.Retention); // the cache keeps what the bucket keeps
            }
            catch (Recommender.Data.DataException e)
            {
                // Damaged or incomplete: not fetched again until current names another snapshot.
                _refused = id;
                LogRefused(logger, id, e.Message);
            }

            return true;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return true; // shutting down
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException
            or System.Net.Sockets.SocketException // a reset connection can surface raw from HttpClient (Socket.RemoteEndPoint after an RST): it ended a replica under the fleet chaos test
            or TaskCanceledException) // an HTTP timeout, not our cancellation (that one is caught above)
        {
            // The store unreachable or failing: keep serving what we have, try again after a backoff.
            LogPollFailed(logger, remote.Location.ToString(), e.Message);
            return false;
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
