using System.Globalization;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Pipeline;

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
        for (var u = 0; u < events.NumUsers; u++)
        {
            for (int e = events.Start(u), end = events.End(u); e < end; e++)
            {
                if (events.Days[e] >= windowFrom)
                {
                    recent[events.Items[e]]++;
                }
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
