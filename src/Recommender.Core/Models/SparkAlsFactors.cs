using ParquetSharp;
using Recommender.Data;

namespace Recommender.Models;

/// <summary>
/// ALS factors computed elsewhere, read from the folder Spark MLlib's <c>ALSModel.save</c> writes:
/// <c>userFactors/</c> and <c>itemFactors/</c>, each parquet part files with <c>id</c> (int) and
/// <c>features</c> (array&lt;float&gt;). They replace this project's ALS fit, so that a cluster can
/// compute the factors of a log too large for one machine while the rest of the pipeline and the
/// service stay as they are.
/// </summary>
public static class SparkAlsFactors
{
    public const string UserFactors = "userFactors";
    public const string ItemFactors = "itemFactors";
    public const string IdColumn = "id";
    public const string FeaturesColumn = "features";

    /// <summary>What an import matched: rows whose id is not in our data are skipped, ours without a row stay zero.</summary>
    public sealed record ImportReport(int Factors, int UsersMatched, int UsersUnknown, int ItemsMatched, int ItemsUnknown);

    /// <summary>
    /// Reads DIR/userFactors and DIR/itemFactors into a model over our dense indexes. Users or tracks
    /// without a row get zero vectors (they fall back to the other lists); a <see cref="DataException"/>
    /// names the file, column and row of anything malformed.
    /// </summary>
    public static (AlsModel Model, ImportReport Report) Load(string dir, ArtifactIds ids, AlsParameters parameters)
    {
        var users = Read(Path.Combine(dir, UserFactors));
        var items = Read(Path.Combine(dir, ItemFactors));
        if (users.Factors != items.Factors)
        {
            throw new DataException(dir, FeaturesColumn, $"user factors have {users.Factors} dimensions, item factors {items.Factors}");
        }

        var f = users.Factors;
        var (userFactors, usersMatched, usersUnknown) = Place(users, ids.Users, f);
        var (itemFactors, itemsMatched, itemsUnknown) = Place(items, ids.Items, f);
        var model = new AlsModel(f, userFactors, itemFactors, parameters with { Factors = f, Iterations = 0 });
        return (model, new ImportReport(f, usersMatched, usersUnknown, itemsMatched, itemsUnknown));
    }

    private sealed record Rows(List<int> Ids, List<float[]> Vectors, int Factors);

    private static (float[] Factors, int Matched, int Unknown) Place(Rows rows, IdMap map, int f)
    {
        var dense = new float[(long)map.Count * f];
        int matched = 0, unknown = 0;
        for (var r = 0; r < rows.Ids.Count; r++)
        {
            if (map.TryGetIndex(rows.Ids[r], out var index))
            {
                rows.Vectors[r].CopyTo(dense.AsSpan(index * f, f));
                matched++;
            }
            else
            {
                unknown++;
            }
        }

        return (dense, matched, unknown);
    }

    private static Rows Read(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DataException(folder, null, $"missing: a Spark ALSModel.save folder has {UserFactors}/ and {ItemFactors}/ with parquet part files");
        }

        var parts = Directory.GetFiles(folder, "*.parquet").Order(StringComparer.Ordinal).ToArray();
        if (parts.Length == 0)
        {
            throw new DataException(folder, null, "holds no .parquet part files");
        }

        var ids = new List<int>();
        var vectors = new List<float[]>();
        var factors = -1;
        var seen = new HashSet<int>();
        foreach (var part in parts)
        {
            using var reader = new ParquetFileReader(part);
            var schema = reader.FileMetaData.Schema;
            var idColumn = ColumnIndex(schema, part, IdColumn);
            var featureColumn = ColumnIndex(schema, part, FeaturesColumn);
            if (schema.Column(idColumn).PhysicalType != PhysicalType.Int32)
            {
                throw new DataException(part, IdColumn, $"must be int (Spark ALS ids), found {schema.Column(idColumn).PhysicalType}");
            }

            if (schema.Column(featureColumn).PhysicalType != PhysicalType.Float)
            {
                throw new DataException(part, FeaturesColumn, $"must be array<float>, found elements of {schema.Column(featureColumn).PhysicalType}");
            }

            long row = 0;
            for (var g = 0; g < reader.FileMetaData.NumRowGroups; g++)
            {
                using var group = reader.RowGroup(g);
                var n = checked((int)group.MetaData.NumRows);
                var groupIds = ReadIds(group, idColumn, n, part);
                // Spark writes array<float> with non-null elements; a nullable layout is read too, and a null refused.
                var groupVectors = ReadVectors(group, featureColumn, n, part, row);
                for (var r = 0; r < n; r++, row++)
                {
                    var vector = groupVectors[r] ?? throw new DataException(part, FeaturesColumn, $"row {row}: null");
                    if (factors < 0)
                    {
                        factors = vector.Length;
                    }

                    if (vector.Length != factors || factors == 0)
                    {
                        throw new DataException(part, FeaturesColumn, $"row {row} (id {groupIds[r]}): {vector.Length} values, the first row had {factors}");
                    }

                    if (!seen.Add(groupIds[r]))
                    {
                        throw new DataException(part, IdColumn, $"row {row}: id {groupIds[r]} appears twice in {Path.GetFileName(folder)}");
                    }

                    ids.Add(groupIds[r]);
                    vectors.Add(vector);
                }
            }
        }

        return new Rows(ids, vectors, factors);
    }

    private static int[] ReadIds(RowGroupReader group, int column, int n, string part)
    {
        using var columnReader = group.Column(column);
        if (columnReader.ColumnDescriptor.MaxDefinitionLevel == 0)
        {
            return columnReader.LogicalReader<int>().ReadAll(n);
        }

        var nullable = columnReader.LogicalReader<int?>().ReadAll(n);
        return nullable.Select((v, r) => v ?? throw new DataException(part, IdColumn, $"row {r} of a row group: null id")).ToArray();
    }

    private static float[]?[] ReadVectors(RowGroupReader group, int column, int n, string part, long firstRow)
    {
        using var columnReader = group.Column(column);
        // Elements are required unless the innermost node is optional (definition level one above the list's).
        var elementOptional = columnReader.ColumnDescriptor.SchemaNode.Repetition == Repetition.Optional;
        if (!elementOptional)
        {
            return columnReader.LogicalReader<float[]?>().ReadAll(n);
        }

        var nullable = columnReader.LogicalReader<float?[]?>().ReadAll(n);
        var result = new float[]?[n];
        for (var r = 0; r < n; r++)
        {
            if (nullable[r] is { } values)
            {
                result[r] = values.Select(v => v ?? throw new DataException(part, FeaturesColumn, $"row {firstRow + r}: a null element")).ToArray();
            }
        }

        return result;
    }

    private static int ColumnIndex(SchemaDescriptor schema, string part, string name)
    {
        for (var c = 0; c < schema.NumColumns; c++)
        {
            var path = schema.Column(c).Path.ToDotVector();
            if (path.Length > 0 && path[0] == name)
            {
                return c;
            }
        }

        throw new DataException(part, name, $"missing (columns: {string.Join(", ", Enumerable.Range(0, schema.NumColumns).Select(c => schema.Column(c).Path.ToDotString()))})");
    }
}
