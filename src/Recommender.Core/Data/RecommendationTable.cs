using Recommender.Numerics;

namespace Recommender.Data;

/// <summary>
/// Per-user ranked lists as CSR over dense user indexes: user u's list is
/// Items/Scores[Offsets[u]..Offsets[u+1]], best first. Users without a list have an empty range.
/// </summary>
public sealed class RecommendationTable
{
    public RecommendationTable(int[] offsets, int[] items, float[] scores)
    {
        Offsets = offsets;
        Items = items;
        Scores = scores;
    }

    public int[] Offsets { get; }
    public int[] Items { get; }
    public float[] Scores { get; }
    public int Users => Offsets.Length - 1;

    public ReadOnlySpan<int> ItemsOf(int user) => (uint)user < (uint)Users ? Items.AsSpan(Offsets[user], Offsets[user + 1] - Offsets[user]) : [];

    public ReadOnlySpan<float> ScoresOf(int user) => (uint)user < (uint)Users ? Scores.AsSpan(Offsets[user], Offsets[user + 1] - Offsets[user]) : [];

    public static RecommendationTable FromLists(ScoredItem[]?[] lists)
    {
        var offsets = new int[lists.Length + 1];
        for (var u = 0; u < lists.Length; u++)
        {
            offsets[u + 1] = offsets[u] + (lists[u]?.Length ?? 0);
        }

        var items = new int[offsets[^1]];
        var scores = new float[items.Length];
        for (var u = 0; u < lists.Length; u++)
        {
            var list = lists[u];
            for (var r = 0; list is not null && r < list.Length; r++)
            {
                items[offsets[u] + r] = list[r].Item;
                scores[offsets[u] + r] = list[r].Score;
            }
        }

        return new RecommendationTable(offsets, items, scores);
    }

    /// <summary>Writes (user_id, item_id, score, rank) with raw ids, users in id order.</summary>
    public void Save(string path, IdMap users, IdMap items)
    {
        using var output = new ParquetOutput(path,
        [
            new(Columns.UserId, ColumnKind.Int64),
            new(Columns.ItemId, ColumnKind.Int64),
            new(Columns.Score, ColumnKind.Float),
            new(Columns.Rank, ColumnKind.Int32),
        ]);
        const int RowsPerGroup = 1 << 21;
        var u = 0;
        do
        {
            var from = Offsets[u];
            var end = u;
            while (end < Users && Offsets[end + 1] - from <= RowsPerGroup)
            {
                end++;
            }

            end = Math.Max(end, Math.Min(Users, u + 1));
            var rows = Offsets[end] - from;
            var userIds = new long[rows];
            var itemIds = new long[rows];
            var ranks = new int[rows];
            Parallel.For(u, end, user =>
            {
                for (var p = Offsets[user]; p < Offsets[user + 1]; p++)
                {
                    userIds[p - from] = users.RawId(user);
                    itemIds[p - from] = items.RawId(Items[p]);
                    ranks[p - from] = p - Offsets[user] + 1;
                }
            });
            output.BeginRowGroup();
            output.WriteInt64(userIds);
            output.WriteInt64(itemIds);
            output.WriteFloat(Scores.AsSpan(from, rows));
            output.WriteInt32(ranks);
            u = end;
        }
        while (u < Users);

        output.Commit();
    }

    public static RecommendationTable Load(string path, IdMap users, IdMap items)
    {
        using var input = ParquetInput.Open(path);
        var rows = checked((int)input.NumRows);
        var userIds = new long[rows];
        var itemIds = new long[rows];
        var scores = new float[rows];
        var at = 0;
        for (var g = 0; g < input.RowGroupRows.Length; g++)
        {
            var n = (int)input.RowGroupRows[g];
            input.ReadIntegers(g, Columns.UserId, userIds.AsSpan(at, n));
            input.ReadIntegers(g, Columns.ItemId, itemIds.AsSpan(at, n));
            input.ReadFloats(g, Columns.Score, scores.AsSpan(at, n));
            at += n;
        }

        var offsets = new int[users.Count + 1];
        var dense = new int[rows];
        var previous = -1;
        for (var r = 0; r < rows; r++)
        {
            var u = users.IndexOf(userIds[r]);
            var i = items.IndexOf(itemIds[r]);
            if (u < 0 || i < 0)
            {
                throw new DataException(path, u < 0 ? Columns.UserId : Columns.ItemId, $"row {r}: id {(u < 0 ? userIds[r] : itemIds[r])} is not in the id map");
            }

            if (u < previous)
            {
                throw new DataException(path, Columns.UserId, $"row {r}: rows must be grouped by user in id order");
            }

            previous = u;
            offsets[u + 1]++;
            dense[r] = i;
        }

        for (var u = 0; u < users.Count; u++)
        {
            offsets[u + 1] += offsets[u];
        }

        return new RecommendationTable(offsets, dense, scores);
    }
}
