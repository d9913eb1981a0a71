using Recommender.Numerics;
namespace Recommender.Data;

/// <summary>
/// Listening events grouped by dense user index: user u owns positions
/// <see cref="Start"/>(u)..<see cref="End"/>(u) of <see cref="Items"/>, <see cref="Days"/> and
/// <see cref="Seqs"/> (the log as read only), in the order of the user's history (track_seq).
/// The log as read is contiguous (CSR: <see cref="UserOffsets"/>); a <see cref="Slice"/> of a log
/// whose rows run in day order is a view on the same arrays (its own starts and ends), so the
/// split's and the validation's event sets cost 8 bytes per user instead of 8 per event. Days are
/// 16-bit (days since 1970-01-01, up to 2149-06-06): 2 bytes per event instead of 4.
/// </summary>
public sealed class EventLog
{
    private readonly int[] _starts;
    private readonly int[]? _ends; // null: contiguous, user u ends where u + 1 starts
    private int _dayOrdered; // 0: not checked yet, 1: every row runs in day order, -1: some row does not

    public EventLog(IdMap users, int numItems, int[] userOffsets, int[] items, ushort[] days, int[]? seqs)
    {
        if (userOffsets.Length != users.Count + 1 || items.Length != days.Length || (seqs is not null && items.Length != seqs.Length) || userOffsets[^1] != items.Length)
        {
            throw new ArgumentException("inconsistent event arrays");
        }

        Users = users;
        NumItems = numItems;
        _starts = userOffsets;
        Items = items;
        Days = days;
        Seqs = seqs;
        NumEvents = items.Length;
    }

    private EventLog(EventLog of, int[] starts, int[] ends, long events)
    {
        Users = of.Users;
        NumItems = of.NumItems;
        _starts = starts;
        _ends = ends;
        Items = of.Items;
        Days = of.Days;
        NumEvents = checked((int)events);
        _dayOrdered = 1;
    }

    public IdMap Users { get; }
    public int NumItems { get; }
    public int NumUsers => Users.Count;
    public int NumEvents { get; }

    /// <summary>True when the users' rows fill <see cref="Items"/> back to back (the log as read, or a copied slice); false for a view.</summary>
    public bool IsContiguous => _ends is null;

    /// <summary>The CSR offsets of a contiguous log (users + 1 entries); a view has none.</summary>
    public int[] UserOffsets => _ends is null ? _starts : throw new InvalidOperationException("a slice view of the event log has per-user starts and ends, not CSR offsets: use Start(u) and End(u)");

    /// <summary>The backing track indexes: index them with <see cref="Start"/>..<see cref="End"/> (a view shares the whole log's array).</summary>
    public int[] Items { get; }

    /// <summary>Days since 1970-01-01 (<see cref="MaxDay"/> at most), beside <see cref="Items"/>.</summary>
    public ushort[] Days { get; }

    /// <summary>The last day a log holds: 2149-06-06, the largest 16-bit day number.</summary>
    public const int MaxDay = ushort.MaxValue;

    /// <summary>
    /// Each event's track_seq, for events.parquet: held by the log as read, null in slices. The
    /// history order is already the position within the user's row.
    /// </summary>
    public int[]? Seqs { get; }

    public int Start(int user) => _starts[user];

    public int End(int user) => _ends is null ? _starts[user + 1] : _ends[user];

    /// <summary>The same events without <see cref="Seqs"/> (sharing the other arrays), so that the track_seq array can be collected.</summary>
    public EventLog WithoutSeqs() => _ends is null ? new(Users, NumItems, _starts, Items, Days, seqs: null) : this;

    public ReadOnlySpan<int> ItemsOf(int user) => Items.AsSpan(Start(user), End(user) - Start(user));

    public ReadOnlySpan<ushort> DaysOf(int user) => Days.AsSpan(Start(user), End(user) - Start(user));

    public int CountOf(int user) => End(user) - Start(user);

