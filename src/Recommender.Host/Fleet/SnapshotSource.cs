using Microsoft.Extensions.Options;
using Recommender.Host.Hosting;
using Recommender.Pipeline;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Host.Fleet;

/// <summary>
/// Where the served snapshots come from: a local snapshot root (Recommender:ArtifactsDir, the
/// default), or an s3:// address whose snapshots are downloaded into a local cache root and served
/// from there. Everything that reads or writes snapshots on disk uses <see cref="LocalRoot"/>.
/// </summary>
public sealed partial class SnapshotSource : IDisposable
{
    private readonly ILogger<SnapshotSource> _logger;
    private readonly Amazon.S3.IAmazonS3? _client;

    public SnapshotSource(IOptions<RecommenderOptions> options, IOptions<S3Options> s3, ILogger<SnapshotSource> logger)
    {
        _logger = logger;
        var artifacts = options.Value.ArtifactsDir;
        if (S3Address.IsS3(artifacts))
        {
            var address = S3Address.Parse(artifacts, $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.ArtifactsDir)}");
            _client = s3.Value.CreateClient();
            Remote = new S3SnapshotStore(_client, address, s3.Value, logger);
            LocalRoot = CacheRoot(s3.Value, address);
        }
        else
        {
            LocalRoot = Path.GetFullPath(artifacts);
        }
    }

    /// <summary>The snapshot root on this machine that is served (and that a retrain writes into).</summary>
    public string LocalRoot { get; }

    /// <summary>The object store snapshots are published to and followed from; null for local folders.</summary>
    public S3SnapshotStore? Remote { get; }

    /// <summary>The local cache root of an s3:// address: CacheDir/BUCKET/PREFIX.</summary>
    public static string CacheRoot(S3Options s3, S3Address address) =>
        Path.GetFullPath(Path.Combine(s3.CacheDir, address.Bucket, address.Prefix.Length == 0 ? "_" : address.Prefix));

    /// <summary>Publishes a snapshot written under <see cref="LocalRoot"/> to the remote store (nothing for local folders).</summary>
    public async Task PublishAsync(string snapshotDir, CancellationToken cancellation)
    {
        if (Remote is not null)
        {
            await Remote.PublishAsync(snapshotDir, cancellation);
        }
    }

    public void Dispose() => _client?.Dispose();
}

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
                Memory.CompactLargeObjects(); // the replaced snapshot
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
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "snapshot {Id} from {Location} is now serving")]
    private static partial void LogSwapped(ILogger logger, string id, string location);

    [LoggerMessage(Level = LogLevel.Error, Message = "snapshot {Id} refused: {Reason}; the serving snapshot stays")]
    private static partial void LogRefused(ILogger logger, string id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not follow {Location}: {Reason}; the serving snapshot stays")]
    private static partial void LogPollFailed(ILogger logger, string location, string reason);
}
