using Recommender.Data;
using Recommender.Serving;
using Recommender.Snapshots;
using Recommender.Tests.Host;

namespace Recommender.Tests.Serving;

public sealed class TrackTableTests
{
    [Test]
    public void Tracks_read_back_as_added_with_each_artist_and_genre_name_stored_once()
    {
        var builder = new TrackTable.Builder();
        builder.Add("Intro", ["Björk"], ["pop", "electronic"]);
        builder.Add("", [], []);
        builder.Add("Hyperballad", ["Björk", "björk"], ["electronic"]);
        builder.Add("Жёлтый", ["Кино"], ["rock"]);
        var tracks = builder.Build();

        Assert.That(tracks.Count, Is.EqualTo(4));
        Assert.That(Enumerable.Range(0, 4).Select(tracks.Name), Is.EqualTo(new[] { "Intro", "", "Hyperballad", "Жёлтый" }));
        Assert.That(tracks.Artists(2), Is.EqualTo(new[] { "Björk", "björk" }), "names compare by ordinal: case is kept");
        Assert.That(tracks.Artists(1), Is.Empty);
        Assert.That(tracks.Genres(0), Is.EqualTo(new[] { "pop", "electronic" }));
        Assert.That(tracks[3], Is.EqualTo(new TrackInfo("Жёлтый", ["Кино"], ["rock"])).Using<TrackInfo>(Same));
        Assert.That((tracks.DistinctArtists, tracks.DistinctGenres), Is.EqualTo((3, 3)));
        Assert.That(TrackTable.Empty.Count, Is.Zero);
    }

    [Test]
    public void A_snapshot_holds_every_row_of_its_items_parquet()
    {
        var dir = new SnapshotStore(ServiceData.CopyArtifacts()).RequireCurrent();
        var tracks = ServingSnapshot.Load(dir).Tracks;

        // The obvious way: every row's strings as the parquet reader gives them.
        using var input = ParquetInput.Open(Path.Combine(dir, FileNames.Items));
        var expected = new List<TrackInfo>();
        for (var g = 0; g < input.RowGroupRows.Length; g++)
        {
            var names = input.ReadStrings(g, Columns.Name);
            var artists = input.ReadStringLists(g, Columns.Artists);
            var genres = input.ReadStringLists(g, Columns.Genres);
            expected.AddRange(names.Select((n, r) => new TrackInfo(n ?? "", artists[r], genres[r])));
        }

        Assert.That(tracks.Count, Is.EqualTo(expected.Count).And.GreaterThan(100));
        Assert.That(Enumerable.Range(0, tracks.Count).Select(i => tracks[i]), Is.EqualTo(expected).Using<TrackInfo>(Same));
        Assert.That(tracks.DistinctArtists, Is.LessThan(expected.Sum(t => t.Artists.Length)), "repeated artists stored once");
    }

    private static bool Same(TrackInfo a, TrackInfo b) => a.Name == b.Name && a.Artists.SequenceEqual(b.Artists) && a.Genres.SequenceEqual(b.Genres);
}
