using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

/// <summary>The real MovieLens 100K data in the export's schema.</summary>
public class MovieLensTests
{
    [Test]
    public void Prepare_ReadsTheRealDataset()
    {
        var data = DataPreparation.Load(TestPaths.MovieLens, NullLogger.Instance);
        Assert.That(data.Events.NumUsers, Is.EqualTo(943));
        Assert.That(data.Catalog.Items.Count, Is.EqualTo(1682));
        Assert.That(data.Events.NumEvents, Is.EqualTo(100_000));
        Assert.That(data.Quality.Interactions.DuplicateEvents, Is.Zero);
        Assert.That(EdaReport.DateOf(data.Quality.Interactions.FirstDay), Is.EqualTo(new DateOnly(1997, 9, 20)));
        Assert.That(EdaReport.DateOf(data.Quality.Interactions.LastDay), Is.EqualTo(new DateOnly(1998, 4, 22)));
        Assert.That(data.Catalog.Albums.CountOf(0), Is.Zero);

        var outDir = TestPaths.NewTempDir();
        DataPreparation.Write(data, outDir, NullLogger.Instance);
        Assert.That(File.ReadAllText(Path.Combine(outDir, "eda.md")), Does.Contain("| 1997-09 |"));
    }
}
