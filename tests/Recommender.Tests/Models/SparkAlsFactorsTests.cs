using Microsoft.Extensions.Logging.Abstractions;
using ParquetSharp;
using ParquetSharp.Schema;
using Recommender.Data;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Models;

public class SparkAlsFactorsTests
{
    /// <summary>
    /// One part file in the layout Spark's ALSModel.save writes (Spark SQL's parquet schema for
    /// id: int not null, features: array&lt;float&gt; with non-null elements).
    /// </summary>
    internal static void WritePart(string folder, int part, int[] ids, float[][] vectors)
    {
        Directory.CreateDirectory(folder);
        using var element = new PrimitiveNode("element", Repetition.Required, LogicalType.None(), PhysicalType.Float);
        using var list = new GroupNode("list", Repetition.Repeated, [element]);
        using var features = new GroupNode("features", Repetition.Optional, [list], LogicalType.List());
        using var id = new PrimitiveNode("id", Repetition.Required, LogicalType.None(), PhysicalType.Int32);
        using var schema = new GroupNode("spark_schema", Repetition.Required, [id, features]);
        using var properties = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build();
        var path = Path.Combine(folder, $"part-{part:D5}-6d1b7f4e-0000-4000-8000-000000000000-c000.snappy.parquet");
        using var writer = new ParquetFileWriter(path, schema, properties);
        using var group = writer.AppendRowGroup();
        using (var w = group.NextColumn().LogicalWriter<int>())
        {
            w.WriteBatch(ids);
        }

        using (var w = group.NextColumn().LogicalWriter<float[]?>())
        {
            w.WriteBatch(vectors);
        }

        writer.Close();
    }

    /// <summary>A model's factors written as Spark would: ids are the raw ids, in two part files per side.</summary>
    internal static void WriteModel(string dir, AlsModel model, ArtifactIds ids)
    {
        foreach (var (side, map, count, vector) in new (string, IdMap, int, Func<int, float[]>)[]
        {
            (SparkAlsFactors.UserFactors, ids.Users, model.Users, u => model.UserVector(u).ToArray()),
            (SparkAlsFactors.ItemFactors, ids.Items, model.Items, i => model.ItemVector(i).ToArray()),
        })
        {
            var half = count / 2;
            WritePart(Path.Combine(dir, side), 0, [.. Enumerable.Range(0, half).Select(i => checked((int)map.RawId(i)))], [.. Enumerable.Range(0, half).Select(vector)]);
            WritePart(Path.Combine(dir, side), 1, [.. Enumerable.Range(half, count - half).Select(i => checked((int)map.RawId(i)))], [.. Enumerable.Range(half, count - half).Select(vector)]);
        }
    }

    [Test]
    public void Load_PlacesVectorsByRawId_ZeroForMissing_AndCountsUnknownIds()
    {
        var dir = TestPaths.NewTempDir();
        var ids = new ArtifactIds(IdMap.FromIds([10, 20, 30]), IdMap.FromIds([100, 200]));
        WritePart(Path.Combine(dir, SparkAlsFactors.UserFactors), 0, [30, 99], [[3f, 3.5f], [9f, 9f]]);
        WritePart(Path.Combine(dir, SparkAlsFactors.UserFactors), 1, [10], [[1f, 1.5f]]);
        WritePart(Path.Combine(dir, SparkAlsFactors.ItemFactors), 0, [200, 100], [[2f, 0f], [0f, 1f]]);

        var (model, report) = SparkAlsFactors.Load(dir, ids, new AlsParameters());
        Assert.That(report, Is.EqualTo(new SparkAlsFactors.ImportReport(2, 2, 1, 2, 0)));
        Assert.That(model.Factors, Is.EqualTo(2));
        Assert.That(model.UserVector(ids.Users.IndexOf(10)).ToArray(), Is.EqualTo(new[] { 1f, 1.5f }));
        Assert.That(model.UserVector(ids.Users.IndexOf(20)).ToArray(), Is.EqualTo(new[] { 0f, 0f }), "no row: zero");
        Assert.That(model.UserVector(ids.Users.IndexOf(30)).ToArray(), Is.EqualTo(new[] { 3f, 3.5f }));
        Assert.That(model.ItemVector(ids.Items.IndexOf(200)).ToArray(), Is.EqualTo(new[] { 2f, 0f }));
        Assert.That(model.Score(ids.Users.IndexOf(30), ids.Items.IndexOf(100)), Is.EqualTo(3.5f), "user 30 · track 100 by hand");
    }

