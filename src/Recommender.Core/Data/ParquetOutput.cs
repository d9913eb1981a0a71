using ParquetSharp;
using ParquetSharp.Schema;

namespace Recommender.Data;

public enum ColumnKind
{
    Int16,
    Int32,
    Int64,
    Float,
    Double,
    Bool,
    String,
    TimestampMicros,
    Int64List,
    StringList,
}

public sealed record ColumnSpec(string Name, ColumnKind Kind, bool Optional = false);

/// <summary>
/// Writes one parquet file column by column and row group by row group, into a temporary
/// file that only <see cref="Commit"/> renames into place: a failed run leaves no half file.
/// </summary>
public sealed class ParquetOutput : IDisposable
{
    private readonly ColumnSpec[] _columns;
    private readonly string _tempPath;
    private ParquetFileWriter? _writer;
    private RowGroupWriter? _rowGroup;
    private int _nextColumn;
    private bool _committed;

    public ParquetOutput(string path, IReadOnlyList<ColumnSpec> columns)
    {
        try
        {
            FinalPath = path;
            _columns = [.. columns];
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
            _tempPath = AtomicFile.TempPathFor(path);
            using var schema = BuildSchema(_columns);
            using var props = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build();
            _writer = new ParquetFileWriter(_tempPath, schema, props);
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    public string FinalPath { get; }

    public void BeginRowGroup()
    {
        try
        {
            EndRowGroup();
            _rowGroup = _writer!.AppendRowGroup();
            _nextColumn = 0;
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    public void WriteInt32(ReadOnlySpan<int> values) => WritePrimitive(values, ColumnKind.Int32, ColumnKind.Int16);

    public void WriteInt64(ReadOnlySpan<long> values) => WritePrimitive(values, ColumnKind.Int64, ColumnKind.TimestampMicros);

    public void WriteFloat(ReadOnlySpan<float> values) => WritePrimitive(values, ColumnKind.Float, ColumnKind.Float);

    public void WriteDouble(ReadOnlySpan<double> values) => WritePrimitive(values, ColumnKind.Double, ColumnKind.Double);

    public void WriteBool(ReadOnlySpan<bool> values) => WritePrimitive(values, ColumnKind.Bool, ColumnKind.Bool);

    public void WriteStrings(string[] values)
    {
        try
        {
            var spec = Next(ColumnKind.String, ColumnKind.String);
            using var column = _rowGroup!.NextColumn();
            using var writer = column.LogicalWriter<string>();
            _ = spec;
            writer.WriteBatch(values);
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    public void WriteStringLists(string[][] values)
    {
        try
        {
            Next(ColumnKind.StringList, ColumnKind.StringList);
            using var column = _rowGroup!.NextColumn();
            using var writer = column.LogicalWriter<string[]>();
            writer.WriteBatch(values);
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    /// <summary>Writes a list&lt;int64&gt; column from CSR: row r holds values[offsets[r]..offsets[r+1]].</summary>
    public void WriteInt64Lists(ReadOnlySpan<int> offsets, ReadOnlySpan<long> values)
    {
        try
        {
            Next(ColumnKind.Int64List, ColumnKind.Int64List);
            var rows = offsets.Length - 1;
            var levels = 0;
            for (var r = 0; r < rows; r++)
            {
                levels += Math.Max(1, offsets[r + 1] - offsets[r]);
            }

            var defs = new short[levels];
            var reps = new short[levels];
            var packed = new long[offsets[rows] - offsets[0]];
            var l = 0;
            var v = 0;
            for (var r = 0; r < rows; r++)
            {
                var n = offsets[r + 1] - offsets[r];
                if (n == 0)
                {
                    defs[l] = 1; // list present, empty
                    reps[l++] = 0;
                    continue;
                }

                for (var j = 0; j < n; j++)
                {
                    defs[l] = 3;
                    reps[l++] = (short)(j == 0 ? 0 : 1);
                    packed[v++] = values[offsets[r] + j];
                }
            }

            using var column = _rowGroup!.NextColumn();
            ((ColumnWriter<long>)column).WriteBatch(levels, defs, reps, packed);
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    /// <summary>Closes the file and renames it into place.</summary>
    public void Commit()
    {
        try
        {
            EndRowGroup();
            _writer!.Close();
            _writer.Dispose();
            _writer = null;
            File.Move(_tempPath, FinalPath, overwrite: true);
            _committed = true;
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    public void Dispose()
    {
        try
        {
            _rowGroup?.Dispose();
            _writer?.Dispose();
        }
        catch (ParquetException) when (!_committed)
        {
            // A writer that failed (disk full) cannot close either; its temporary file goes below,
            // and the first error is the one the caller sees.
        }

        if (!_committed && File.Exists(_tempPath))
        {
            File.Delete(_tempPath);
        }
    }

    /// <summary>Arrow's I/O errors (disk full among them) do not say which file: this does.</summary>
    private IOException Failed(ParquetException e) =>
        new($"{FinalPath}: {e.Message.Replace("N7parquet22ParquetStatusExceptionE (message: ", "", StringComparison.Ordinal).TrimEnd(')')}", e);

    private void EndRowGroup()
    {
        if (_rowGroup is null)
        {
            return;
        }

        if (_nextColumn != _columns.Length)
        {
            throw new InvalidOperationException($"{FinalPath}: row group closed after {_nextColumn} of {_columns.Length} columns");
        }

        _rowGroup.Close();
        _rowGroup.Dispose();
        _rowGroup = null;
    }

    private ColumnSpec Next(ColumnKind a, ColumnKind b)
    {
        if (_rowGroup is null)
        {
            throw new InvalidOperationException("BeginRowGroup was not called");
        }

        var spec = _columns[_nextColumn++];
        if (spec.Kind != a && spec.Kind != b)
        {
            throw new InvalidOperationException($"column '{spec.Name}' is {spec.Kind}, written as {a}");
        }

        return spec;
    }

    private short[] _allDefined = [];

    /// <summary>Definition levels of <paramref name="rows"/> present values, kept for the next column and row group.</summary>
    private ReadOnlySpan<short> AllDefined(int rows)
    {
        if (_allDefined.Length < rows)
        {
            _allDefined = new short[rows];
            _allDefined.AsSpan().Fill(1);
        }

        return _allDefined.AsSpan(0, rows);
    }

    private void WritePrimitive<T>(ReadOnlySpan<T> values, ColumnKind a, ColumnKind b)
        where T : unmanaged
    {
        try
        {
            var spec = Next(a, b);
            using var column = _rowGroup!.NextColumn();
            var writer = (ColumnWriter<T>)column;
            if (spec.Optional)
            {
                writer.WriteBatch(values.Length, AllDefined(values.Length), default, values);
            }
            else
            {
                writer.WriteBatch(values);
            }
        }
        catch (ParquetException e)
        {
            throw Failed(e);
        }
    }

    private static GroupNode BuildSchema(ColumnSpec[] columns)
    {
        var nodes = new Node[columns.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            var c = columns[i];
            var rep = c.Optional ? Repetition.Optional : Repetition.Required;
            nodes[i] = c.Kind switch
            {
                ColumnKind.Int16 => new PrimitiveNode(c.Name, rep, LogicalType.Int(16, true), PhysicalType.Int32),
                ColumnKind.Int32 => new PrimitiveNode(c.Name, rep, LogicalType.Int(32, true), PhysicalType.Int32),
                ColumnKind.Int64 => new PrimitiveNode(c.Name, rep, LogicalType.Int(64, true), PhysicalType.Int64),
                ColumnKind.Float => new PrimitiveNode(c.Name, rep, LogicalType.None(), PhysicalType.Float),
                ColumnKind.Double => new PrimitiveNode(c.Name, rep, LogicalType.None(), PhysicalType.Double),
                ColumnKind.Bool => new PrimitiveNode(c.Name, rep, LogicalType.None(), PhysicalType.Boolean),
                ColumnKind.String => new PrimitiveNode(c.Name, rep, LogicalType.String(), PhysicalType.ByteArray),
                ColumnKind.TimestampMicros => new PrimitiveNode(c.Name, rep, LogicalType.Timestamp(false, TimeUnit.Micros), PhysicalType.Int64),
                ColumnKind.Int64List => ListNode(c.Name, new PrimitiveNode("element", Repetition.Optional, LogicalType.Int(64, true), PhysicalType.Int64)),
                ColumnKind.StringList => ListNode(c.Name, new PrimitiveNode("element", Repetition.Optional, LogicalType.String(), PhysicalType.ByteArray)),
                _ => throw new ArgumentOutOfRangeException(nameof(columns), c.Kind, "unknown column kind"),
            };
        }

        return new GroupNode("schema", Repetition.Required, nodes);
    }

    private static GroupNode ListNode(string name, Node element) =>
        new(name, Repetition.Optional, [new GroupNode("list", Repetition.Repeated, [element])], LogicalType.List());
}
