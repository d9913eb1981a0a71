using System.Diagnostics;

namespace Recommender.Tests.Support;

/// <summary>
/// Tests that need something outside the repository (the shared real datasets; root to mount a
/// small tmpfs) are skipped with the reason where it is missing: a fresh clone, a laptop.
/// RECOMMENDER_REQUIRE=shared,tmpfs (or "all"; .ci/run sets it) turns a missing requirement of
/// those kinds into a failure, so that CI can never skip them silently.
/// </summary>
internal static class Require
{
    public const string Variable = "RECOMMENDER_REQUIRE";
    public const string Shared = "shared";
    public const string Tmpfs = "tmpfs";
    public const string Curl = "curl";
    public const string Fleet = "fleet";

    public static bool Strict(string kind) =>
        (Environment.GetEnvironmentVariable(Variable) ?? "").Split(',', StringSplitOptions.TrimEntries) is var kinds
        && (kinds.Contains("all") || kinds.Contains(kind));

    public static void Missing(string kind, string what)
    {
        var message = $"{what} ({Variable}={kind} makes this a failure, as in .ci/run)";
        if (Strict(kind))
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
    }

    /// <summary>../shared/data/NAME beside the repository (read-only, never copied into it).</summary>
    public static string SharedData(string name)
    {
        var dir = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", name));
        if (!Directory.Exists(dir))
        {
            Missing(Shared, $"needs the real dataset at {dir}: put the shared folder beside the repository (../shared/data/{name})");
        }

        return dir;
    }
}

/// <summary>A tmpfs of a few kilobytes mounted for one test: a real full disk. Needs root (mount).</summary>
internal sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static SmallDisk Mount(int kilobytes)
    {
        var dir = TestPaths.NewTempDir();
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", dir);
        if (code != 0)
        {
            Require.Missing(Require.Tmpfs, $"needs a small tmpfs (mount -t tmpfs, as root) to fill a disk for real: {output.Trim()}");
        }

        return new SmallDisk(dir);
    }

    /// <summary>Fills the disk but for <paramref name="leaveKilobytes"/>; returns the filler's path (delete it to free the space).</summary>
    public string Fill(int leaveKilobytes = 0)
    {
        var filler = System.IO.Path.Combine(Path, $"filler-{Guid.NewGuid():N}");
        using var file = new FileStream(filler, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[512];
        try
        {
            while (true)
            {
                file.Write(block);
            }
        }
        catch (IOException)
        {
            file.SetLength(Math.Max(0, file.Length - (leaveKilobytes * 1024L)));
            return filler;
        }
    }

    public void Dispose() => Run("umount", "-l", Path);

    private static (int Code, string Output) Run(string command, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
