using System.Runtime.InteropServices;
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
    /// <param name="offsets">row offsets (rows + 1); the three may be ordinary arrays or <see cref="TableMemory"/> blocks.</param>
    public ScoredLists(ReadOnlyMemory<int> offsets, ReadOnlyMemory<int> items, ReadOnlyMemory<float> scores)
    {
        Offsets = offsets;
        Items = items;
        Scores = scores;
    }

    public ReadOnlyMemory<int> Offsets { get; }
    public ReadOnlyMemory<int> Items { get; }
    public ReadOnlyMemory<float> Scores { get; }
    public int Rows => Offsets.Length - 1;

    public ReadOnlySpan<int> ItemsOf(int row) => Range(row) is var (start, length) ? Items.Span.Slice(start, length) : [];

    public ReadOnlySpan<float> ScoresOf(int row) => Range(row) is var (start, length) ? Scores.Span.Slice(start, length) : [];

    /// <summary>Where row <paramref name="row"/>'s list lies in <see cref="Items"/> and <see cref="Scores"/>; an empty range outside the table.</summary>
    private (int Start, int Length) Range(int row)
    {
        if ((uint)row >= (uint)Rows)
        {
            return (0, 0);
        }

        var offsets = Offsets.Span;
        return (offsets[row], offsets[row + 1] - offsets[row]);
    }

    protected void Save(string path, IdMap rowIds, IdMap items, IReadOnlyList<ColumnSpec> columns)
    {
        using var output = new ScoredListsWriter(path, rowIds, items, columns);
        output.Append(this, 0, Rows);
        output.Commit();
    }

    /// <param name="memory">where the table's three arrays go (the raw id columns read on the way live outside the GC heap and are unmapped at the end).</param>
    protected static (Memory<int> Offsets, Memory<int> Items, Memory<float> Scores) Read(string path, IdMap users, IdMap items, string rowColumn, string itemColumn, TableMemory memory)
    {
        using var input = ParquetInput.Open(path);
        using var scratch = new NativeTableMemory();
        var rows = checked((int)input.NumRows);
        var userIds = scratch.Allocate<long>(rows).Span;
        var itemIds = scratch.Allocate<long>(rows).Span;
        var scoresMemory = memory.Allocate<float>(rows);
        var scores = scoresMemory.Span;
        var at = 0;
        for (var g = 0; g < input.RowGroupRows.Length; g++)
        {
            var n = (int)input.RowGroupRows[g];
            input.ReadIntegers(g, rowColumn, userIds.Slice(at, n));
            input.ReadIntegers(g, itemColumn, itemIds.Slice(at, n));
            input.ReadFloats(g, Columns.Score, scores.Slice(at, n));
            at += n;
        }

        var offsetsMemory = memory.Allocate<int>(users.Count + 1);
        var denseMemory = memory.Allocate<int>(rows);
        var offsets = offsetsMemory.Span;
        var dense = denseMemory.Span;
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

        return (offsetsMemory, denseMemory, scoresMemory);
    }
}

/// <summary>Per-user ranked lists (personal_als.parquet, recommendations.parquet).</summary>
public sealed class RecommendationTable : ScoredLists
{
    private RecommendationTable((Memory<int> Offsets, Memory<int> Items, Memory<float> Scores) csr)
        : base(csr.Offsets, csr.Items, csr.Scores)
    {
    }

    internal RecommendationTable(ScoredListsBuilder built)
        : this(built.Pack())
    {
    }

    public void Save(string path, IdMap users, IdMap items) => Save(path, users, items, Tables.UserLists);

    public static RecommendationTable Load(string path, IdMap users, IdMap items, TableMemory? memory = null) => new(Read(path, users, items, Columns.UserId, Columns.ItemId, memory ?? TableMemory.Managed));

    /// <summary>A writer of this table's file that takes the users' lists a block at a time, in user order.</summary>
    public static ScoredListsWriter Writer(string path, IdMap users, IdMap items) => new(path, users, items, Tables.UserLists);
}

/// <summary>
/// Writes ranked lists (row id, item id, score, rank) a block of rows at a time, rows ascending, so
/// a table of every user's lists never has to exist whole: row groups of at most
/// <see cref="RowsPerGroup"/> rows (a single longer list alone), each holding whole lists, the same file however the rows arrive.
/// Nothing is visible at the path until <see cref="Commit"/> (<see cref="ParquetOutput"/>).
/// </summary>
public sealed class ScoredListsWriter : IDisposable
{
    public const int RowsPerGroup = 1 << 21;

    private readonly ParquetOutput _output;
    private readonly IdMap _rowIds;
    private readonly IdMap _items;
    private readonly int _rowsPerGroup;
    private long[] _rowColumn = [];
    private long[] _itemColumn = [];
    private float[] _scores = [];
    private int[] _ranks = [];
    private int _buffered;
    private int _groups;
    private int _nextRow;

