using System.Globalization;
using System.Text;
using System.Text.Json;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Pipeline;

public sealed record NamedCount(string Name, long Count);

public sealed record MonthActivity(string Month, long Users, long Events);

public sealed record Distribution(long Min, double Mean, long Q25, long Median, long Q75, long P90, long P99, long Max)
{
    /// <summary>Nearest-rank quantiles of a sample.</summary>
    public static Distribution Of(int[] values)
    {
        if (values.Length == 0)
        {
            return new Distribution(0, 0, 0, 0, 0, 0, 0, 0);
        }

        var sorted = (int[])values.Clone();
        Array.Sort(sorted);
        long Q(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Distribution(sorted[0], sorted.Average(v => (double)v), Q(0.25), Q(0.5), Q(0.75), Q(0.9), Q(0.99), sorted[^1]);
    }
}

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

public static class Eda
{
    /// <param name="windowStart">Start of the "recent" window; defaults to three months before the last day.</param>
    public static EdaReport Compute(PreparedData data, DateOnly? windowStart = null)
    {
        var events = data.Events;
        var catalog = data.Catalog;
        var (first, last) = events.DayRange();
        var windowFrom = windowStart is { } w ? EdaReport.DayOf(w) : EdaReport.DayOf(EdaReport.DateOf(last).AddMonths(-3).AddDays(1));

        // Months as an index from the first month of the data.
        var firstMonth = EdaReport.DateOf(first);
        var months = ((EdaReport.DateOf(last).Year - firstMonth.Year) * 12) + EdaReport.DateOf(last).Month - firstMonth.Month + 1;
        months = Math.Max(months, 0);
        var dayToMonth = new int[Math.Max(0, last - first + 1)];
        for (var d = first; d <= last; d++)
        {
            var date = EdaReport.DateOf(d);
            dayToMonth[d - first] = ((date.Year - firstMonth.Year) * 12) + date.Month - firstMonth.Month;
        }

        var monthEvents = new long[months];
        var monthUsers = new long[months];
        var lockObj = new object();
        Parallel.For(0, events.NumUsers, Cores.Options(), () => (Events: new long[months], Users: new long[months], Seen: new bool[months]), (u, _, local) =>
        {
            Array.Clear(local.Seen);
            foreach (var d in events.DaysOf(u))
            {
                var m = dayToMonth[d - first];
                local.Events[m]++;
                if (!local.Seen[m])
                {
                    local.Seen[m] = true;
                    local.Users[m]++;
                }
            }

            return local;
        }, local =>
        {
            lock (lockObj)
            {
                for (var m = 0; m < months; m++)
                {
                    monthEvents[m] += local.Events[m];
                    monthUsers[m] += local.Users[m];
                }
            }
        });

        var monthly = Enumerable.Range(0, months)
            .Select(m => new MonthActivity(firstMonth.AddMonths(m).ToString("yyyy-MM", CultureInfo.InvariantCulture), monthUsers[m], monthEvents[m]))
            .ToList();

        var all = data.ItemListeners;
        var recent = new int[events.NumItems];
        for (var e = 0; e < events.NumEvents; e++)
        {
            if (events.Days[e] >= windowFrom)
            {
                recent[events.Items[e]]++;
            }
        }

        var perUser = new int[events.NumUsers];
        for (var u = 0; u < perUser.Length; u++)
        {
            perUser[u] = events.CountOf(u);
        }

        return new EdaReport(
            monthly,
            EdaReport.DateOf(windowFrom).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            TopTracks(catalog, all),
            TopGrouped(catalog, all, catalog.Artists, CatalogTypes.Artist),
            TopGrouped(catalog, all, catalog.Genres, CatalogTypes.Genre),
            TopTracks(catalog, recent),
            TopGrouped(catalog, recent, catalog.Artists, CatalogTypes.Artist),
            TopGrouped(catalog, recent, catalog.Genres, CatalogTypes.Genre),
            Distribution.Of(perUser),
            Distribution.Of(all),
            perUser.LongCount(c => c <= 10),
            perUser.LongCount(c => c == 11))
        {
            PerUserHistogram = perUser,
            PerTrackHistogram = all,
        };
    }

    private static List<NamedCount> TopTracks(TrackCatalog catalog, int[] counts) =>
        Enumerable.Range(0, counts.Length)
            .Where(i => counts[i] > 0)
            .OrderByDescending(i => counts[i]).ThenBy(i => i)
            .Take(EdaReport.TopN)
            .Select(i => new NamedCount(catalog.TrackName(i), counts[i]))
            .ToList();

    /// <summary>Listens summed over every artist (or genre) a track carries, repeated ids counted once.</summary>
    private static List<NamedCount> TopGrouped(TrackCatalog catalog, int[] counts, IdLists lists, string type)
    {
        var totals = new Dictionary<long, long>();
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] == 0)
            {
                continue;
            }

            var ids = lists.Of(i);
            for (var j = 0; j < ids.Length; j++)
            {
                if (ids[..j].Contains(ids[j]))
                {
                    continue;
                }

                totals[ids[j]] = totals.GetValueOrDefault(ids[j]) + counts[i];
            }
        }

        return totals.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
            .Take(EdaReport.TopN)
            .Select(kv => new NamedCount(catalog.NameOf(type, kv.Key), kv.Value))
            .ToList();
    }
}
