using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Benchmarks;

/// <summary>Seeded Gaussian data shared by the benchmarks.</summary>
public static class BenchData
{
    public static float[] Gaussian(int count, ulong seed)
    {
        var rng = new Rng(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)rng.NextGaussian();
        }

        return values;
    }
}

/// <summary>The IVF scans' row kernels: 1,000 rows of 64 factors against one query.</summary>
[MemoryDiagnoser]
public class ScoreKernelBenchmarks
{
    public const int Factors = 64;
    public const int Rows = 1000;
    private readonly float[] _rows = BenchData.Gaussian(Rows * Factors, 1);
    private readonly float[] _query = BenchData.Gaussian(Factors, 2);
    private readonly float[] _scores = new float[Rows];
    private readonly ulong[] _above = new ulong[(Rows + 63) / 64];

    [Benchmark(Baseline = true, Description = "TensorPrimitives.Dot per row")]
    public float DotPerRow()
    {
        for (var i = 0; i < Rows; i++)
        {
            _scores[i] = TensorPrimitives.Dot(_rows.AsSpan(i * Factors, Factors), _query);
        }

        return _scores[^1];
    }

    [Benchmark(Description = "DotRows (eight rows per step)")]
    public float DotRows()
    {
        ScoreKernels.DotRows(_rows, Factors, _query, _scores);
        return _scores[^1];
    }

    [Benchmark(Description = "DotRowsAbove (threshold mask)")]
    public ulong DotRowsAbove()
    {
        ScoreKernels.DotRowsAbove(_rows, Factors, _query, _scores, 2f, _above);
        return _above[0];
    }
}

/// <summary>One ALS row: gather a user's 200 item rows (bfloat16 or float32) and accumulate the CG product.</summary>
[MemoryDiagnoser]
public class AlsRowBenchmarks
{
    private const int Factors = 64;
    private const int Items = 100_000;
    private const int RowLength = 200;
    private readonly float[] _y = BenchData.Gaussian(Items * Factors, 3);
    private readonly ushort[] _yBfloat16 = new ushort[Items * Factors];
    private readonly int[] _cols = new int[RowLength];
    private readonly float[] _vals = new float[RowLength];
    private readonly float[] _v = BenchData.Gaussian(Factors, 4);
    private readonly float[] _gathered = new float[RowLength * Factors];
    private readonly float[] _acc = new float[Factors];

    public AlsRowBenchmarks()
    {
        AlsKernels.ToBfloat16(_y, _yBfloat16);
        var rng = new Rng(5);
        for (var k = 0; k < RowLength; k++)
        {
            _cols[k] = rng.Next(Items);
            _vals[k] = 1 + rng.Next(5);
        }

        Array.Sort(_cols);
    }

    [Benchmark(Baseline = true, Description = "float32 gather + accumulate")]
    public float Float32()
    {
        Array.Clear(_acc);
        AlsKernels.Gather(_y, Factors, _cols, _gathered);
        AlsKernels.AccumulateGathered(_gathered, Factors, _vals, 10f, _v, _acc, residual: true);
        return _acc[0];
    }

    [Benchmark(Description = "bfloat16 gather + accumulate")]
    public float Bfloat16()
    {
        Array.Clear(_acc);
        AlsKernels.GatherBfloat16(_yBfloat16, Factors, _cols, _gathered);
        AlsKernels.AccumulateGathered(_gathered, Factors, _vals, 10f, _v, _acc, residual: true);
        return _acc[0];
    }
}

/// <summary>The ranker's flat trees (default size) scoring 10,000 feature rows.</summary>
[MemoryDiagnoser]
public class RankerScoringBenchmarks
{
    private const int TrainRows = 20_000;
    private const int ScoreRows = 10_000;
    private readonly float[] _features = BenchData.Gaussian(Math.Max(TrainRows, ScoreRows) * FeatureContext.FeatureCount, 6);
    private readonly float[] _scores = new float[ScoreRows];
    private TreeEnsemble _trees = null!;

    [GlobalSetup]
    public void Setup()
    {
        const int F = FeatureContext.FeatureCount;
        var rng = new Rng(7);
        var labels = Enumerable.Range(0, TrainRows).Select(r => _features[r * F] + (0.5f * _features[(r * F) + 1]) + (float)rng.NextGaussian() > 1 ? 1f : 0f).ToArray();
        var groups = Enumerable.Range(0, TrainRows).Select(r => (uint)(r / 100)).ToArray();
        _trees = GradientBoostedRanker.Fit(_features.AsSpan(0, TrainRows * F).ToArray(), labels, groups, new RankerParameters { MinExamplesPerLeaf = 20 }).Trees;
    }

    [Benchmark(Baseline = true, Description = "tree walk, one row at a time")]
    public float Walk()
    {
        _trees.ScoreByWalk(_features.AsSpan(0, ScoreRows * FeatureContext.FeatureCount), _scores);
        return _scores[^1];
    }

    [Benchmark(Description = "TreeEnsemble.Score (eight rows per gather)")]
    public float Score()
    {
        _trees.Score(_features.AsSpan(0, ScoreRows * FeatureContext.FeatureCount), _scores);
        return _scores[^1];
    }
}

/// <summary>Top-k of 100,000 scores: the heap every list of the pipeline goes through.</summary>
[MemoryDiagnoser]
public class TopKBenchmarks
{
    private readonly float[] _scores = BenchData.Gaussian(100_000, 8);
    private readonly TopK _top = new(100);
    private readonly ScoredItem[] _best = new ScoredItem[100];

    [Benchmark(Description = "TopK k=100 of 100,000")]
    public int TopHundred()
    {
        _top.Clear();
        for (var i = 0; i < _scores.Length; i++)
        {
            _top.Add(i, _scores[i]);
        }

        return _top.Drain(_best);
    }
}

/// <summary>One query against an IVF index of 50,000 items × 64 factors, 1 and 24 lists probed.</summary>
[MemoryDiagnoser]
public class IvfSearchBenchmarks
{
    private const int Factors = 64;
    private const int Items = 50_000;
    private readonly float[] _query = BenchData.Gaussian(Factors, 9);
    private readonly bool[] _excluded = new bool[Items];
    private readonly TopK _top = new(10);
    private IvfIndex _index = null!;
    private float[] _listScores = null!;

    [Params(1, 24)]
    public int Probes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _index = IvfIndex.Build(BenchData.Gaussian(Items * Factors, 10), Factors, lists: 224, seed: 11);
        _listScores = new float[_index.Lists];
    }

    [Benchmark(Description = "IvfIndex.Search, top 10")]
    public float Search()
    {
        _top.Clear();
        _index.Search(_query, Probes, _top, _excluded, _listScores);
        return _top.Threshold;
    }
}
