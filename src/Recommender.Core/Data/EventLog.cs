using Recommender.Numerics;
namespace Recommender.Data;

/// <summary>
/// Listening events grouped by dense user index (CSR): user u owns positions
/// UserOffsets[u]..UserOffsets[u+1] of <see cref="Items"/>, <see cref="Days"/> and
/// <see cref="Seqs"/> (the log as read only), in the order of the user's history (track_seq).
/// </summary>
public sealed class EventLog
{
    public EventLog(IdMap users, int numItems, int[] userOffsets, int[] items, int[] days, int[]? seqs)
    {
        if (userOffsets.Length != users.Count + 1 || items.Length != days.Length || (seqs is not null && items.Length != seqs.Length) || userOffsets[^1] != items.Length)
        {
            throw new ArgumentException("inconsistent event arrays");
        }

        Users = users;
        NumItems = numItems;
        UserOffsets = userOffsets;
        Items = items;
        Days = days;
        Seqs = seqs;
    }

    public IdMap Users { get; }
    public int NumItems { get; }
    public int NumUsers => Users.Count;
    public int NumEvents => Items.Length;
    public int[] UserOffsets { get; }
    public int[] Items { get; }

    /// <summary>Days since 1970-01-01.</summary>
    public int[] Days { get; }

    /// <summary>
    /// Each event's track_seq, for events.parquet: held by the log as read, null in slices. The
    /// history order is already the position within the user's row, and the split's copies are
    /// the largest arrays of a run (4 bytes × 416M events at full size, before and in the
    /// validation window).
    /// </summary>
    public int[]? Seqs { get; }

    /// <summary>The same events without <see cref="Seqs"/> (sharing the other arrays), so that the track_seq array can be collected.</summary>
    public EventLog WithoutSeqs() => new(Users, NumItems, UserOffsets, Items, Days, seqs: null);

    public ReadOnlySpan<int> ItemsOf(int user) => Items.AsSpan(UserOffsets[user], UserOffsets[user + 1] - UserOffsets[user]);

    public ReadOnlySpan<int> DaysOf(int user) => Days.AsSpan(UserOffsets[user], UserOffsets[user + 1] - UserOffsets[user]);

    public int CountOf(int user) => UserOffsets[user + 1] - UserOffsets[user];

    public (int Min, int Max) DayRange()
    {
        int min = int.MaxValue, max = int.MinValue;
        foreach (var d in Days)
        {
            min = Math.Min(min, d);
            max = Math.Max(max, d);
        }

        return Items.Length == 0 ? (0, -1) : (min, max);
    }

    /// <summary>
    /// The events whose day lies in [fromDay, toDay), keeping the same user and item index
    /// spaces so that models fitted on a slice line up with the full log.
    /// </summary>
    public EventLog Slice(int fromDay, int toDay)
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
        var days = new int[items.Length];
        Parallel.For(0, NumUsers, Cores.Options(), u =>
        {
            var at = offsets[u];
            for (var e = UserOffsets[u]; e < UserOffsets[u + 1]; e++)
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
        // One count array per core over its share of the events, then summed: the same counts.
        var parts = Math.Max(1, Math.Min(Cores.Count, NumEvents / (1 << 20)));
        var partial = new int[parts][];
        Parallel.For(0, parts, Cores.Options(), part =>
        {
            var counts = new int[NumItems];
            foreach (var i in Items.AsSpan((int)((long)NumEvents * part / parts), (int)(((long)NumEvents * (part + 1) / parts) - ((long)NumEvents * part / parts))))
            {
                counts[i]++;
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
