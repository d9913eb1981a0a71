using ParquetSharp;

namespace Recommender.Data;

/// <summary>
/// Opens a parquet file of the raw export and reads its columns by name, accepting every
/// physical type the export may use. Errors name the file and the column.
/// </summary>
public sealed class ParquetInput : IDisposable
{
    private readonly ParquetFileReader _reader;
    private readonly Dictionary<string, int> _columns = new(StringComparer.Ordinal);

    private ParquetInput(string path, ParquetFileReader reader)
    {
        Path = path;
        _reader = reader;
        var schema = reader.FileMetaData.Schema;
        for (var i = 0; i < schema.NumColumns; i++)
        {
            // A list column's leaf is "albums.list.element"; the top-level name is what callers ask for.
            var top = schema.Column(i).Path.ToDotVector()[0];
            _columns.TryAdd(top, i);
        }

        RowGroupRows = new long[reader.FileMetaData.NumRowGroups];
        for (var g = 0; g < RowGroupRows.Length; g++)
        {
            using var rg = reader.RowGroup(g);
            RowGroupRows[g] = rg.MetaData.NumRows;
        }
    }

    // Reused across row groups: a fresh buffer per column and row group would be hundreds of
    // megabytes of large-object garbage per pass over a 222M-row file. Outside the GC heap, and
    // unmapped with the reader: the service reads a snapshot's files while it serves, and garbage
    // left on its heap by a load would cost a collection that stops every request.
    private readonly NativeTableMemory _scratch = new();
    private Memory<short> _defs;
    private Memory<int> _ints;
    private Memory<long> _longs;

    public string Path { get; }
    public long[] RowGroupRows { get; }
    public long NumRows => _reader.FileMetaData.NumRows;

