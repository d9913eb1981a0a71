using ParquetSharp;
using ParquetSharp.Schema;
using Recommender.Data;

namespace Recommender.Tests.Support;

/// <summary>A column of a hand-made test file: any physical/logical integer type, nulls allowed.</summary>
public sealed record TinyColumn(string Name, PhysicalType Physical, LogicalType Logical, long?[] Values);

/// <summary>Writes small parquet files exactly as a test needs them, including shapes our writer never makes.</summary>
internal static class TinyParquet
{
    public static TinyColumn Int32(string name, params long?[] values) => new(name, PhysicalType.Int32, LogicalType.Int(32, true), values);

    public static TinyColumn Int16(string name, params long?[] values) => new(name, PhysicalType.Int32, LogicalType.Int(16, true), values);

    public static TinyColumn Int64(string name, params long?[] values) => new(name, PhysicalType.Int64, LogicalType.Int(64, true), values);

    public static TinyColumn Date32(string name, params long?[] days) => new(name, PhysicalType.Int32, LogicalType.Date(), days);

    public static TinyColumn Timestamp(string name, TimeUnit unit, params DateOnly[] dates)
    {
        var perDay = unit switch
        {
            TimeUnit.Millis => 86_400_000L,
            TimeUnit.Micros => 86_400_000_000L,
            _ => 86_400_000_000_000L,
        };
        var epoch = new DateOnly(1970, 1, 1).DayNumber;
        return new(name, PhysicalType.Int64, LogicalType.Timestamp(false, unit), dates.Select(d => (long?)((d.DayNumber - epoch) * perDay)).ToArray());
    }

    public static void Write(string path, params TinyColumn[] columns)
    {
        var nodes = columns.Select(c => (Node)new PrimitiveNode(c.Name, Repetition.Optional, c.Logical, c.Physical)).ToArray();
        using var schema = new GroupNode("schema", Repetition.Required, nodes);
        using var props = new WriterPropertiesBuilder().Build();
        using var writer = new ParquetFileWriter(path, schema, props);
        using var rg = writer.AppendRowGroup();
        foreach (var c in columns)
        {
            using var col = rg.NextColumn();
            var defs = c.Values.Select(v => (short)(v is null ? 0 : 1)).ToArray();
            if (c.Physical == PhysicalType.Int32)
            {
                ((ColumnWriter<int>)col).WriteBatch(c.Values.Length, defs, null, c.Values.Where(v => v is not null).Select(v => (int)v!.Value).ToArray());
            }
            else
            {
                ((ColumnWriter<long>)col).WriteBatch(c.Values.Length, defs, null, c.Values.Where(v => v is not null).Select(v => v!.Value).ToArray());
            }
        }

        writer.Close();
    }

    /// <summary>tracks.parquet from (id, albums, artists, genres) rows, through the production writer.</summary>
    public static void WriteTracks(string path, params (long Id, long[] Albums, long[] Artists, long[] Genres)[] rows)
    {
        using var output = new ParquetOutput(path,
        [
            new(Columns.TrackId, ColumnKind.Int64, Optional: true),
            new(Columns.Albums, ColumnKind.Int64List),
            new(Columns.Artists, ColumnKind.Int64List),
            new(Columns.Genres, ColumnKind.Int64List),
        ]);
        output.BeginRowGroup();
        output.WriteInt64(rows.Select(r => r.Id).ToArray());
        foreach (var pick in new Func<(long Id, long[] Albums, long[] Artists, long[] Genres), long[]>[] { r => r.Albums, r => r.Artists, r => r.Genres })
        {
            var offsets = new int[rows.Length + 1];
            var values = new List<long>();
            for (var i = 0; i < rows.Length; i++)
            {
                values.AddRange(pick(rows[i]));
                offsets[i + 1] = values.Count;
            }

            output.WriteInt64Lists(offsets, [.. values]);
        }

        output.Commit();
    }

    public static void WriteCatalog(string path, params (long Id, string Type, string Name)[] rows)
    {
        using var output = new ParquetOutput(path,
        [
            new(Columns.Id, ColumnKind.Int64, Optional: true),
            new(Columns.Type, ColumnKind.String, Optional: true),
            new(Columns.Name, ColumnKind.String, Optional: true),
        ]);
        output.BeginRowGroup();
        output.WriteInt64(rows.Select(r => r.Id).ToArray());
        output.WriteStrings(rows.Select(r => r.Type).ToArray());
        output.WriteStrings(rows.Select(r => r.Name).ToArray());
        output.Commit();
    }
}
