namespace Recommender.Data;

/// <summary>
/// Maps raw ids (sparse, 64-bit) to dense indexes 0..Count-1 and back. Dense index i is the
/// i-th smallest raw id, so the map is a pure function of the id set and is saved with
/// every artifact that stores dense indexes.
/// </summary>
public sealed class IdMap
{
    private readonly long[] _raw;
    private readonly Dictionary<long, int> _index;

    private IdMap(long[] sortedDistinct)
    {
        _raw = sortedDistinct;
        _index = new Dictionary<long, int>(sortedDistinct.Length);
        for (var i = 0; i < sortedDistinct.Length; i++)
        {
            _index[sortedDistinct[i]] = i;
        }
    }

    public int Count => _raw.Length;

    public ReadOnlySpan<long> RawIds => _raw;

    /// <summary>Builds a map from ids in any order; duplicates are allowed and collapse.</summary>
    public static IdMap FromIds(IEnumerable<long> ids)
    {
        var array = ids.ToArray();
        Array.Sort(array);
        var n = array.Length == 0 ? 0 : 1;
        for (var i = 1; i < array.Length; i++)
        {
            if (array[i] != array[n - 1])
            {
                array[n++] = array[i];
            }
        }

        return new IdMap(array[..n]);
    }

    /// <summary>Wraps an ascending, duplicate-free array (as saved by <see cref="Save"/>).</summary>
    public static IdMap FromSorted(long[] sortedDistinct)
    {
        for (var i = 1; i < sortedDistinct.Length; i++)
        {
            if (sortedDistinct[i] <= sortedDistinct[i - 1])
            {
                throw new ArgumentException($"ids must be strictly ascending (position {i})", nameof(sortedDistinct));
            }
        }

        return new IdMap(sortedDistinct);
    }

    public long RawId(int index) => _raw[index];

    public bool TryGetIndex(long raw, out int index) => _index.TryGetValue(raw, out index);

    public int IndexOf(long raw) => _index.TryGetValue(raw, out var i) ? i : -1;

    public void Save(string path)
    {
        using var output = new ParquetOutput(path, Tables.IdMap);
        output.BeginRowGroup();
        var index = new int[_raw.Length];
        for (var i = 0; i < index.Length; i++)
        {
            index[i] = i;
        }

        output.WriteInt32(index);
        output.WriteInt64(_raw);
        output.Commit();
    }

    public static IdMap Load(string path)
    {
        using var input = ParquetInput.Open(path);
        var raw = new long[input.NumRows];
        var index = new long[input.NumRows];
        long at = 0;
        for (var g = 0; g < input.RowGroupRows.Length; g++)
        {
            var rows = (int)input.RowGroupRows[g];
            input.ReadIntegers(g, Columns.RawId, raw.AsSpan((int)at, rows));
            input.ReadIntegers(g, Columns.Index, index.AsSpan((int)at, rows));
            at += rows;
        }

        for (var i = 0; i < index.Length; i++)
        {
            if (index[i] != i)
            {
                throw new DataException(path, Columns.Index, $"row {i} holds index {index[i]}; the map must list indexes in order");
            }
        }

        try
        {
            return FromSorted(raw);
        }
        catch (ArgumentException e)
        {
            throw new DataException(path, Columns.RawId, e.Message, e);
        }
    }
}
