using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>Tracks ranked by distinct listeners in a window: the seed's top popular.</summary>
public sealed class PopularModel : IRecommenderModel
{
    public PopularModel(int[] items, int[] users, ItemDescriptions? descriptions = null)
    {
        Items = items;
        Users = users;
        Descriptions = descriptions;
    }

    public string Name => "popular";

    /// <summary>Dense item indexes, most listened first.</summary>
    public int[] Items { get; }

    /// <summary>Distinct listeners of <see cref="Items"/>[r] in the window.</summary>
    public int[] Users { get; }

    /// <summary>Names and all-time popularity written beside the ranking (the seed's columns); blank when absent (a loaded model).</summary>
    public ItemDescriptions? Descriptions { get; }

    /// <summary>Ranks every item listened to in [fromDay, toDay); ties go to the lower index.</summary>
    public static PopularModel Fit(EventLog events, int fromDay, int toDay, int keep = 1000, ItemDescriptions? descriptions = null)
    {
        var counts = new int[events.NumItems];
        for (var u = 0; u < events.NumUsers; u++)
        {
            for (int e = events.Start(u), end = events.End(u); e < end; e++)
            {
                var d = events.Days[e];
                if (d >= fromDay && d < toDay)
                {
                    counts[events.Items[e]]++;
                }
            }
        }

        var top = new TopK(Math.Min(keep, events.NumItems));
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                top.Add(i, counts[i]);
            }
        }

        var ranked = top.ToArray();
        return new PopularModel(ranked.Select(s => s.Item).ToArray(), ranked.Select(s => (int)s.Score).ToArray(), descriptions);
    }

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var n = 0;
        var top = Users.Length == 0 ? 1f : Users[0];
        for (var r = 0; r < Items.Length && n < k; r++)
        {
            if (!history.Contains(Items[r]))
            {
                destination[n++] = new ScoredItem(Items[r], Users[r] / top);
            }
        }

        return n;
    }

    public void Save(string dir, ArtifactIds ids)
    {
        using var output = new ParquetOutput(Path.Combine(dir, FileNames.TopPopular), Tables.TopPopular);
        output.BeginRowGroup();
        output.WriteInt64(Items.Select(i => ids.Items.RawId(i)).ToArray());
        output.WriteInt32(Users);
        var top = Users.Length == 0 ? 1.0 : Users[0];
        var norm = Users.Select(u => u / top).ToArray();
        output.WriteDouble(norm);
        var d = Descriptions;
        output.WriteDouble(Items.Select(i => d?.NumUsersNorm(i) ?? 0).ToArray());
        output.WriteStrings(Items.Select(i => d?.Name(i) ?? string.Empty).ToArray());
        output.WriteStringLists(Items.Select(i => d?.Albums(i) ?? []).ToArray());
        output.WriteStringLists(Items.Select(i => d?.Artists(i) ?? []).ToArray());
        output.WriteStringLists(Items.Select(i => d?.Genres(i) ?? []).ToArray());
        output.WriteDouble(norm);
        output.WriteInt32(Enumerable.Range(1, Items.Length).ToArray());
        output.Commit();
    }

    public static PopularModel Load(string dir, ArtifactIds ids)
    {
        var path = Path.Combine(dir, FileNames.TopPopular);
        using var input = ParquetInput.Open(path);
        var raw = new long[input.NumRows];
        var users = new long[input.NumRows];
        var at = 0;
        for (var g = 0; g < input.RowGroupRows.Length; g++)
        {
            var rows = (int)input.RowGroupRows[g];
            input.ReadIntegers(g, Columns.ItemId, raw.AsSpan(at, rows));
            input.ReadIntegers(g, Columns.UsersTop, users.AsSpan(at, rows));
            at += rows;
        }

        var items = raw.Select(r => ids.Items.IndexOf(r) is var i && i >= 0 ? i : throw new DataException(path, Columns.ItemId, $"track {r} is not in the id map")).ToArray();
        return new PopularModel(items, users.Select(u => (int)u).ToArray());
    }
}
