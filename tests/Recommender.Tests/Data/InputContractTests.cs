using Microsoft.Extensions.Logging.Abstractions;
using ParquetSharp;
using Recommender.Data;
using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Data;

public class InputContractTests
{
    [Test]
    public void Catalog_IsReadInDenseOrderWithHandCountedQuality()
    {
        var dir = TinyData.Create();
        var catalog = TrackCatalog.Read(dir);

        Assert.That(catalog.Items.RawIds.ToArray(), Is.EqualTo(new long[] { 100, 200, 300, 400 }));
        Assert.That(catalog.Albums.Of(1).ToArray(), Is.EqualTo(new long[] { 10, 11 }));
        Assert.That(catalog.Genres.Of(0).ToArray(), Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(catalog.TrackName(0), Is.EqualTo("Alpha"));
        Assert.That(catalog.NameOf(CatalogTypes.Genre, 99), Is.EqualTo("other_genre_99"));
        var q = catalog.Quality;
        Assert.Multiple(() =>
        {
            Assert.That(q.TrackRows, Is.EqualTo(4));
            Assert.That(q.CatalogRows, Is.EqualTo(13));
            Assert.That(q.DuplicateCatalogKeys, Is.EqualTo(1), "(2, genre) twice");
            Assert.That(q.IdsSharedAcrossTypes, Is.EqualTo(2), "100 track+album, 20 artist+genre");
            Assert.That(q.TracksWithoutName, Is.EqualTo(1), "400");
            Assert.That(q.EmptyAlbums, Is.EqualTo(1));
            Assert.That(q.EmptyArtists, Is.EqualTo(1));
            Assert.That(q.EmptyGenres, Is.EqualTo(1));
            Assert.That(q.GenresWithoutName, Is.EqualTo(new long[] { 99 }));
            Assert.That(q.TracksWithUnnamedGenre, Is.EqualTo(1));
        });
    }

    [Test]
    public void Interactions_AreGroupedByUserWithUnknownTracksDropped()
    {
        var dir = TinyData.Create();
        var data = DataPreparation.Load(dir, NullLogger.Instance);
        var log = data.Events;

        Assert.That(log.Users.RawIds.ToArray(), Is.EqualTo(new long[] { 3, 5, 7 }));
        Assert.That(log.ItemsOf(2).ToArray(), Is.EqualTo(new[] { 0, 1, 2 }), "user 7 in track_seq order");
        Assert.That(log.ItemsOf(0).ToArray(), Is.EqualTo(new[] { 1 }), "user 3 keeps 200, loses 999");
        Assert.That(log.DaysOf(1)[0], Is.EqualTo(EdaReport.DayOf(new DateOnly(2022, 2, 15))));
        Assert.That(data.Quality.Interactions.UnknownTrackEvents, Is.EqualTo(1));
        Assert.That(data.Quality.Interactions.Rows, Is.EqualTo(6));
        Assert.That(data.Quality.TracksNeverPlayed, Is.EqualTo(1));
    }

    [Test]
    public void Interactions_OutOfOrderRowsAreSortedByTrackSeq()
    {
        var dir = TinyData.Create(TinyParquet.Int16(Columns.TrackSeq, 3, 2, 1, 1, 2, 1));
        var log = DataPreparation.Load(dir, NullLogger.Instance).Events;
        Assert.That(log.ItemsOf(2).ToArray(), Is.EqualTo(new[] { 2, 1, 0 }));
        Assert.That(log.Seqs.AsSpan(log.UserOffsets[2], 3).ToArray(), Is.EqualTo(new[] { 1, 2, 3 }));
    }

    private static IEnumerable<TestCaseData> Variants()
    {
        var epoch = new DateOnly(1970, 1, 1).DayNumber;
        yield return new TestCaseData(TinyParquet.Int64(Columns.UserId, TinyData.Users)).SetName("user_id int64");
        yield return new TestCaseData(TinyParquet.Int64(Columns.TrackId, TinyData.Tracks)).SetName("track_id int64");
        yield return new TestCaseData(TinyParquet.Int64(Columns.TrackSeq, TinyData.Seqs)).SetName("track_seq int64");
        yield return new TestCaseData(TinyParquet.Date32(Columns.StartedAt, TinyData.Dates.Select(d => (long?)(d.DayNumber - epoch)).ToArray())).SetName("started_at date32");
        yield return new TestCaseData(TinyParquet.Timestamp(Columns.StartedAt, TimeUnit.Nanos, TinyData.Dates)).SetName("started_at timestamp ns");
        yield return new TestCaseData(TinyParquet.Timestamp(Columns.StartedAt, TimeUnit.Millis, TinyData.Dates)).SetName("started_at timestamp ms");
    }

    [TestCaseSource(nameof(Variants))]
    public void Interactions_AcceptEveryPhysicalTypeOfTheExport(TinyColumn variant)
    {
        var expected = DataPreparation.Load(TinyData.Create(), NullLogger.Instance).Events;
        var actual = DataPreparation.Load(TinyData.Create(variant), NullLogger.Instance).Events;
        Assert.That(actual.Items, Is.EqualTo(expected.Items));
        Assert.That(actual.Days, Is.EqualTo(expected.Days));
        Assert.That(actual.Seqs, Is.EqualTo(expected.Seqs));
        Assert.That(actual.Users.RawIds.ToArray(), Is.EqualTo(expected.Users.RawIds.ToArray()));
    }

    [Test]
    public void IdMap_SaveLoadRoundTrips()
    {
        var map = IdMap.FromIds([101_521_819, 5, 53404, 5]);
        var path = Path.Combine(TestPaths.NewTempDir(), FileNames.ItemIds);
        map.Save(path);
        var loaded = IdMap.Load(path);
        Assert.That(loaded.RawIds.ToArray(), Is.EqualTo(new long[] { 5, 53404, 101_521_819 }));
        Assert.That(loaded.IndexOf(53404), Is.EqualTo(1));
        Assert.That(loaded.IndexOf(6), Is.EqualTo(-1));
    }
}
