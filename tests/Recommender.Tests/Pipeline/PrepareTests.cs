using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ParquetSharp;
using Recommender.Data;
using Recommender.Host.Cli;
using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

public class PrepareTests
{
    private string _out = "";

    [OneTimeSetUp]
    public async Task RunPrepare()
    {
        var data = TinyData.Create();
        _out = Path.Combine(TestPaths.NewTempDir(), "prepared");
        var exit = await RecommenderCli.RunAsync(["prepare", "--data", data, "--out", _out, "--eda-window-start", "2022-02-01"], new StringWriter(), new StringWriter());
        Assert.That(exit, Is.EqualTo(0));
    }

    [Test]
    public void WritesEveryReportAndTable()
    {
        string[] expected = [FileNames.QualityJson, FileNames.QualityMarkdown, FileNames.EdaJson, FileNames.EdaMarkdown, FileNames.Items, FileNames.Events,
            FileNames.UserIds, FileNames.ItemIds, "eda_monthly.png", "eda_events_per_user.png", "eda_events_per_track.png", "eda_top_genres.png"];
        Assert.That(Directory.GetFiles(_out).Select(Path.GetFileName), Is.EquivalentTo(expected));
        var png = File.ReadAllBytes(Path.Combine(_out, "eda_monthly.png"));
        Assert.That(png[1..4], Is.EqualTo("PNG"u8.ToArray()));
    }

    [Test]
    public void QualityReport_HandCountedFigures()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out, FileNames.QualityJson)));
        var root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("tracks_never_played").GetInt64(), Is.EqualTo(1));
            Assert.That(root.GetProperty("interactions").GetProperty("unknown_track_events").GetInt64(), Is.EqualTo(1));
            Assert.That(root.GetProperty("interactions").GetProperty("duplicate_events").GetInt64(), Is.EqualTo(0));
            Assert.That(root.GetProperty("interactions").GetProperty("distinct_days").GetInt32(), Is.EqualTo(5), "six rows, one dropped, all on different days");
            Assert.That(root.GetProperty("catalog").GetProperty("genres_without_name")[0].GetInt64(), Is.EqualTo(99));
        });
        var md = File.ReadAllText(Path.Combine(_out, FileNames.QualityMarkdown));
        Assert.That(md, Does.Contain("| tracks nobody played | 1 |").And.Contain("| first day | 2022-01-05 |").And.Contain("| last day | 2022-02-15 |"));
    }

    [Test]
    public void Eda_HandCountedFigures()
    {
        var data = DataPreparation.Load(TinyData.Create(), NullLogger.Instance);
        var eda = Eda.Compute(data, new DateOnly(2022, 2, 1));
        Assert.That(eda.Monthly, Is.EqualTo(new[] { new MonthActivity("2022-01", 1, 2), new MonthActivity("2022-02", 3, 3) }));
        Assert.That(eda.EventsPerUser, Is.EqualTo(new Distribution(1, 5.0 / 3, 1, 1, 3, 3, 3, 3)));
        Assert.That(eda.EventsPerTrack.Max, Is.EqualTo(2));
        Assert.That(eda.EventsPerTrack.Min, Is.EqualTo(0), "track 400 is never played");
        Assert.That(eda.TopArtists, Is.EqualTo(new[] { new NamedCount("Ann", 4), new NamedCount("Bob", 2) }));
        Assert.That(eda.TopGenres, Is.EqualTo(new[] { new NamedCount("pop", 2), new NamedCount("rock", 2), new NamedCount("other_genre_99", 1) }));
        Assert.That(eda.TopTracks[0], Is.EqualTo(new NamedCount("Alpha", 2)));
        // Since 2022-02-01: 300 (user 7), 200 (user 3), 100 (user 5).
        Assert.That(eda.TopTracksWindow.Select(t => t.Count), Is.EqualTo(new long[] { 1, 1, 1 }));
        Assert.That(eda.TopArtistsWindow, Is.EqualTo(new[] { new NamedCount("Ann", 2), new NamedCount("Bob", 1) }));
    }

    [Test]
    public void ItemsTable_HasNamesWithoutRepeatsAndNormalizedCounts()
    {
        using var file = new ParquetFileReader(Path.Combine(_out, FileNames.Items));
        using var rg = file.RowGroup(0);
        var ids = rg.Column(0).LogicalReader<long>().ReadAll(4);
        var albums = rg.Column(1).LogicalReader<string[]>().ReadAll(4);
        var genres = rg.Column(3).LogicalReader<string[]>().ReadAll(4);
        var names = rg.Column(4).LogicalReader<string>().ReadAll(4);
        var users = rg.Column(5).LogicalReader<int>().ReadAll(4);
        var norm = rg.Column(6).LogicalReader<double>().ReadAll(4);
        Assert.That(ids, Is.EqualTo(new long[] { 100, 200, 300, 400 }));
        Assert.That(albums[1], Is.EqualTo(new[] { "A10", "A11" }));
        Assert.That(genres[0], Is.EqualTo(new[] { "pop" }), "genre 1 listed twice, named once");
        Assert.That(genres[2], Is.EqualTo(new[] { "other_genre_99" }));
        Assert.That(names, Is.EqualTo(new[] { "Alpha", "Beta", "Gamma", "track_400" }));
        Assert.That(users, Is.EqualTo(new[] { 2, 2, 1, 0 }));
        Assert.That(norm, Is.EqualTo(new[] { 1.0, 1.0, 0.5, 0.0 }));
    }

    [Test]
    public void EventsTable_ByUserInHistoryOrder()
    {
        using var file = new ParquetFileReader(Path.Combine(_out, FileNames.Events));
        using var rg = file.RowGroup(0);
        var rows = (int)rg.MetaData.NumRows;
        var users = rg.Column(0).LogicalReader<long>().ReadAll(rows);
        var items = rg.Column(1).LogicalReader<long>().ReadAll(rows);
        var seqs = rg.Column(2).LogicalReader<short>().ReadAll(rows);
        var started = rg.Column(3).LogicalReader<DateTime>().ReadAll(rows);
        var norm = rg.Column(4).LogicalReader<double>().ReadAll(rows);
        var listened = rg.Column(5).LogicalReader<bool>().ReadAll(rows);
        Assert.That(users, Is.EqualTo(new long[] { 3, 5, 7, 7, 7 }));
        Assert.That(items, Is.EqualTo(new long[] { 200, 100, 100, 200, 300 }));
        Assert.That(seqs, Is.EqualTo(new short[] { 1, 1, 1, 2, 3 }));
        Assert.That(started[4], Is.EqualTo(new DateTime(2022, 2, 1)));
        Assert.That(norm[4], Is.EqualTo(0.5));
        Assert.That(listened, Is.All.True);
    }
}
