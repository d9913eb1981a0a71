using Microsoft.Extensions.Logging.Abstractions;
using ParquetSharp;
using Recommender.Data;
using Recommender.Generation;
using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Generation;

public class GeneratorTests
{
    private static readonly GeneratorOptions Small = new() { Users = 1500, Tracks = 1200, Seed = 7, UsersPerChunk = 500 };

    private static string Generate(GeneratorOptions options)
    {
        var dir = TestPaths.NewTempDir();
        new SyntheticGenerator(options, NullLogger.Instance).Generate(dir);
        return dir;
    }

    [Test]
    public void SameSeed_SameBytes_OtherSeed_OtherData()
    {
        var a = Generate(Small);
        var b = Generate(Small);
        var c = Generate(Small with { Seed = 8 });
        foreach (var file in new[] { FileNames.Tracks, FileNames.Catalog, FileNames.Interactions })
        {
            Assert.That(File.ReadAllBytes(Path.Combine(b, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, file))), file);
        }

        Assert.That(File.ReadAllBytes(Path.Combine(c, FileNames.Interactions)), Is.Not.EqualTo(File.ReadAllBytes(Path.Combine(a, FileNames.Interactions))));
    }

    [Test]
    public void Schema_MatchesTheExport()
    {
        var dir = Generate(Small);
        using var interactions = new ParquetFileReader(Path.Combine(dir, FileNames.Interactions));
        var s = interactions.FileMetaData.Schema;
        var described = Enumerable.Range(0, s.NumColumns).Select(i => $"{s.Column(i).Name}:{s.Column(i).PhysicalType}:{s.Column(i).LogicalType}").ToArray();
        Assert.That(described[0], Does.StartWith("user_id:Int32:Int(bitWidth=32"));
        Assert.That(described[1], Does.StartWith("track_id:Int32:Int(bitWidth=32"));
        Assert.That(described[2], Does.StartWith("track_seq:Int32:Int(bitWidth=16"));
        Assert.That(described[3], Does.StartWith("started_at:Int64:Timestamp(isAdjustedToUTC=false, timeUnit=microseconds"));
        Assert.That(described[4], Does.StartWith("__index_level_0__:Int64"));
        Assert.That(interactions.FileMetaData.NumRowGroups, Is.EqualTo(3), "one row group per 500 users");
        using var tracks = new ParquetFileReader(Path.Combine(dir, FileNames.Tracks));
        Assert.That(tracks.FileMetaData.Schema.Column(1).Path.ToDotString(), Is.EqualTo("albums.list.element"));
    }

    [Test]
    public void Data_HasTheExportsShape()
    {
        var data = DataPreparation.Load(Generate(Small), NullLogger.Instance);
        var events = data.Events;
        var listeners = events.ItemUserCounts();
        var q = data.Quality;
        Assert.Multiple(() =>
        {
            Assert.That(listeners.Min(), Is.GreaterThanOrEqualTo(5), "every track has five listeners");
            Assert.That(q.Interactions.DuplicateEvents, Is.Zero);
            Assert.That(q.Interactions.UnknownTrackEvents, Is.Zero);
            Assert.That(q.Catalog.GenresWithoutName, Has.Length.EqualTo(30).Or.Length.LessThan(30).And.Length.GreaterThan(5));
            Assert.That(q.Catalog.IdsSharedAcrossTypes, Is.GreaterThan(0));
            Assert.That(q.Catalog.EmptyArtists, Is.GreaterThan(0));
            Assert.That(data.Catalog.Items.RawIds[^1], Is.GreaterThan(50L * data.Catalog.Items.Count), "sparse track ids");
            Assert.That(EdaReport.DateOf(q.Interactions.FirstDay), Is.EqualTo(new DateOnly(2022, 1, 1)));
            Assert.That(EdaReport.DateOf(q.Interactions.LastDay), Is.EqualTo(new DateOnly(2022, 12, 31)));
        });

        // The most played track is "Smells Like Teen Spirit" with the export's id.
        var top = Array.IndexOf(listeners, listeners.Max());
        Assert.That(data.Catalog.Items.RawId(top), Is.EqualTo(53404));

        // Growth over the year and users who first appear in the test period (cold users).
        var eda = Eda.Compute(data);
        Assert.That(eda.Monthly[10].Events, Is.GreaterThan(3 * eda.Monthly[0].Events));
        var split = EdaReport.DayOf(new DateOnly(2022, 12, 16));
        var cold = Enumerable.Range(0, events.NumUsers).Count(u => events.DaysOf(u)[0] >= split);
        Assert.That(cold, Is.GreaterThan(0));
        Assert.That(eda.EventsPerUser.Median, Is.InRange(25, 120));
    }
}
