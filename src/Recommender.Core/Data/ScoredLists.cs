using Recommender.Numerics;

namespace Recommender.Data;

/// <summary>
/// Ranked lists as CSR over dense row indexes (users, or items for neighbour tables): row r's list
/// is Items/Scores[Offsets[r]..Offsets[r+1]], best first; a row without a list has an empty range.
/// Saved as (row id, item id, score, rank) with raw ids, rows in id order. Items and Scores may
/// be longer than Offsets[^1] (see <see cref="ScoredListsBuilder"/>); the tail is unused.
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

    protected void Save(string path, IdMap rowIds, IdMap items, IReadOnlyList<ColumnSpec> columns)
    {
        using var output = new ParquetOutput(path, columns);
        const int RowsPerGroup = 1 << 21;
        long[] userIds = [], itemIds = [];
        int[] ranks = [];
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
            if (userIds.Length < rows)
            {
                // One set of column buffers for every row group (a fresh set per group was ~2.6 GB
                // of large-object garbage for the full-size top-100 table).
                (userIds, itemIds, ranks) = (new long[rows], new long[rows], new int[rows]);
            }

            // One thread: files are written side by side (one per core), and the fill is a few
            // percent of the encoding that follows it.
            for (var user = u; user < end; user++)
            {
                for (var p = Offsets[user]; p < Offsets[user + 1]; p++)
                {
                    userIds[p - from] = rowIds.RawId(user);
                    itemIds[p - from] = items.RawId(Items[p]);
                    ranks[p - from] = p - Offsets[user] + 1;
                }
            }
            output.BeginRowGroup();
            output.WriteInt64(userIds.AsSpan(0, rows));
            output.WriteInt64(itemIds.AsSpan(0, rows));
            output.WriteFloat(Scores.AsSpan(from, rows));
            output.WriteInt32(ranks.AsSpan(0, rows));
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

        Csr.CountsToOffsets(offsets);

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

    internal RecommendationTable(ScoredListsBuilder built)
        : this(built.Pack())
    {
    }

    public void Save(string path, IdMap users, IdMap items) => Save(path, users, items, Tables.UserLists);

    public static RecommendationTable Load(string path, IdMap users, IdMap items) => new(Read(path, users, items, Columns.UserId, Columns.ItemId));
}

/// <summary>
/// Collects at most k items per row into fixed slots, in parallel and in any order, then packs
/// them into CSR in place: the table is allocated once, with no per-row arrays and no second copy.
/// </summary>
public sealed class ScoredListsBuilder
{
    private readonly int _rows;
    private readonly int[]? _slotRows;
    private readonly int _k;
    private readonly int[] _counts;
    private int[]? _items;
    private float[]? _scores;

    /// <param name="rows">rows of the finished table.</param>
    /// <param name="slotRows">the rows that get a slot, ascending; null gives every row a slot (slot = row).</param>
    /// <param name="k">the longest list a slot holds.</param>
    public ScoredListsBuilder(int rows, int[]? slotRows, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        for (var s = 0; slotRows is not null && s < slotRows.Length; s++)
        {
            if ((uint)slotRows[s] >= (uint)rows || (s > 0 && slotRows[s] <= slotRows[s - 1]))
            {
                throw new ArgumentException($"slot rows must be ascending, distinct and below {rows}; slot {s} is row {slotRows[s]}", nameof(slotRows));
            }
        }

        _rows = rows;
        _slotRows = slotRows;
        _k = k;
        var slots = slotRows?.Length ?? rows;
        _counts = new int[slots];
        _items = new int[checked(slots * k)];
        _scores = new float[_items.Length];
    }

    public int Slots => _counts.Length;

    public int K => _k;

    /// <summary>Sets one slot's list (best first); slots may be set from many threads at once.</summary>
    public void Set(int slot, ReadOnlySpan<ScoredItem> list)
    {
        if (list.Length > _k)
        {
            throw new ArgumentException($"a list of {list.Length} items does not fit a slot of {_k}", nameof(list));
        }

        var items = _items ?? throw new InvalidOperationException("the builder has been packed");
        var scores = _scores!;
        var at = slot * _k;
        for (var r = 0; r < list.Length; r++)
        {
            items[at + r] = list[r].Item;
            scores[at + r] = list[r].Score;
        }

        _counts[slot] = list.Length;
    }

    /// <summary>Slides every slot's list down to its CSR position; the builder cannot be used afterwards.</summary>
    public (int[] Offsets, int[] Items, float[] Scores) Pack()
    {
        var items = _items ?? throw new InvalidOperationException("the builder has been packed");
        var scores = _scores!;
        _items = null;
        _scores = null;
        var offsets = new int[_rows + 1];
        for (var s = 0; s < _counts.Length; s++)
        {
            offsets[RowOf(s) + 1] = _counts[s];
        }

        Csr.CountsToOffsets(offsets);

        // Slots are in row order, so a list never moves up: a forward pass of overlapping copies is safe.
        for (var s = 0; s < _counts.Length; s++)
        {
            Array.Copy(items, s * _k, items, offsets[RowOf(s)], _counts[s]);
            Array.Copy(scores, s * _k, scores, offsets[RowOf(s)], _counts[s]);
        }

        return (offsets, items, scores);
    }

    private int RowOf(int slot) => _slotRows?[slot] ?? slot;
}
