using Recommender.Data;
using Recommender.Host.Cli;
using Recommender.Tests.Support;

namespace Recommender.Tests.Data;

/// <summary>Every kind of bad input fails prepare with a message naming file and column, and writes nothing.</summary>
public class BadInputTests
{
    private static async Task<(int Exit, string Error, string OutDir)> Prepare(string dataDir)
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "prepared");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["prepare", "--data", dataDir, "--out", outDir], stdout, stderr);
        return (exit, stderr.ToString(), outDir);
    }

    private static void AssertNothingWritten(string outDir) =>
        Assert.That(!Directory.Exists(outDir) || Directory.GetFiles(outDir).Length == 0, $"files left in {outDir}");

    [Test]
    public async Task MissingFile()
    {
        var dir = TinyData.Create();
        File.Delete(Path.Combine(dir, FileNames.Interactions));
        var (exit, error, outDir) = await Prepare(dir);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("interactions.parquet").And.Contain("not found"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task MissingColumn()
    {
        var (exit, error, outDir) = await Prepare(TinyData.Create(dropColumn: Columns.TrackSeq));
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("interactions.parquet").And.Contain("'track_seq'").And.Contain("missing"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task WrongColumnType()
    {
        // started_at as a plain integer, not a date or timestamp.
        var (exit, error, outDir) = await Prepare(TinyData.Create(TinyParquet.Int64(Columns.StartedAt, 1, 2, 3, 4, 5, 6)));
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("interactions.parquet").And.Contain("'started_at'").And.Contain("expected date32 or timestamp"));
        AssertNothingWritten(outDir);
    }

    /// <summary>The log holds days in 16 bits from 1970-01-01: a listen outside them is refused by name, not wrapped.</summary>
    [TestCase(-1L, "1969-12-31")]
    [TestCase(65_536L, "2149-06-07")]
    public async Task ListenOutsideTheDaysTheLogHolds(long day, string date)
    {
        var (exit, error, outDir) = await Prepare(TinyData.Create(TinyParquet.Date32(Columns.StartedAt, 19_000, 19_001, day, 19_002, 19_003, 19_004)));
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("interactions.parquet").And.Contain("'started_at'").And.Contain(date).And.Contain("1970-01-01 to 2149-06-06"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task StringWhereAnIdBelongs()
    {
        var dir = TinyData.Create();
        using (var output = new ParquetOutput(Path.Combine(dir, FileNames.Tracks), [new(Columns.TrackId, ColumnKind.String), new(Columns.Albums, ColumnKind.Int64List), new(Columns.Artists, ColumnKind.Int64List), new(Columns.Genres, ColumnKind.Int64List)]))
        {
            output.BeginRowGroup();
            output.WriteStrings(["x"]);
            output.WriteInt64Lists([0, 0], []);
            output.WriteInt64Lists([0, 0], []);
            output.WriteInt64Lists([0, 0], []);
            output.Commit();
        }

        var (exit, error, outDir) = await Prepare(dir);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("tracks.parquet").And.Contain("'track_id'").And.Contain("expected an integer column"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task CorruptFile()
    {
        var dir = TinyData.Create();
        await File.WriteAllTextAsync(Path.Combine(dir, FileNames.Catalog), "this is not parquet at all, just text");
        var (exit, error, outDir) = await Prepare(dir);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("catalog_names.parquet").And.Contain("not a readable parquet file"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task NullUserId()
    {
        var (exit, error, outDir) = await Prepare(TinyData.Create(TinyParquet.Int32(Columns.UserId, 7, 7, null, 3, 3, 5)));
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("interactions.parquet").And.Contain("'user_id'").And.Contain("1 nulls"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task DuplicateEvents()
    {
        // User 7 plays track 100 twice.
        var (exit, error, outDir) = await Prepare(TinyData.Create(TinyParquet.Int32(Columns.TrackId, 100, 200, 100, 200, 999, 100)));
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitBadData));
        Assert.That(error, Does.Contain("interactions.parquet").And.Contain("user_id, track_id").And.Contain("1 duplicate events"));
        AssertNothingWritten(outDir);
    }

    [Test]
    public async Task UnknownOptionIsAUsageError()
    {
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["prepare", "--dta", "x"], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(stderr.ToString(), Does.Contain("--dta"));
    }
}
