using System.Globalization;
using System.IO.Hashing;
using System.Text.Json.Serialization;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Snapshots;

/// <summary>One file of a snapshot as the manifest records it.</summary>
public sealed record SnapshotFile(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("xxh3")] string XxHash3);

/// <summary>
/// The manifest lists every file of a snapshot with its size and XXH3-64 checksum (a damage check,
/// not a signature: fast enough to verify a multi-gigabyte snapshot at every load). A snapshot is
/// verified before it serves; a missing, resized or altered file is refused, naming the file.
/// </summary>
public static class SnapshotIntegrity
{
    public const string FilesProperty = "files";

    /// <summary>Every file in the folder except the manifest itself and the builder's owner mark, by name.</summary>
    public static IReadOnlyList<SnapshotFile> Describe(string dir)
    {
        var names = Directory.GetFiles(dir)
            .Select(Path.GetFileName)
            .Where(n => n is not (FileNames.Manifest or SnapshotStore.OwnerFile))
            .Order(StringComparer.Ordinal)
            .ToArray();
        var files = new SnapshotFile[names.Length];
        Parallel.For(0, names.Length, Cores.Options(), i =>
        {
            var path = Path.Combine(dir, names[i]!);
            files[i] = new SnapshotFile(names[i]!, new FileInfo(path).Length, Hash(path));
        });
        return files;
    }

    /// <summary>Checks every file the manifest lists and returns the manifest; <see cref="DataException"/> naming the first damaged file.</summary>
    public static SnapshotManifest Verify(string dir)
    {
        var manifest = SnapshotManifest.Read(dir);
        var files = CheckedFiles(manifest, Path.Combine(dir, FileNames.Manifest));
        var failures = new string?[files.Count];
        Parallel.For(0, files.Count, Cores.Options(), i =>
        {
            var f = files[i];
            var path = Path.Combine(dir, f.Name);
            if (!File.Exists(path))
            {
                failures[i] = "is missing";
                return;
            }

            var bytes = new FileInfo(path).Length;
            if (bytes != f.Bytes)
            {
                failures[i] = $"has {bytes:N0} bytes, the manifest records {f.Bytes:N0}";
                return;
            }

            var hash = Hash(path);
            if (!string.Equals(hash, f.XxHash3, StringComparison.OrdinalIgnoreCase))
            {
                failures[i] = $"checksum {hash} does not match the manifest's {f.XxHash3}";
            }
        });
        for (var i = 0; i < files.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                throw new DataException(Path.Combine(dir, files[i].Name), null, $"damaged snapshot file {failure} (snapshot {dir})");
            }
        }

        return manifest;
    }

    private static IReadOnlyList<SnapshotFile> CheckedFiles(SnapshotManifest manifest, string manifestPath)
    {
        var files = manifest.Files;
        if (files.Count == 0)
        {
            throw new DataException(manifestPath, null, $"the manifest lists no files with checksums ('{FilesProperty}'): the snapshot was written by an older version; run train again");
        }

        foreach (var f in files)
        {
            if (string.IsNullOrEmpty(f.Name) || f.Name != Path.GetFileName(f.Name) || string.IsNullOrEmpty(f.XxHash3))
            {
                throw new DataException(manifestPath, null, $"bad entry in '{FilesProperty}': {f}");
            }
        }

        return files;
    }

    private static string Hash(string path)
    {
        var hash = new XxHash3();
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20, FileOptions.SequentialScan))
        {
            hash.Append(stream);
        }

        return hash.GetCurrentHashAsUInt64().ToString("x16", CultureInfo.InvariantCulture);
    }
}
