using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;

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

    /// <summary>Held while this replica publishes and swaps, or follows the store: one snapshot change at a time.</summary>
    public SemaphoreSlim SwapGate { get; } = new(1, 1);

    /// <summary>The local cache root of an s3:// address: CacheDir/BUCKET/PREFIX.</summary>
    public static string CacheRoot(S3Options s3, S3Address address) =>
        Path.GetFullPath(Path.Combine(s3.CacheDir, address.Bucket, address.Prefix.Length == 0 ? "_" : address.Prefix));

    /// <summary>Publishes a snapshot written under <see cref="LocalRoot"/> to the remote store (nothing for local folders).</summary>
    /// <param name="fence">throws when this replica may no longer publish (<see cref="S3SnapshotStore.PublishAsync"/>).</param>
    public async Task PublishAsync(string snapshotDir, CancellationToken cancellation, Action? fence = null)
    {
        if (Remote is not null)
        {
            await Remote.PublishAsync(snapshotDir, cancellation, fence);
        }
    }

    public void Dispose()
    {
        _client?.Dispose();
        SwapGate.Dispose();
    }
}
