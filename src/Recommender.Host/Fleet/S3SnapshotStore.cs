using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using Recommender.Data;
using Recommender.Snapshots;
using Recommender.Host.Configuration;

namespace Recommender.Host.Fleet;

/// <summary>
/// Snapshots in object storage: PREFIX/snapshots/ID/FILE for each file of a local snapshot, and
/// PREFIX/current, a small object holding the id that is served. A snapshot is uploaded whole
/// (every part's MD5 checked against the ETag the server returns) before current names it, so a
/// half-uploaded snapshot is never pointed to; a download is verified against the manifest's
/// XXH3 checksums before it can serve.
/// </summary>
public sealed partial class S3SnapshotStore(IAmazonS3 client, S3Address location, S3Options options, ILogger logger)
{
    public const string CurrentKey = "current";
    public const string SnapshotsFolder = "snapshots";

    public S3Address Location { get; } = location;

    private string SnapshotKey(string id, string file) => Location.Key($"{SnapshotsFolder}/{id}/{file}");

    /// <summary>Uploads a local snapshot folder as ID (its folder name), then points current at it and prunes old ones.</summary>
    /// <param name="fence">
    /// called after the upload, right before current moves; it throws when this publisher may no
    /// longer publish (its retrain lease was lost), and the upload is then removed and current stays.
    /// </param>
    public async Task<string> PublishAsync(string snapshotDir, CancellationToken cancellation = default, Action? fence = null)
    {
        var id = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(snapshotDir)));
        // Never upload a damaged snapshot; what goes up is exactly what its manifest lists.
        var names = SnapshotIntegrity.Verify(snapshotDir).Files.Select(f => f.Name).ToList();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long bytes = 0;
        // Two files at a time: each part is already a large sequential transfer.
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellation }, async (name, ct) =>
        {
            Interlocked.Add(ref bytes, await UploadFileAsync(Path.Combine(snapshotDir, name), SnapshotKey(id, name), ct));
        });

        // The manifest goes last: a listing with a manifest is a complete upload.
        bytes += await UploadFileAsync(Path.Combine(snapshotDir, FileNames.Manifest), SnapshotKey(id, FileNames.Manifest), cancellation);
        try
        {
            fence?.Invoke();
        }
        catch
        {
            await DeleteSnapshotAsync(id, cancellation); // never pointed to: nobody downloads it
            throw;
        }

        await PutTextAsync(Location.Key(CurrentKey), id, cancellation);
        LogPublished(logger, id, Location.ToString(), bytes / 1048576.0, watch.Elapsed.TotalSeconds);
        await PruneAsync(id, cancellation);
        return id;
    }

    /// <summary>The id current names, or null when nothing was published.</summary>
    public async Task<string?> CurrentIdAsync(CancellationToken cancellation = default)
    {
        try
        {
            using var response = await client.GetObjectAsync(Location.Bucket, Location.Key(CurrentKey), cancellation);
            using var reader = new StreamReader(response.ResponseStream, Encoding.UTF8);
            var id = (await reader.ReadToEndAsync(cancellation)).Trim();
            return id.Length == 0 ? null : id;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Published snapshot ids, oldest first (ids are UTC timestamps).</summary>
    public async Task<IReadOnlyList<string>> ListIdsAsync(CancellationToken cancellation = default)
    {
        var root = Location.Key(SnapshotsFolder) + "/";
        var ids = new List<string>();
        string? token = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Location.Bucket, Prefix = root, Delimiter = "/", ContinuationToken = token }, cancellation);
            ids.AddRange((page.CommonPrefixes ?? []).Select(p => p[root.Length..].TrimEnd('/')));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>
    /// Downloads snapshot ID into a local snapshot store (a temporary folder, verified, then renamed)
    /// and points its current at it; returns the local folder. A damaged download is removed and
    /// reported as a <see cref="DataException"/> naming the file.
    /// </summary>
    public async Task<string> DownloadAsync(string id, SnapshotStore local, CancellationToken cancellation = default)
    {
        var existing = Path.Combine(local.SnapshotsDir, id);
        if (Directory.Exists(existing))
        {
            SnapshotIntegrity.Verify(existing);
            local.PointCurrentAt(existing);
            return existing;
        }

        var (_, temp) = local.Begin();
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var prefix = SnapshotKey(id, string.Empty);
            var keys = new List<string>();
            string? token = null;
            do
            {
                var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Location.Bucket, Prefix = prefix, ContinuationToken = token }, cancellation);
                keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
                token = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (token is not null);
            if (!keys.Contains(prefix + FileNames.Manifest))
            {
                throw new DataException($"{Location}/{SnapshotsFolder}/{id}", null, "the snapshot has no manifest in the bucket: its upload is incomplete");
            }

            long bytes = 0;
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancellation }, async (key, ct) =>
            {
                var name = key[prefix.Length..];
                if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
                {
                    return; // not a file of this snapshot
                }

                using var response = await client.GetObjectAsync(Location.Bucket, key, ct);
                await using (var file = new FileStream(Path.Combine(temp, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true))
                {
                    await response.ResponseStream.CopyToAsync(file, 1 << 20, ct);
                }

                Interlocked.Add(ref bytes, response.ContentLength);
            });
            SnapshotIntegrity.Verify(temp);
            var final = local.Commit(id, temp);
            LogDownloaded(logger, id, final, bytes / 1048576.0, watch.Elapsed.TotalSeconds);
            return final;
        }
        catch
        {
            SnapshotStore.Abort(temp);
            throw;
        }
    }

    /// <summary>Removes all but the newest Retention snapshots, never the current one.</summary>
    private async Task PruneAsync(string current, CancellationToken cancellation)
    {
        var ids = await ListIdsAsync(cancellation);
        foreach (var old in ids.Take(Math.Max(0, ids.Count - options.Retention)).Where(i => i != current))
        {
            await DeleteSnapshotAsync(old, cancellation);
            LogPruned(logger, old, Location.ToString());
        }
    }

    private async Task DeleteSnapshotAsync(string id, CancellationToken cancellation)
    {
        var prefix = SnapshotKey(id, string.Empty);
        string? token = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Location.Bucket, Prefix = prefix, ContinuationToken = token }, cancellation);
            foreach (var o in page.S3Objects ?? [])
            {
                await client.DeleteObjectAsync(Location.Bucket, o.Key, cancellation);
            }

            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    private async Task PutTextAsync(string key, string text, CancellationToken cancellation)
    {
        var body = Encoding.UTF8.GetBytes(text);
        using var stream = new MemoryStream(body);
        var digest = MD5.HashData(body);
        var response = await client.PutObjectAsync(new PutObjectRequest { BucketName = Location.Bucket, Key = key, InputStream = stream, MD5Digest = Convert.ToBase64String(digest), UseChunkEncoding = false }, cancellation);
        CheckETag(key, response.ETag, Convert.ToHexStringLower(digest));
    }

    /// <summary>One file, in one request or in parts; every part's MD5 is checked against the server's ETag.</summary>
    private async Task<long> UploadFileAsync(string path, string key, CancellationToken cancellation)
    {
        var length = new FileInfo(path).Length;
        var partSize = (long)options.PartSizeMb << 20;
        if (length <= partSize)
        {
            var body = await File.ReadAllBytesAsync(path, cancellation);
            using var stream = new MemoryStream(body);
            var digest = MD5.HashData(body);
            var response = await client.PutObjectAsync(new PutObjectRequest { BucketName = Location.Bucket, Key = key, InputStream = stream, MD5Digest = Convert.ToBase64String(digest), UseChunkEncoding = false }, cancellation);
            CheckETag(key, response.ETag, Convert.ToHexStringLower(digest));
            return length;
        }

        var upload = await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = Location.Bucket, Key = key }, cancellation);
        try
        {
            var etags = new List<PartETag>();
            var buffer = new byte[partSize];
            using var md5OfMd5s = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            using var md5OfFile = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
            for (var part = 1; ; part++)
            {
                var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellation);
                if (read == 0)
                {
                    break;
                }

                var digest = MD5.HashData(buffer.AsSpan(0, read));
                md5OfMd5s.AppendData(digest);
                md5OfFile.AppendData(buffer.AsSpan(0, read));
                using var stream = new MemoryStream(buffer, 0, read, writable: false);
                var response = await client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = Location.Bucket, Key = key, UploadId = upload.UploadId, PartNumber = part, InputStream = stream, PartSize = read,
                    MD5Digest = Convert.ToBase64String(digest), UseChunkEncoding = false, IsLastPart = file.Position == length,
                }, cancellation);
                CheckETag($"{key} part {part}", response.ETag, Convert.ToHexStringLower(digest));
                etags.Add(new PartETag(part, response.ETag));
            }

            var done = await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = Location.Bucket, Key = key, UploadId = upload.UploadId, PartETags = etags }, cancellation);
            // S3 and MinIO answer a multipart upload with the MD5 of the parts' MD5s, "-" and the part
            // count; some compatible servers (s3rver) with the whole object's MD5. Either checks the content.
            var s3Style = $"{Convert.ToHexStringLower(md5OfMd5s.GetHashAndReset())}-{etags.Count.ToString(CultureInfo.InvariantCulture)}";
            var whole = Convert.ToHexStringLower(md5OfFile.GetHashAndReset());
            CheckETag(key, done.ETag, string.Equals(done.ETag?.Trim('"'), whole, StringComparison.OrdinalIgnoreCase) ? whole : s3Style);
            return length;
        }
        catch (Exception e)
        {
            await AbortQuietlyAsync(key, upload.UploadId, e);
            throw;
        }
    }

    /// <summary>Frees a failed upload's parts; a server without AbortMultipartUpload must not hide the first error.</summary>
    private async Task AbortQuietlyAsync(string key, string uploadId, Exception cause)
    {
        try
        {
            await client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Location.Bucket, Key = key, UploadId = uploadId }, CancellationToken.None);
        }
        catch (AmazonS3Exception e)
        {
            LogAbortFailed(logger, key, e.Message, cause.Message);
        }
    }

    private static void CheckETag(string what, string? etag, string expected)
    {
        if (!string.Equals(etag?.Trim('"'), expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException($"upload of {what}: the server's ETag {etag} does not match the local MD5 {expected}");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "snapshot {Id} published to {Location}: {Megabytes:F0} MB in {Seconds:F1} s; current names it")]
    private static partial void LogPublished(ILogger logger, string id, string location, double megabytes, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "snapshot {Id} downloaded to {Directory}: {Megabytes:F0} MB in {Seconds:F1} s, checksums verified")]
    private static partial void LogDownloaded(ILogger logger, string id, string directory, double megabytes, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "upload of {Key} failed ({Cause}) and its parts could not be freed: {Error}")]
    private static partial void LogAbortFailed(ILogger logger, string key, string error, string cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "snapshot {Id} pruned from {Location} (retention)")]
    private static partial void LogPruned(ILogger logger, string id, string location);
}
