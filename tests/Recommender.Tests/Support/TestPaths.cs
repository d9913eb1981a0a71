namespace Recommender.Tests.Support;

internal static class TestPaths
{
    /// <summary>The repository root (the folder holding Recommender.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Recommender.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Recommender.sln not found above the test directory");
        }
    }

    /// <summary>shared/data/ml-100k beside the repository (read-only); skips the test where it is missing.</summary>
    public static string MovieLens => Require.SharedData("ml-100k");

    /// <summary>This test run's scratch root; removed when the run ends.</summary>
    public static readonly string RunRoot = Path.Combine(Path.GetTempPath(), "rec-tests", $"{Environment.ProcessId}-{Guid.NewGuid():N}");

    public static string NewTempDir()
    {
        var dir = Path.Combine(RunRoot, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
