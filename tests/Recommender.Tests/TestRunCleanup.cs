using Recommender.Tests.Support;

namespace Recommender.Tests;

/// <summary>Runs once around every test in the assembly: removes the run's scratch folder.</summary>
[SetUpFixture]
public sealed class TestRunCleanup
{
    [OneTimeTearDown]
    public void RemoveScratch()
    {
        if (Directory.Exists(TestPaths.RunRoot))
        {
            Directory.Delete(TestPaths.RunRoot, recursive: true);
        }
    }
}
