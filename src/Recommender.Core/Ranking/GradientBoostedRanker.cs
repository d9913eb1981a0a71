using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;

namespace Recommender.Ranking;

public sealed record RankerParameters
{
    public int Trees { get; init; } = 100;
    /// <summary>Small trees: the label windows give few users on small data, and big trees overfit them.</summary>
    public int Leaves { get; init; } = 7;
    public double LearningRate { get; init; } = 0.1;
    /// <summary>Null: from the amount of training rows (rows / 2000, within 5..100).</summary>
    public int? MinExamplesPerLeaf { get; init; }
    public int Seed { get; init; } = 42;

    /// <summary>LightGBM with one thread is bit-for-bit repeatable; more threads are faster.</summary>
    public int Threads { get; init; } = 1;
}

/// <summary>LambdaRank gradient-boosted trees (LightGBM through ML.NET) over the candidate features.</summary>
public sealed class GradientBoostedRanker
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly DataViewSchema _schema;

    private GradientBoostedRanker(MLContext ml, ITransformer model, DataViewSchema schema)
    {
        _ml = ml;
        _model = model;
        _schema = schema;
    }

    private sealed class Row
    {
        public float Label { get; set; }

        public uint GroupId { get; set; }

        [VectorType(FeatureContext.FeatureCount)]
        public float[] Features { get; set; } = [];
    }

    private sealed class FeatureRow
    {
        [VectorType(FeatureContext.FeatureCount)]
        public float[] Features { get; set; } = [];
    }

    private sealed class ScoreRow
    {
        public float Score { get; set; }
    }

    /// <param name="features">rows × FeatureCount, grouped: rows of one user are contiguous.</param>
    /// <param name="groups">group (user) id of each row.</param>
    public static GradientBoostedRanker Fit(float[] features, float[] labels, uint[] groups, RankerParameters p)
    {
        var ml = new MLContext(p.Seed);
        var rows = new Row[labels.Length];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = new Row { Label = labels[r], GroupId = groups[r], Features = features.AsSpan(r * FeatureContext.FeatureCount, FeatureContext.FeatureCount).ToArray() };
        }

        var data = ml.Data.LoadFromEnumerable(rows);
        var keyed = ml.Transforms.Conversion.MapValueToKey("GroupKey", nameof(Row.GroupId)).Fit(data).Transform(data);
        var trainer = ml.Ranking.Trainers.LightGbm(new LightGbmRankingTrainer.Options
        {
            LabelColumnName = nameof(Row.Label),
            FeatureColumnName = nameof(Row.Features),
            RowGroupColumnName = "GroupKey",
            NumberOfIterations = p.Trees,
            NumberOfLeaves = p.Leaves,
            LearningRate = p.LearningRate,
            MinimumExampleCountPerLeaf = p.MinExamplesPerLeaf,
            NumberOfThreads = p.Threads,
            Seed = p.Seed,
            Verbose = false,
            Silent = true,
        });
        var model = trainer.Fit(keyed);
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<FeatureRow>()).Schema;
        return new GradientBoostedRanker(ml, model, schema);
    }

    /// <summary>Scores rows × FeatureCount features; higher is better. Large calls score one slice per core.</summary>
    public float[] Score(float[] features, int rows) => Score(features, rows, Math.Clamp(rows / MinRowsPerSlice, 1, Numerics.Cores.Count));

    /// <summary>Below this many rows per slice, a second ML.NET pipeline costs more than it saves.</summary>
    private const int MinRowsPerSlice = 20_000;

    // ML.NET's tree ensemble is read-only once trained: separate data views over separate slices
    // can be scored on separate threads (checked against one slice in the tests).
    internal float[] Score(float[] features, int rows, int slices)
    {
        var result = new float[rows];
        var per = (rows + slices - 1) / Math.Max(1, slices);
        Parallel.For(0, slices, Numerics.Cores.Options(), slice =>
        {
            var from = slice * per;
            var count = Math.Min(per, rows - from);
            if (count <= 0)
            {
                return;
            }

            var scored = _model.Transform(_ml.Data.LoadFromEnumerable(Stream(features, from, count)));
            var r = from;
            foreach (var score in scored.GetColumn<float>("Score"))
            {
                result[r++] = score;
            }
        });
        return result;
    }

    // One row object for the whole stream instead of one per candidate (400K per batch when
    // ranking every user): ML.NET copies the vector out as the cursor reads each row, so a
    // refilled object scores as separate ones would (tested against one-row calls).
    private static IEnumerable<FeatureRow> Stream(float[] features, int from, int count)
    {
        var row = new FeatureRow { Features = new float[FeatureContext.FeatureCount] };
        for (var r = from; r < from + count; r++)
        {
            features.AsSpan(r * FeatureContext.FeatureCount, FeatureContext.FeatureCount).CopyTo(row.Features);
            yield return row;
        }
    }

    public void Save(string path) =>
        Data.AtomicFile.Write(path, temp =>
        {
            using var stream = File.Create(temp);
            _ml.Model.Save(_model, _schema, stream);
        });

    public static GradientBoostedRanker Load(string path, int seed = 42)
    {
        var ml = new MLContext(seed);
        using var stream = File.OpenRead(path);
        var model = ml.Model.Load(stream, out var schema);
        return new GradientBoostedRanker(ml, model, schema);
    }
}
