using Recommender.Numerics;

namespace Recommender.Data;

/// <summary>
/// Ranked lists as CSR over dense row indexes (users, or items for neighbour tables): row r's list
/// is Items/Scores[Offsets[r]..Offsets[r+1]], best first; a row without a list has an empty range.
/// Saved as (row id, item id, score, rank) with raw ids, rows in id order.
/// </summary>
public class ScoredLists
{
    public ScoredLists(int[] offsets, int[] items, float[] scores)
    {
        Offsets = offsets;
        Items = items;
        Scores = scores;
    }

    public int[] Offsets { get; }
    public int[] Items { get; }
    public float[] Scores { get; }
    public int Rows => Offsets.Length - 1;

    public ReadOnlySpan<int> ItemsOf(int row) => (uint)row < (uint)Rows ? Items.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]) : [];

    public ReadOnlySpan<float> ScoresOf(int row) => (uint)row < (uint)Rows ? Scores.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]) : [];

    public static (int[] Offsets, int[] Items, float[] Scores) Flatten(ScoredItem[]?[] lists)
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

        return (offsets, items, scores);
    }

    protected void Save(string path, IdMap rowIds, IdMap items, string rowColumn, string itemColumn)
    {
        using var output = new ParquetOutput(path,
        [
            new(rowColumn, ColumnKind.Int64),
            new(itemColumn, ColumnKind.Int64),
            new(Columns.Score, ColumnKind.Float),
            new(Columns.Rank, ColumnKind.Int32),
        ]);
        const int RowsPerGroup = 1 << 21;
        var u = 0;
        do
        {
            var from = Offsets[u];
            var end = u;
            while (end < Rows && Offsets[end + 1] - from <= RowsPerGroup)
            {
                end++;
            }

            end = Math.Max(end, Math.Min(Rows, u + 1));
            var rows = Offsets[end] - from;
            var userIds = new long[rows];
            var itemIds = new long[rows];
            var ranks = new int[rows];
            Parallel.For(u, end, user =>
            {
                for (var p = Offsets[user]; p < Offsets[user + 1]; p++)
                {
                    userIds[p - from] = rowIds.RawId(user);
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
        while (u < Rows);

        output.Commit();
    }

    protected static (int[] Offsets, int[] Items, float[] Scores) Read(string path, IdMap users, IdMap items, string rowColumn, string itemColumn)
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
            input.ReadIntegers(g, rowColumn, userIds.AsSpan(at, n));
            input.ReadIntegers(g, itemColumn, itemIds.AsSpan(at, n));
            input.ReadFloats(g, Columns.Score, scores.AsSpan(at, n));
            at += n;
        }

        var offsets = new int[users.Count + 1];
        var dense = new int[rows];
        var previous = -1;
        var previousRaw = long.MinValue;
        for (var r = 0; r < rows; r++)
        {
            // Rows come grouped: look a row id up once per group.
            var u = userIds[r] == previousRaw ? previous : users.IndexOf(userIds[r]);
            previousRaw = userIds[r];
            var i = items.IndexOf(itemIds[r]);
            if (u < 0 || i < 0)
            {
                throw new DataException(path, u < 0 ? rowColumn : itemColumn, $"row {r}: id {(u < 0 ? userIds[r] : itemIds[r])} is not in the id map");
            }

            if (u < previous)
            {
                throw new DataException(path, rowColumn, $"row {r}: rows must be grouped by {rowColumn} in id order");
            }

            previous = u;
            offsets[u + 1]++;
            dense[r] = i;
        }

        for (var u = 0; u < users.Count; u++)
        {
            offsets[u + 1] += offsets[u];
        }

        return (offsets, dense, scores);
    }
}

/// <summary>Per-user ranked lists (personal_als.parquet, recommendations.parquet).</summary>
public sealed class RecommendationTable : ScoredLists
{
    private RecommendationTable((int[] Offsets, int[] Items, float[] Scores) csr)
        : base(csr.Offsets, csr.Items, csr.Scores)
    {
    }

    public static RecommendationTable FromLists(ScoredItem[]?[] lists) => new(Flatten(lists));

    public void Save(string path, IdMap users, IdMap items) => Save(path, users, items, Columns.UserId, Columns.ItemId);

    public static RecommendationTable Load(string path, IdMap users, IdMap items) => new(Read(path, users, items, Columns.UserId, Columns.ItemId));
}
