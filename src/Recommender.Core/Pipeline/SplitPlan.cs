namespace Recommender.Pipeline;

/// <summary>The dates a run uses, as days since 1970-01-01.</summary>
public sealed record SplitPlan(int FirstDay, int LastDay, int? SplitDay, int FitEndDay)
{
    public static readonly DateOnly SeedSplit = new(2022, 12, 16);

    /// <summary>
    /// Split: the given date, else the seed's 2022-12-16 when the data spans it, else the day that
    /// leaves about 10% of the events after it.
    /// </summary>
    public static SplitPlan Choose(Data.EventLog events, DateOnly? splitDate, bool allEvents)
    {
        var (first, last) = events.DayRange();
        int? split = null;
        if (!allEvents)
        {
            var seed = EdaReport.DayOf(SeedSplit);
            split = splitDate is { } s ? EdaReport.DayOf(s) : seed > first && seed <= last ? seed : QuantileDay(events, first, last + 1, 0.90);
            if (split <= first || split > last)
            {
                throw new ArgumentException($"--split-date {EdaReport.DateOf(split.Value):yyyy-MM-dd} leaves no events on one side (data spans {EdaReport.DateOf(first):yyyy-MM-dd}..{EdaReport.DateOf(last):yyyy-MM-dd})");
            }
        }

        return new SplitPlan(first, last, split, split ?? last + 1);
    }

    /// <summary>The first day d such that the events in [first, d) are at least <paramref name="q"/> of those in [first, end).</summary>
    internal static int QuantileDay(Data.EventLog events, int first, int end, double q)
    {
        var perDay = new long[Math.Max(1, end - first)];
        for (var u = 0; u < events.NumUsers; u++)
        {
            foreach (var d in events.DaysOf(u))
            {
                if (d >= first && d < end)
                {
                    perDay[d - first]++;
                }
            }
        }

        var total = perDay.Sum();
        long running = 0;
        for (var i = 0; i < perDay.Length; i++)
        {
            running += perDay[i];
            if (running >= q * total)
            {
                return first + i + 1;
            }
        }

        return end;
    }
}