    [Test]
    public void MalformedFactors_AreRefused_NamingFileColumnAndRow()
    {
        var ids = new ArtifactIds(IdMap.FromIds([10, 20]), IdMap.FromIds([100]));
        var ragged = TestPaths.NewTempDir();
        WritePart(Path.Combine(ragged, SparkAlsFactors.UserFactors), 0, [10, 20], [[1f, 2f], [1f]]);
        WritePart(Path.Combine(ragged, SparkAlsFactors.ItemFactors), 0, [100], [[1f, 2f]]);
        var e = Assert.Throws<DataException>(() => SparkAlsFactors.Load(ragged, ids, new AlsParameters()));
        Assert.That(e!.Message, Does.Contain("part-00000").And.Contain("'features'").And.Contain("row 1 (id 20)"));

        var mismatched = TestPaths.NewTempDir();
        WritePart(Path.Combine(mismatched, SparkAlsFactors.UserFactors), 0, [10], [[1f, 2f]]);
        WritePart(Path.Combine(mismatched, SparkAlsFactors.ItemFactors), 0, [100], [[1f, 2f, 3f]]);
        Assert.That(Assert.Throws<DataException>(() => SparkAlsFactors.Load(mismatched, ids, new AlsParameters()))!.Message, Does.Contain("2 dimensions, item factors 3"));

        var missing = TestPaths.NewTempDir();
        WritePart(Path.Combine(missing, SparkAlsFactors.UserFactors), 0, [10], [[1f]]);
        Assert.That(Assert.Throws<DataException>(() => SparkAlsFactors.Load(missing, ids, new AlsParameters()))!.Message, Does.Contain(SparkAlsFactors.ItemFactors).And.Contain("missing"));

        var twice = TestPaths.NewTempDir();
        WritePart(Path.Combine(twice, SparkAlsFactors.UserFactors), 0, [10, 10], [[1f], [2f]]);
        WritePart(Path.Combine(twice, SparkAlsFactors.ItemFactors), 0, [100], [[1f]]);
        Assert.That(Assert.Throws<DataException>(() => SparkAlsFactors.Load(twice, ids, new AlsParameters()))!.Message, Does.Contain("id 10 appears twice"));
    }

    [Test]
    public void Train_WithImportedFactors_ServesThemAsIfItHadFittedThem()
    {
        // Our own final factors, exported in Spark's layout and imported again: every ALS list is the same.
        var data = Require.SharedData("ml-100k");
        TrainOptions Options(string? factors = null) => new()
        {
            DataDir = data, OutRoot = TestPaths.NewTempDir(), SplitDate = new DateOnly(1998, 3, 7), SearchAls = false, SearchItemBased = false,
            Als = new AlsParameters { Factors = 16, Iterations = 3 }, AlsFactorsDir = factors,
        };
        var fitted = new TrainPipeline(Options(), NullLogger.Instance).Run();
        var ids = new ArtifactIds(IdMap.Load(Path.Combine(fitted.SnapshotDir, FileNames.UserIds)), IdMap.Load(Path.Combine(fitted.SnapshotDir, FileNames.ItemIds)));
        var spark = TestPaths.NewTempDir();
        WriteModel(spark, AlsModel.Load(Path.Combine(fitted.SnapshotDir, FileNames.AlsModel)), ids);

        var imported = new TrainPipeline(Options(spark), NullLogger.Instance).Run();
        Assert.That(File.ReadAllBytes(Path.Combine(imported.SnapshotDir, FileNames.PersonalAls)), Is.EqualTo(File.ReadAllBytes(Path.Combine(fitted.SnapshotDir, FileNames.PersonalAls))));
        Assert.That(imported.Evaluation!.WarmAt("als", 10), Is.EqualTo(fitted.Evaluation!.WarmAt("als", 10)));
        Assert.That(AlsModel.Load(Path.Combine(imported.SnapshotDir, FileNames.AlsModel)).ItemFactors.ToArray(), Is.EqualTo(AlsModel.Load(Path.Combine(fitted.SnapshotDir, FileNames.AlsModel)).ItemFactors.ToArray()));
    }
}
