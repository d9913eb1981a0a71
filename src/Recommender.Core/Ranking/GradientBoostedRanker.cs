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

    /// <summary>The share of the features each tree may split on (1: all); below 1, each tree draws them with the seed.</summary>
    public double FeatureFraction { get; init; } = 1;

    /// <summary>LightGBM with one thread is bit-for-bit repeatable; more threads are faster.</summary>
    public int Threads { get; init; } = 1;
}

/// <summary>LambdaRank gradient-boosted trees (LightGBM through ML.NET) over the candidate features.</summary>
public sealed class GradientBoostedRanker
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly DataViewSchema _schema;
    private readonly TreeEnsemble _trees;

    private GradientBoostedRanker(MLContext ml, ITransformer model, DataViewSchema schema)
    {
        _ml = ml;
        _model = model;
        _schema = schema;
        var parameters = (model as ISingleFeaturePredictionTransformer<LightGbmRankingModelParameters>)?.Model
            ?? throw new InvalidDataException($"ranker model is a {model.GetType().Name}, not a LightGBM ranking model");
        _trees = TreeEnsemble.From(parameters.TrainedTreeEnsemble, FeatureContext.FeatureCount);
        var gains = default(VBuffer<float>);
        parameters.GetFeatureWeights(ref gains);
        FeatureGains = new double[FeatureContext.FeatureCount];
        foreach (var (index, gain) in gains.Items())
        {
            FeatureGains[index] = gain;
        }
    }

    /// <summary>Per feature, the total gain of the splits on it (LightGBM's "gain" importance): what the trees learned from each feature.</summary>
    public double[] FeatureGains { get; }

    /// <summary>The trees, scored without ML.NET.</summary>
    public TreeEnsemble Trees => _trees;

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
        ArgumentOutOfRangeException.ThrowIfNotEqual(features.Length, labels.Length * FeatureContext.FeatureCount, nameof(features));
        ArgumentOutOfRangeException.ThrowIfNotEqual(groups.Length, labels.Length, nameof(groups));
        return Fit(labels.Select((label, r) => ((ReadOnlyMemory<float>)features.AsMemory(r * FeatureContext.FeatureCount, FeatureContext.FeatureCount), label, groups[r])), p);
    }

    /// <summary>
    /// The same over rows made on demand: ML.NET reads them twice (the group keys, then LightGBM's
    /// own dataset), and each pass makes its row objects afresh instead of holding a second copy of
    /// every feature for the whole fit (several hundred MB at full size, once per concurrent fit).
    /// </summary>
    /// <param name="rows">each row's FeatureCount features, label and group (user) id, grouped: a group's rows are contiguous. Enumerated more than once.</param>
    public static GradientBoostedRanker Fit(IEnumerable<(ReadOnlyMemory<float> Features, float Label, uint Group)> rows, RankerParameters p)
    {
        var ml = new MLContext(p.Seed);
        var data = ml.Data.LoadFromEnumerable(rows.Select(r => new Row { Label = r.Label, GroupId = r.Group, Features = r.Features.ToArray() }));
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
            Booster = new GradientBooster.Options { FeatureFraction = p.FeatureFraction },
            Verbose = false,
            Silent = true,
        });
        var model = trainer.Fit(keyed);
        var schema = ml.Data.LoadFromEnumerable(Array.Empty<FeatureRow>()).Schema;
        return new GradientBoostedRanker(ml, model, schema);
    }

    /// <summary>Scores rows × FeatureCount features with the flat trees; higher is better. Large calls are spread over the cores.</summary>
    public float[] Score(float[] features, int rows)
    {
        var result = new float[rows];
        Score(features, rows, result);
        return result;
    }

    /// <summary>The same, into the first <paramref name="rows"/> entries of <paramref name="destination"/>.</summary>
    public void Score(float[] features, int rows, float[] destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)rows * FeatureContext.FeatureCount, features.Length, nameof(rows));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, destination.Length, nameof(rows));
        const int RowsPerTask = 8192; // ~10 ms of work: small enough to balance two cores, large enough to be cheap to schedule
        if (rows <= RowsPerTask)
        {
            _trees.Score(features.AsSpan(0, rows * FeatureContext.FeatureCount), destination.AsSpan(0, rows));
            return;
        }

        Parallel.For(0, (rows + RowsPerTask - 1) / RowsPerTask, Numerics.Cores.Options(), task =>
        {
            var from = task * RowsPerTask;
            var count = Math.Min(RowsPerTask, rows - from);
            _trees.Score(features.AsSpan(from * FeatureContext.FeatureCount, count * FeatureContext.FeatureCount), destination.AsSpan(from, count));
        });
    }

    /// <summary>The same scores through ML.NET's transformer: the reference <see cref="TreeEnsemble"/> is tested against.</summary>
    public float[] ScoreWithMlNet(float[] features, int rows)
    {
        var result = new float[rows];
        var scored = _model.Transform(_ml.Data.LoadFromEnumerable(Stream(features, rows)));
        var r = 0;
        foreach (var score in scored.GetColumn<float>("Score"))
        {
            result[r++] = score;
        }

        return result;
    }

    // One row object for the whole stream instead of one per row: ML.NET copies the vector out
    // as the cursor reads each row, so a refilled object scores as separate ones would.
    private static IEnumerable<FeatureRow> Stream(float[] features, int rows)
    {
        var row = new FeatureRow { Features = new float[FeatureContext.FeatureCount] };
        for (var r = 0; r < rows; r++)
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