    /// <param name="rowsPerGroup">the row-group cap (smaller in tests, to cross group boundaries).</param>
    public ScoredListsWriter(string path, IdMap rowIds, IdMap items, IReadOnlyList<ColumnSpec> columns, int rowsPerGroup = RowsPerGroup)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerGroup, 1);
        _rowsPerGroup = rowsPerGroup;
        _output = new ParquetOutput(path, columns);
        _rowIds = rowIds;
        _items = items;
    }

    /// <summary>Appends rows <paramref name="from"/>..<paramref name="to"/> of <paramref name="lists"/>; rows come in ascending order across calls.</summary>
    public void Append(ScoredLists lists, int from, int to)
    {
        for (var row = from; row < to; row++)
        {
            Append(lists, row);
        }
    }

    /// <summary>Appends each of <paramref name="rows"/> (ascending, after every row appended before) from <paramref name="lists"/>.</summary>
    public void Append(ScoredLists lists, ReadOnlySpan<int> rows)
    {
        foreach (var row in rows)
        {
            Append(lists, row);
        }
    }

    private void Append(ScoredLists lists, int row)
    {
        if (row < _nextRow)
        {
            throw new ArgumentException($"rows must be appended in ascending order: row {row} after row {_nextRow - 1}", nameof(row));
        }

        _nextRow = row + 1;
        var items = lists.ItemsOf(row);
        if (items.IsEmpty)
        {
            return;
        }

        // A list that would overflow the group starts the next one: groups hold whole lists.
        if (_buffered > 0 && _buffered + items.Length > _rowsPerGroup)
        {
            Flush();
        }

        if (_rowColumn.Length < _buffered + items.Length)
        {
            // One set of column buffers for every row group (a fresh set per group was ~2.6 GB of
            // large-object garbage for the full-size top-100 table), grown to a group's size at most.
            var size = Math.Max(_buffered + items.Length, Math.Min(_rowsPerGroup, Math.Max(2 * _rowColumn.Length, 1 << 16)));
            Array.Resize(ref _rowColumn, size);
            Array.Resize(ref _itemColumn, size);
            Array.Resize(ref _scores, size);
            Array.Resize(ref _ranks, size);
        }

        var rawRow = _rowIds.RawId(row);
        var scores = lists.ScoresOf(row);
        for (var r = 0; r < items.Length; r++)
        {
            _rowColumn[_buffered + r] = rawRow;
            _itemColumn[_buffered + r] = _items.RawId(items[r]);
            _scores[_buffered + r] = scores[r];
            _ranks[_buffered + r] = r + 1;
        }

        _buffered += items.Length;
    }

    /// <summary>Writes what is buffered and publishes the file at its path.</summary>
    public void Commit()
    {
        if (_buffered > 0 || _groups == 0)
        {
            Flush(); // a table without rows is still a file with its columns
        }

        _output.Commit();
    }

    public void Dispose() => _output.Dispose();

    private void Flush()
    {
        _output.BeginRowGroup();
        _output.WriteInt64(_rowColumn.AsSpan(0, _buffered));
        _output.WriteInt64(_itemColumn.AsSpan(0, _buffered));
        _output.WriteFloat(_scores.AsSpan(0, _buffered));
        _output.WriteInt32(_ranks.AsSpan(0, _buffered));
        _groups++;
        _buffered = 0;
    }
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
    private readonly int[]? _offsets; // a recycled table's, reused by Pack
    private int[]? _items;
    private float[]? _scores;

    /// <param name="rows">rows of the finished table.</param>
    /// <param name="slotRows">the rows that get a slot, ascending; null gives every row a slot (slot = row).</param>
    /// <param name="k">the longest list a slot holds.</param>
    /// <param name="recycled">
    /// a table nothing reads any more (the previous block's, in a run that writes lists a block at a
    /// time) whose arrays are taken over where they are large enough: the blocks then make no
    /// large-object garbage, which the collector would let pile up between full collections.
    /// </param>
    public ScoredListsBuilder(int rows, int[]? slotRows, int k, ScoredLists? recycled = null)
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
        var size = checked(slots * k);
        (_items, _scores) = recycled is not null && ArrayOf(recycled.Items) is { } items && items.Length >= size && ArrayOf(recycled.Scores) is { } scores
            ? (items, scores)
            : (new int[size], new float[size]);
        _offsets = recycled is not null && ArrayOf(recycled.Offsets) is { } offsets && offsets.Length == rows + 1 ? offsets : null;
    }

    /// <summary>The whole array behind <paramref name="memory"/>; null for a part of one or for memory outside the GC heap.</summary>
    private static T[]? ArrayOf<T>(ReadOnlyMemory<T> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : null;

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

    /// <summary>Sets one slot's list to row <paramref name="row"/> of <paramref name="lists"/>, at most <see cref="K"/> of it.</summary>
    public void Set(int slot, ScoredLists lists, int row)
    {
        var items = _items ?? throw new InvalidOperationException("the builder has been packed");
        var from = lists.ItemsOf(row);
        var n = Math.Min(from.Length, _k);
        from[..n].CopyTo(items.AsSpan(slot * _k, n));
        lists.ScoresOf(row)[..n].CopyTo(_scores!.AsSpan(slot * _k, n));
        _counts[slot] = n;
    }

    /// <summary>Slides every slot's list down to its CSR position; the builder cannot be used afterwards.</summary>
    public (int[] Offsets, int[] Items, float[] Scores) Pack()
    {
        var items = _items ?? throw new InvalidOperationException("the builder has been packed");
        var scores = _scores!;
        _items = null;
        _scores = null;
        var offsets = _offsets ?? new int[_rows + 1];
        Array.Clear(offsets);
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
