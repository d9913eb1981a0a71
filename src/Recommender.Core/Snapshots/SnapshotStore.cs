using System.Globalization;
using System.Runtime.InteropServices;

namespace Recommender.Snapshots;

/// <summary>
/// Versioned snapshots under ROOT/snapshots/ID, with ROOT/current a symbolic link to the newest
/// complete one. A snapshot is written in a hidden temporary folder and renamed when whole; the
/// link is replaced by renaming a new link over it, so readers see the old or the new snapshot.
/// </summary>
public sealed class SnapshotStore(string root)
{
    public const string CurrentLink = "current";

    public string Root { get; } = Path.GetFullPath(root);
    public string SnapshotsDir => Path.Combine(Root, "snapshots");

    /// <summary>Names the process building a snapshot, so that a later run can tell an abandoned folder from a live one.</summary>
    public const string OwnerFile = ".owner";

    /// <summary>
    /// A new empty folder for a snapshot under construction, and its future id. Unfinished folders
    /// left by runs that died (killed, power loss) are removed first.
    /// </summary>
    public (string Id, string TempDir) Begin()
    {
        RemoveAbandoned();
        var id = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
        var temp = Path.Combine(SnapshotsDir, $".tmp-{id}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            File.WriteAllText(Path.Combine(temp, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        }
        catch
        {
            Abort(temp); // e.g. the disk is already full
            throw;
        }

        return (id, temp);
    }

    /// <summary>Removes .tmp folders whose owner process is gone (or, without an owner file, older than a day).</summary>
    public void RemoveAbandoned()
    {
        if (!Directory.Exists(SnapshotsDir))
        {
            return;
        }

        foreach (var dir in Directory.GetDirectories(SnapshotsDir, ".tmp-*"))
        {
            var owner = Path.Combine(dir, OwnerFile);
            var abandoned = File.Exists(owner)
                ? int.TryParse(File.ReadAllText(owner), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid)
                : Directory.GetCreationTimeUtc(dir) < DateTime.UtcNow.AddDays(-1);
            if (abandoned)
            {
                Abort(dir);
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
    }

    /// <summary>Publishes a finished snapshot and points current at it.</summary>
    public string Commit(string id, string tempDir)
    {
        var final = Path.Combine(SnapshotsDir, id);
        if (Directory.Exists(final))
        {
            final = Path.Combine(SnapshotsDir, $"{id}-{Guid.NewGuid().ToString("N")[..6]}");
        }

        File.Delete(Path.Combine(tempDir, OwnerFile));
        Directory.Move(tempDir, final);
        PointCurrentAt(final);
        return final;
    }

    /// <summary>
    /// Points current at a published snapshot folder of this store: after a commit, or back at the
    /// serving snapshot when a newly published one is refused.
    /// </summary>
    public void PointCurrentAt(string snapshotDir)
    {
        var full = Path.GetFullPath(snapshotDir);
        if (!string.Equals(Path.GetDirectoryName(full), SnapshotsDir, StringComparison.Ordinal) || !Directory.Exists(full))
        {
            throw new ArgumentException($"{full} is not a snapshot folder of {SnapshotsDir}", nameof(snapshotDir));
        }

        var link = Path.Combine(Root, CurrentLink);
        var tempLink = Path.Combine(Root, $".{CurrentLink}-{Guid.NewGuid():N}");
        File.CreateSymbolicLink(tempLink, Path.Combine("snapshots", Path.GetFileName(full)));
        // rename(2) replaces the old link atomically (File.Move would follow the link to a directory).
        if (NativeMethods.Rename(tempLink, link) != 0)
        {
            File.Delete(tempLink);
            throw new IOException($"could not point {link} at {full} (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>
    /// Removes published snapshots but the newest <paramref name="keep"/> (ids sort by time) and the
    /// one current points to; returns the removed folders.
    /// </summary>
    public IReadOnlyList<string> Prune(int keep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        if (!Directory.Exists(SnapshotsDir))
        {
            return [];
        }

        var current = Current();
        var published = Directory.GetDirectories(SnapshotsDir).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        var removed = published.Take(Math.Max(0, published.Count - keep)).Where(d => !string.Equals(d, current, StringComparison.Ordinal)).ToList();
        foreach (var dir in removed)
        {
            Directory.Delete(dir, recursive: true);
        }

        return removed;
    }

    public static void Abort(string tempDir)
    {
        if (Directory.Exists(tempDir))
        {
            Directory.Delete(tempDir, recursive: true);
        }
    }

    /// <summary>The folder current points to; <see cref="SnapshotNotFoundException"/> when there is none.</summary>
    public string RequireCurrent() =>
        Current() ?? throw new SnapshotNotFoundException($"no snapshot at {Path.Combine(Root, CurrentLink)}: run 'train --out {Root}' first");

    /// <summary>The folder current points to, or null when no snapshot was published yet.</summary>
    public string? Current()
    {
        var link = Path.Combine(Root, CurrentLink);
        if (!File.Exists(link) && !Directory.Exists(link))
        {
            return null;
        }

        var target = new DirectoryInfo(link).ResolveLinkTarget(returnFinalTarget: true);
        return target?.FullName ?? Path.GetFullPath(link);
    }
}

/// <summary>No published snapshot where one is needed.</summary>
public sealed class SnapshotNotFoundException(string message) : Exception(message);

internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int Rename(string from, string to);
}