    public (int Min, int Max) DayRange()
    {
        int min = int.MaxValue, max = int.MinValue;
        for (var u = 0; u < NumUsers; u++)
        {
            foreach (var d in DaysOf(u))
            {
                min = Math.Min(min, d);
                max = Math.Max(max, d);
            }
        }

        return NumEvents == 0 ? (0, -1) : (min, max);
    }

    /// <summary>True when every user's listens run in day order (checked once): then a slice by days is a contiguous run of each row.</summary>
    public bool IsDayOrdered
    {
        get
        {
            if (_dayOrdered == 0)
            {
                var ordered = 1;
                Parallel.For(0, NumUsers, Cores.Options(), (u, loop) =>
                {
                    var days = DaysOf(u);
                    for (var e = 1; e < days.Length; e++)
                    {
                        if (days[e] < days[e - 1])
                        {
                            ordered = -1;
                            loop.Stop();
                            return;
                        }
                    }
                });
                _dayOrdered = ordered;
            }

            return _dayOrdered == 1;
        }
    }

    /// <summary>
    /// The events whose day lies in [fromDay, toDay), keeping the same user and item index
    /// spaces so that models fitted on a slice line up with the full log. A view on the same
    /// arrays when <see cref="IsDayOrdered"/>, a copy otherwise.
    /// </summary>
    public EventLog Slice(int fromDay, int toDay) => IsDayOrdered ? View(fromDay, toDay) : Copy(fromDay, toDay);

    private EventLog View(int fromDay, int toDay)
    {
        var starts = new int[NumUsers];
        var ends = new int[NumUsers];
        long events = 0;
        for (var u = 0; u < NumUsers; u++)
        {
            var days = DaysOf(u);
            var from = LowerBound(days, fromDay);
            var to = Math.Max(from, LowerBound(days, toDay));
            starts[u] = Start(u) + from;
            ends[u] = Start(u) + to;
            events += to - from;
        }

        return new EventLog(this, starts, ends, events);
    }

    // The first position whose day is at least `day` in a day-ordered row.
    private static int LowerBound(ReadOnlySpan<ushort> days, int day)
    {
        int lo = 0, hi = days.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (days[mid] < day)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The slice as its own contiguous arrays (what <see cref="Slice"/> returns when some row is not in day order).</summary>
    internal EventLog Copy(int fromDay, int toDay)
    {
        var offsets = new int[NumUsers + 1];
        for (var u = 0; u < NumUsers; u++)
        {
            var count = 0;
            foreach (var d in DaysOf(u))
            {
                count += d >= fromDay && d < toDay ? 1 : 0;
            }

            offsets[u + 1] = offsets[u] + count;
        }

        var items = new int[offsets[^1]];
        var days = new ushort[items.Length];
        Parallel.For(0, NumUsers, Cores.Options(), u =>
        {
            var at = offsets[u];
            for (int e = Start(u), end = End(u); e < end; e++)
            {
                if (Days[e] >= fromDay && Days[e] < toDay)
                {
                    items[at] = Items[e];
                    days[at++] = Days[e];
                }
            }
        });
        return new EventLog(Users, NumItems, offsets, items, days, seqs: null);
    }

    /// <summary>Distinct listeners per item (the log holds each (user, item) pair once).</summary>
    public int[] ItemUserCounts()
    {
        // One count array per core over its share of the users, then summed: the same counts.
        var parts = Math.Max(1, Math.Min(Cores.Count, NumEvents / (1 << 20)));
        var partial = new int[parts][];
        Parallel.For(0, parts, Cores.Options(), part =>
        {
            var counts = new int[NumItems];
            for (var u = (int)((long)NumUsers * part / parts); u < (int)((long)NumUsers * (part + 1) / parts); u++)
            {
                foreach (var i in ItemsOf(u))
                {
                    counts[i]++;
                }
            }

            partial[part] = counts;
        });
        for (var part = 1; part < parts; part++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(partial[0], partial[part], partial[0]);
        }

        return partial[0];
    }
}