    public static ParquetInput Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataException(path, null, $"file not found at '{path}'");
        }

        try
        {
            return new ParquetInput(path, new ParquetFileReader(path));
        }
        catch (ParquetException e)
        {
            throw new DataException(path, null, $"not a readable parquet file ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>Index of a required column; a missing one is reported with the columns that exist.</summary>
    public int Require(string column)
    {
        if (_columns.TryGetValue(column, out var index))
        {
            return index;
        }

        throw new DataException(Path, column, $"column is missing (found: {string.Join(", ", _columns.Keys)})");
    }

    public ColumnDescriptor Descriptor(int column) => _reader.FileMetaData.Schema.Column(column);

    /// <summary>Checks that a column holds integers (int8..int64 physical types) before any row is read.</summary>
    public void RequireInteger(string name)
    {
        var d = Descriptor(Require(name));
        if (d.PhysicalType is not (PhysicalType.Int32 or PhysicalType.Int64) || d.MaxRepetitionLevel != 0)
        {
            throw new DataException(Path, name, $"expected an integer column, found {d.PhysicalType} {d.LogicalType}");
        }
    }

    /// <summary>Checks that a column is a date or a timestamp in any unit.</summary>
    public void RequireDate(string name)
    {
        var d = Descriptor(Require(name));
        var ok = d.LogicalType switch
        {
            DateLogicalType => d.PhysicalType == PhysicalType.Int32,
            TimestampLogicalType => d.PhysicalType == PhysicalType.Int64,
            _ => false,
        };
        if (!ok)
        {
            throw new DataException(Path, name, $"expected date32 or timestamp[ns|us|ms], found {d.PhysicalType} {d.LogicalType}");
        }
    }

    public void RequireString(string name)
    {
        var d = Descriptor(Require(name));
        if (d.PhysicalType != PhysicalType.ByteArray || d.LogicalType is not (StringLogicalType or NoneLogicalType) || d.MaxRepetitionLevel != 0)
        {
            throw new DataException(Path, name, $"expected a string column, found {d.PhysicalType} {d.LogicalType}");
        }
    }

    public void RequireIntegerList(string name)
    {
        var d = Descriptor(Require(name));
        if (d.PhysicalType is not (PhysicalType.Int32 or PhysicalType.Int64) || d.MaxRepetitionLevel != 1)
        {
            throw new DataException(Path, name, $"expected list<int64>, found {d.PhysicalType} {d.LogicalType} with nesting {d.MaxRepetitionLevel}");
        }
    }

    /// <summary>
    /// Reads an integer column of one row group into <paramref name="dest"/>; nulls are counted and
    /// left as <paramref name="nullValue"/>.
    /// </summary>
    public long ReadIntegers(int rowGroup, string name, Span<long> dest, long nullValue = long.MinValue)
    {
        var column = Require(name);
        var rows = (int)RowGroupRows[rowGroup];
        using var rg = _reader.RowGroup(rowGroup);
        using var reader = rg.Column(column);
        var maxDef = reader.ColumnDescriptor.MaxDefinitionLevel;
        var defs = Scratch(ref _defs, rows).Span;
        var nulls = 0L;
        try
        {
            switch (reader)
            {
                case ColumnReader<int> r32:
                {
                    var buffer = Scratch(ref _ints, rows).Span;
                    ReadPacked(r32, rows, defs, buffer);
                    nulls += Spread<int>(defs[..rows], maxDef, buffer, dest[..rows], nullValue);
                    break;
                }

                case ColumnReader<long> r64:
                {
                    var buffer = Scratch(ref _longs, rows).Span;
                    ReadPacked(r64, rows, defs, buffer);
                    nulls += Spread<long>(defs[..rows], maxDef, buffer, dest[..rows], nullValue);
                    break;
                }

                default:
                    throw new DataException(Path, name, $"expected an integer column, found {reader.ColumnDescriptor.PhysicalType}");
            }
        }
        catch (ParquetException e)
        {
            throw new DataException(Path, name, $"corrupt data in row group {rowGroup} ({e.Message.Split('\n')[0]})", e);
        }

        return nulls;
    }

    /// <summary>Reads a row group's definition levels and its non-null values, packed at the front of <paramref name="values"/>.</summary>
    private static void ReadPacked<T>(ColumnReader<T> reader, int rows, Span<short> defs, Span<T> values)
        where T : unmanaged
    {
        int read = 0, packed = 0;
        while (read < rows)
        {
            var levels = (int)reader.ReadBatch(rows - read, defs[read..], default, values[packed..], out var count);
            if (levels == 0)
            {
                break;
            }

            read += levels;
            packed += (int)count;
        }
    }

    /// <summary>Reads a date or timestamp column as days since 1970-01-01 (the export keeps dates only).</summary>
    public long ReadDays(int rowGroup, string name, Span<long> dest, long nullValue = long.MinValue)
    {
        var d = Descriptor(Require(name));
        long ticksPerDay = d.LogicalType switch
        {
            DateLogicalType => 1,
            TimestampLogicalType { TimeUnit: TimeUnit.Millis } => 86_400_000L,
            TimestampLogicalType { TimeUnit: TimeUnit.Micros } => 86_400_000_000L,
            TimestampLogicalType { TimeUnit: TimeUnit.Nanos } => 86_400_000_000_000L,
            _ => throw new DataException(Path, name, $"expected date32 or timestamp, found {d.LogicalType}"),
        };
        var nulls = ReadIntegers(rowGroup, name, dest, nullValue);
        if (ticksPerDay != 1)
        {
            var rows = (int)RowGroupRows[rowGroup];
            for (var i = 0; i < rows; i++)
            {
                if (dest[i] != nullValue)
                {
                    dest[i] = Math.DivRem(dest[i], ticksPerDay, out var rem) - (rem < 0 ? 1 : 0);
                }
            }
        }

        return nulls;
    }

    /// <summary>Reads a float (or double, narrowed) column of one row group.</summary>
    public void ReadFloats(int rowGroup, string name, Span<float> dest)
    {
        var column = Require(name);
        var rows = (int)RowGroupRows[rowGroup];
        try
        {
            using var rg = _reader.RowGroup(rowGroup);
            using var reader = rg.Column(column);
            switch (reader.ColumnDescriptor.PhysicalType)
            {
                case PhysicalType.Float:
                    reader.LogicalReader<float>().ReadBatch(dest[..rows]);
                    break;
                case PhysicalType.Double:
                    var values = reader.LogicalReader<double>().ReadAll(rows);
                    for (var i = 0; i < rows; i++)
                    {
                        dest[i] = (float)values[i];
                    }

                    break;
                default:
                    throw new DataException(Path, name, $"expected a float column, found {reader.ColumnDescriptor.PhysicalType}");
            }
        }
        catch (ParquetException e)
        {
            throw new DataException(Path, name, $"corrupt data in row group {rowGroup} ({e.Message.Split('\n')[0]})", e);
        }
    }

    public string?[] ReadStrings(int rowGroup, string name)
    {
        var column = Require(name);
        try
        {
            using var rg = _reader.RowGroup(rowGroup);
            using var reader = rg.Column(column).LogicalReader<string?>();
            return reader.ReadAll((int)RowGroupRows[rowGroup]);
        }
        catch (ParquetException e)
        {
            throw new DataException(Path, name, $"corrupt data in row group {rowGroup} ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>A string column of one row group, a batch at a time (<see cref="Batches{T}"/>).</summary>
    public Batches<string?> StringBatches(int rowGroup, string name) => new(this, rowGroup, name);

    /// <summary>A list&lt;string&gt; column of one row group, a batch at a time; a null list reads as null.</summary>
    public Batches<string?[]?> StringListBatches(int rowGroup, string name) => new(this, rowGroup, name);

    /// <summary>
    /// A column of one row group read a batch at a time, so that each batch's values can be dropped
    /// before the next is read: a whole row group's strings held at once outlive the young
    /// generation, and the collections that move them stop every request of the service that is
    /// loading a snapshot beside them (its 100K track names: 72 MB and 63–66 ms of pauses).
    /// </summary>
    public sealed class Batches<T> : IDisposable
    {
        private readonly string _path;
        private readonly string _name;
        private readonly int _rowGroup;
        private readonly RowGroupReader _group;
        private readonly LogicalColumnReader<T> _reader;

        internal Batches(ParquetInput input, int rowGroup, string name)
        {
            (_path, _name, _rowGroup) = (input.Path, name, rowGroup);
            var column = input.Require(name);
            _group = input._reader.RowGroup(rowGroup);
            try
            {
                _reader = _group.Column(column).LogicalReader<T>();
            }
            catch (Exception e) when (e is ParquetException or InvalidCastException or NotSupportedException)
            {
                _group.Dispose();
                throw new DataException(_path, name, $"cannot be read as {typeof(T).Name} ({e.Message.Split('\n')[0]})", e);
            }
        }

        /// <summary>Reads the next values into <paramref name="destination"/>; returns how many (0 at the row group's end).</summary>
        public int Read(Span<T> destination)
        {
            try
            {
                return _reader.ReadBatch(destination);
            }
            catch (ParquetException e)
            {
                throw new DataException(_path, _name, $"corrupt data in row group {_rowGroup} ({e.Message.Split('\n')[0]})", e);
            }
        }

        public void Dispose()
        {
            _reader.Dispose();
            _group.Dispose();
        }
    }

    /// <summary>Reads a list&lt;string&gt; column of one row group; null lists read as empty.</summary>
    public string[][] ReadStringLists(int rowGroup, string name)
    {
        var column = Require(name);
        try
        {
            using var rg = _reader.RowGroup(rowGroup);
            using var reader = rg.Column(column).LogicalReader<string?[]?>();
            return [.. reader.ReadAll((int)RowGroupRows[rowGroup]).Select(list => list is null ? [] : list.Select(x => x ?? string.Empty).ToArray())];
        }
        catch (ParquetException e)
        {
            throw new DataException(Path, name, $"corrupt data in row group {rowGroup} ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>
    /// Reads a list&lt;int&gt; column of one row group as CSR: <paramref name="offsets"/> gets rows+1
    /// entries relative to the start of this row group; null lists read as empty and are counted.
    /// </summary>
    public (long NullLists, long NullElements) ReadIntegerLists(int rowGroup, string name, List<int> offsets, List<long> values)
    {
        var column = Require(name);
        var rows = (int)RowGroupRows[rowGroup];
        using var rg = _reader.RowGroup(rowGroup);
        using var reader = rg.Column(column);
        var maxDef = reader.ColumnDescriptor.MaxDefinitionLevel;
        // pyarrow: optional list (def 1 = empty list present), repeated group (def 2), optional element (def 3).
        var emptyListDef = maxDef - (reader.ColumnDescriptor.SchemaNode.Repetition == Repetition.Optional ? 2 : 1);
        const int Batch = 65536;
        var defs = new short[Batch];
        var reps = new short[Batch];
        var buffer = new long[Batch];
        var buffer32 = new int[Batch];
        long nullLists = 0, nullElements = 0;
        var start = values.Count;
        var row = -1;
        try
        {
            while (true)
            {
                int levels;
                long valueCount;
                if (reader is ColumnReader<long> r64)
                {
                    levels = (int)r64.ReadBatch(Batch, defs, reps, buffer, out valueCount);
                }
                else if (reader is ColumnReader<int> r32)
                {
                    levels = (int)r32.ReadBatch(Batch, defs, reps, buffer32, out valueCount);
                    for (var i = 0; i < valueCount; i++)
                    {
                        buffer[i] = buffer32[i];
                    }
                }
                else
                {
                    throw new DataException(Path, name, $"expected list<int64>, found {reader.ColumnDescriptor.PhysicalType}");
                }

                if (levels == 0)
                {
                    break;
                }

                var v = 0;
                for (var i = 0; i < levels; i++)
                {
                    if (reps[i] == 0)
                    {
                        row++;
                        offsets.Add(values.Count - start);
                        if (defs[i] < emptyListDef)
                        {
                            nullLists++;
                        }
                    }

                    if (defs[i] == maxDef)
                    {
                        values.Add(buffer[v++]);
                    }
                    else if (defs[i] > emptyListDef)
                    {
                        nullElements++;
                    }
                }
            }
        }
        catch (ParquetException e)
        {
            throw new DataException(Path, name, $"corrupt data in row group {rowGroup} ({e.Message.Split('\n')[0]})", e);
        }

        if (row + 1 != rows)
        {
            throw new DataException(Path, name, $"row group {rowGroup} has {rows} rows but the list column holds {row + 1}");
        }

        offsets.Add(values.Count - start);
        return (nullLists, nullElements);
    }

    /// <summary>Non-null values arrive packed; place them at their rows and count the nulls.</summary>
    private static long Spread<T>(ReadOnlySpan<short> defs, short maxDef, ReadOnlySpan<T> packed, Span<long> dest, long nullValue)
        where T : struct, System.Numerics.IBinaryInteger<T>
    {
        var nulls = 0L;
        var v = 0;
        for (var i = 0; i < dest.Length; i++)
        {
            if (maxDef == 0 || defs[i] == maxDef)
            {
                dest[i] = long.CreateTruncating(packed[v++]);
            }
            else
            {
                dest[i] = nullValue;
                nulls++;
            }
        }

        return nulls;
    }

    /// <summary>A buffer of at least <paramref name="length"/>; a longer row group maps a larger one (the smaller stays mapped until the reader is disposed).</summary>
    private Memory<T> Scratch<T>(ref Memory<T> buffer, int length)
        where T : unmanaged
    {
        if (buffer.Length < length)
        {
            buffer = _scratch.Allocate<T>(length);
        }

        return buffer;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _scratch.Dispose();
    }
}
