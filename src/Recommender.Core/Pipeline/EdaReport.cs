using System.Globalization;
using System.Text;
using System.Text.Json;
using Recommender.Data;

namespace Recommender.Pipeline;

/// <summary>Exploratory statistics of the prepared data, with charts.</summary>
public sealed record EdaReport(
    IReadOnlyList<MonthActivity> Monthly,
    string WindowStart,
    IReadOnlyList<NamedCount> TopTracks,
    IReadOnlyList<NamedCount> TopArtists,
    IReadOnlyList<NamedCount> TopGenres,
    IReadOnlyList<NamedCount> TopTracksWindow,
    IReadOnlyList<NamedCount> TopArtistsWindow,
    IReadOnlyList<NamedCount> TopGenresWindow,
    Distribution EventsPerUser,
    Distribution EventsPerTrack,
    long UsersWithAtMost10Events,
    long UsersWithExactly11Events)
{
    public const int TopN = 10;

    private static readonly int Epoch = new DateOnly(1970, 1, 1).DayNumber;

    public static DateOnly DateOf(int day) => DateOnly.FromDayNumber(Epoch + day);

    public static int DayOf(DateOnly date) => date.DayNumber - Epoch;

    public void Write(string outDir)
    {
        AtomicFile.WriteAllText(Path.Combine(outDir, FileNames.EdaJson), JsonSerializer.Serialize(this, DataPreparation.Json));
        Charts.Monthly(Path.Combine(outDir, FileNames.EdaMonthlyChart), Monthly);
        Charts.LogHistogram(Path.Combine(outDir, FileNames.EdaEventsPerUserChart), "Events per user", PerUserHistogram);
        Charts.LogHistogram(Path.Combine(outDir, FileNames.EdaEventsPerTrackChart), "Listeners per track", PerTrackHistogram);
        Charts.TopBars(Path.Combine(outDir, FileNames.EdaTopGenresChart), "Most played genres (listens)", TopGenres);
        AtomicFile.WriteAllText(Path.Combine(outDir, FileNames.EdaMarkdown), ToMarkdown());
    }

    internal int[] PerUserHistogram { get; init; } = [];
    internal int[] PerTrackHistogram { get; init; } = [];

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# Exploratory data analysis").AppendLine();
        b.AppendLine("## Monthly activity").AppendLine().AppendLine("![monthly](eda_monthly.png)").AppendLine();
        b.AppendLine("| month | active users | events |").AppendLine("|---|---:|---:|");
        foreach (var m in Monthly)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"| {m.Month} | {m.Users:N0} | {m.Events:N0} |");
        }

        b.AppendLine().AppendLine("## Distributions").AppendLine();
        b.AppendLine("| | min | mean | q25 | median | q75 | p90 | p99 | max |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, d) in new[] { ("events per user", EventsPerUser), ("listeners per track", EventsPerTrack) })
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {d.Min:N0} | {d.Mean:N1} | {d.Q25:N0} | {d.Median:N0} | {d.Q75:N0} | {d.P90:N0} | {d.P99:N0} | {d.Max:N0} |");
        }

        b.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Users with at most 10 events: {UsersWithAtMost10Events:N0}; with exactly 11: {UsersWithExactly11Events:N0}.").AppendLine();
        b.AppendLine("![events per user](eda_events_per_user.png) ![listeners per track](eda_events_per_track.png)").AppendLine();
        b.AppendLine("## Most played (distinct listeners)").AppendLine().AppendLine("![genres](eda_top_genres.png)").AppendLine();
        Table(b, "tracks, all time", TopTracks);
        Table(b, "artists, all time", TopArtists);
        Table(b, "genres, all time", TopGenres);
        Table(b, $"tracks since {WindowStart}", TopTracksWindow);
        Table(b, $"artists since {WindowStart}", TopArtistsWindow);
        Table(b, $"genres since {WindowStart}", TopGenresWindow);
        return b.ToString();
    }

    private static void Table(StringBuilder b, string title, IReadOnlyList<NamedCount> rows)
    {
        b.AppendLine(CultureInfo.InvariantCulture, $"### {title}").AppendLine().AppendLine("| # | name | listens |").AppendLine("|---:|---|---:|");
        for (var i = 0; i < rows.Count; i++)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"| {i + 1} | {rows[i].Name} | {rows[i].Count:N0} |");
        }

        b.AppendLine();
    }
}
