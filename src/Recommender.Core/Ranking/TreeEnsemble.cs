using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Microsoft.ML.Trainers.FastTree;

namespace Recommender.Ranking;

/// <summary>
/// A trained LightGBM ensemble as one flat node array, scored without ML.NET's data views. Scoring every
/// user's ~120 candidates through <c>ITransformer.Transform</c> cost about half of the ranking
/// stage; here a block of rows walks each tree while the tree's nodes and the block's features
/// stay in L1. The arithmetic is ML.NET's own (<c>InternalTreeEnsemble.GetOutput</c>): a
/// double sum of the leaf values in tree order, <c>value &lt;= threshold</c> goes left, and the
/// total cast to float, so the scores are bit-for-bit those of the transformer (tested).
/// </summary>
public sealed unsafe class TreeEnsemble
{
    /// <summary>Rows walked through one tree before the next tree: 64 × 29 features = 7.4 KB, within L1 beside the tree.</summary>
    private const int Block = 64;

    // Every tree's nodes, concatenated: interior nodes, then the tree's leaves. A leaf is a node
    // whose both children are itself (and whose threshold is +∞), so that every row walks exactly
    // its tree's depth: the walk has no data-dependent branch, and the rows of a block step
    // through a tree level by level, independent of each other (the CPU overlaps their loads).
    private readonly Node[] _nodes;
    private readonly double[] _value; // the leaf value; 0 for interior nodes

    // Per node, the mean of its subtree's leaf values (a leaf's own value): the "expected score"
    // path attribution reads. The trees keep no training counts, so every leaf weighs the same.
    private readonly double[] _expected;

    /// <summary>16 bytes: what one step of a walk reads, in one place.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Node
    {
        public int Feature;
        public float Threshold;
        public int Left; // ≤ threshold
        public int Right; // > threshold, or NaN
    }

    private readonly int[] _roots;
    private readonly int[] _depths;

    // The same trees for eight rows per vector step (AVX2 gathers): a node's two children sit
    // side by side, so the next node is Left + (value > threshold), one compare per eight rows.
    // Leaves loop to themselves with threshold +∞; a NaN value is read as +∞ (both send a row
    // right at every interior node and keep it at a leaf, as the walk's !(value <= threshold) does).
    // Left child and feature in one int (left << _featureBits | feature): one gather reads both.
    private readonly int[] _vLeftFeature;
    private readonly int _featureBits;
    private readonly float[] _vThreshold;
    private readonly double[] _vValue;
    private readonly int[] _vRoots;

    private TreeEnsemble(int features, int[] roots, int[] depths, Node[] nodes, double[] value, double[] expected)
    {
        Features = features;
        _roots = roots;
        _depths = depths;
        _nodes = nodes;
        _value = value;
        _expected = expected;
        _featureBits = Math.Max(1, 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)Math.Max(1, features - 1)));
        int[] feature, left;
        (feature, _vThreshold, left, _vValue, _vRoots) = SiblingLayout(roots, nodes, value);
        if (left.Length >= 1 << (31 - _featureBits))
        {
            throw new NotSupportedException($"{left.Length} nodes: too many to pack with {features} features");
        }

        _vLeftFeature = new int[left.Length];
        for (var i = 0; i < left.Length; i++)
        {
            _vLeftFeature[i] = (left[i] << _featureBits) | feature[i];
        }
    }

    /// <summary>True when <see cref="Score"/> walks eight rows per vector step (AVX2); else it is <see cref="ScoreByWalk"/>.</summary>
    public static bool Vectorized => Avx2.IsSupported;

    /// <summary>Each tree laid out breadth first, an interior node's children allocated together (right = left + 1).</summary>
    private static (int[], float[], int[], double[], int[]) SiblingLayout(int[] roots, Node[] nodes, double[] value)
    {
        var feature = new List<int>();
        var threshold = new List<float>();
        var left = new List<int>();
        var leafValue = new List<double>();
        var vRoots = new int[roots.Length];
        var queue = new Queue<(int Node, int At)>();
        for (var t = 0; t < roots.Length; t++)
        {
            vRoots[t] = Allocate(1);
            queue.Enqueue((roots[t], vRoots[t]));
            while (queue.TryDequeue(out var next))
            {
                var n = nodes[next.Node];
                if (n.Left == next.Node)
                {
                    (feature[next.At], threshold[next.At], left[next.At], leafValue[next.At]) = (0, float.PositiveInfinity, next.At, value[next.Node]);
                    continue;
                }

                var children = Allocate(2);
                (feature[next.At], threshold[next.At], left[next.At]) = (n.Feature, n.Threshold, children);
                queue.Enqueue((n.Left, children));
                queue.Enqueue((n.Right, children + 1));
            }
        }

        return ([.. feature], [.. threshold], [.. left], [.. leafValue], vRoots);

        int Allocate(int count)
        {
            var at = feature.Count;
            for (var c = 0; c < count; c++)
            {
                feature.Add(0);
                threshold.Add(0);
                left.Add(0);
                leafValue.Add(0);
            }

            return at;
        }
    }

    /// <summary>Feature values per row.</summary>
    public int Features { get; }

    public int Trees => _roots.Length;

    /// <summary>Levels walked per row, over all trees.</summary>
    public int TotalDepth => _depths.Sum();

    /// <summary>The first <paramref name="trees"/> trees: the model boosting would have stopped at (each tree's scores are added in order, so a prefix scores as the shorter fit).</summary>
    public TreeEnsemble Prefix(int trees)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(trees, Trees);
        ArgumentOutOfRangeException.ThrowIfNegative(trees);
        return new TreeEnsemble(Features, _roots[..trees], _depths[..trees], _nodes, _value, _expected);
    }

    /// <summary>Copies the trees of a model ML.NET trained (numeric splits only: the ranker declares no categorical features).</summary>
    public static TreeEnsemble From(RegressionTreeEnsemble ensemble, int features)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        if (ensemble.Bias != 0 || ensemble.TreeWeights.Any(w => w != 1))
        {
            // ML.NET's scoring sums the trees' leaf values without bias or weights; an ensemble
            // carrying them would score differently here than there.
            throw new NotSupportedException($"tree ensemble with bias {ensemble.Bias} or tree weights other than 1: not a LightGBM ranking model");
        }

        var trees = ensemble.Trees;
        var roots = new int[trees.Count];
        var depths = new int[trees.Count];
        var nodes = new List<Node>();
        var value = new List<double>();
        var expected = new List<double>();
        for (var t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            var interior = tree.NumberOfLeaves == 1 ? 0 : tree.NumberOfNodes;
            var nodeBase = nodes.Count;
            var leafBase = nodeBase + interior;
            roots[t] = interior == 0 ? leafBase : nodeBase;
            for (var n = 0; n < interior; n++)
            {
                if (tree.CategoricalSplitFlags[n])
                {
                    throw new NotSupportedException($"tree {t} node {n}: categorical split; the ranker's features are all numeric");
                }

                var f = tree.NumericalSplitFeatureIndexes[n];
                if (f < 0 || f >= features)
                {
                    throw new InvalidDataException($"tree {t} node {n} splits on feature {f}; the ranker has {features}");
                }

                nodes.Add(new Node { Feature = f, Threshold = tree.NumericalSplitThresholds[n], Left = Child(tree.LeftChild[n]), Right = Child(tree.RightChild[n]) });
                value.Add(0);
                var (sum, leaves) = SubtreeLeaves(tree, n);
                expected.Add(sum / leaves);
            }

            for (var leaf = 0; leaf < tree.NumberOfLeaves; leaf++)
            {
                nodes.Add(new Node { Feature = 0, Threshold = float.PositiveInfinity, Left = leafBase + leaf, Right = leafBase + leaf });
                value.Add(tree.LeafValues[leaf]);
                expected.Add(tree.LeafValues[leaf]);
            }

            depths[t] = interior == 0 ? 0 : Depth(tree, 0);

            int Child(int child) => child >= 0 ? nodeBase + child : leafBase + ~child;
        }

        return new TreeEnsemble(features, roots, depths, [.. nodes], [.. value], [.. expected]);

        static (double Sum, int Leaves) SubtreeLeaves(RegressionTree tree, int node)
        {
            var (l, r) = (tree.LeftChild[node], tree.RightChild[node]);
            var (ls, ln) = l < 0 ? (tree.LeafValues[~l], 1) : SubtreeLeaves(tree, l);
            var (rs, rn) = r < 0 ? (tree.LeafValues[~r], 1) : SubtreeLeaves(tree, r);
            return (ls + rs, ln + rn);
        }

        static int Depth(RegressionTree tree, int node) =>
            1 + Math.Max(tree.LeftChild[node] < 0 ? 0 : Depth(tree, tree.LeftChild[node]), tree.RightChild[node] < 0 ? 0 : Depth(tree, tree.RightChild[node]));
    }

    /// <summary>A block's copy for <see cref="Score"/>, one per thread: a call allocates nothing once its thread has one (BenchmarkDotNet's memory diagnoser found 4.9 KB per call).</summary>
    [ThreadStatic]
    private static float[]? t_clean;

    /// <summary>Scores <paramref name="scores"/>.Length rows of <see cref="Features"/> values each: eight rows per vector step where AVX2 is, else <see cref="ScoreByWalk"/>.</summary>
    public void Score(ReadOnlySpan<float> features, Span<float> scores)
    {
        var rows = scores.Length;
        if (features.Length < rows * Features)
        {
            throw new ArgumentException($"{features.Length} feature values for {rows} rows of {Features}", nameof(features));
        }

        if (!Vectorized)
        {
            ScoreByWalk(features, scores);
            return;
        }

        const int Lanes = 8, Groups = Block / Lanes;
        var stride = Features;

        // A block's features as the gathers read them: copied only for a partial last block or a NaN.
        var clean = t_clean is { } cached && cached.Length == Block * stride ? cached : (t_clean = new float[Block * stride]);
        Span<Vector256<int>> at = stackalloc Vector256<int>[Groups];
        Span<Vector256<int>> rowStart = stackalloc Vector256<int>[Groups];
        Span<Vector256<double>> low = stackalloc Vector256<double>[Groups];
        Span<Vector256<double>> high = stackalloc Vector256<double>[Groups];
        for (var g = 0; g < Groups; g++)
        {
            rowStart[g] = Vector256.Create(g * Lanes) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            rowStart[g] *= stride;
        }

        var featureMask = Vector256.Create((1 << _featureBits) - 1);
        var bits = _featureBits;
        fixed (int* leftFeature = _vLeftFeature)
        fixed (float* threshold = _vThreshold)
        fixed (double* value = _vValue)
        fixed (float* all = features)
        fixed (float* cleaned = clean)
        {
            for (var start = 0; start < rows; start += Block)
            {
                var count = Math.Min(Block, rows - start);
                var block = features.Slice(start * stride, count * stride);
                var source = all + ((long)start * stride);
                if (count < Block || HasNaN(block))
                {
                    clean.AsSpan().Clear();
                    block.CopyTo(clean);
                    foreach (ref var x in clean.AsSpan())
                    {
                        x = float.IsNaN(x) ? float.PositiveInfinity : x;
                    }

                    source = cleaned;
                }

                for (var g = 0; g < Groups; g++)
                {
                    low[g] = default;
                    high[g] = default;
                }

                for (var t = 0; t < _vRoots.Length; t++)
                {
                    var root = Vector256.Create(_vRoots[t]);
                    for (var g = 0; g < Groups; g++)
                    {
                        at[g] = root;
                    }

                    for (var d = _depths[t]; d > 0; d--)
                    {
                        for (var g = 0; g < Groups; g++)
                        {
                            var node = at[g];
                            var packed = Avx2.GatherVector256(leftFeature, node, 4);
                            var x = Avx2.GatherVector256(source, rowStart[g] + (packed & featureMask), 4);
                            var right = Avx.CompareGreaterThan(x, Avx2.GatherVector256(threshold, node, 4)).AsInt32(); // all ones: right
                            at[g] = Vector256.ShiftRightLogical(packed, bits) - right;
                        }
                    }

                    for (var g = 0; g < Groups; g++)
                    {
                        // Per row, the leaf values added in tree order as doubles: the walk's sum, lane by lane.
                        low[g] = Avx.Add(low[g], Avx2.GatherVector256(value, at[g].GetLower(), 8));
                        high[g] = Avx.Add(high[g], Avx2.GatherVector256(value, at[g].GetUpper(), 8));
                    }
                }

                for (var r = 0; r < count; r++)
                {
                    var g = r / Lanes;
                    var lane = r % Lanes;
                    scores[start + r] = (float)(lane < 4 ? low[g].GetElement(lane) : high[g].GetElement(lane - 4));
                }
            }
        }

        static bool HasNaN(ReadOnlySpan<float> values)
        {
            foreach (var x in values)
            {
                if (float.IsNaN(x))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Why one row scored what it did (Saabas' path attribution): walking each tree, every split
    /// adds to its feature the change in the expected score from the node to the child taken; the
    /// root's expectation goes to the bias. Per tree the changes telescope to the leaf value, so
    /// <c>bias + Σ contributions</c> is the row's score (as a double, before the cast to float).
    /// </summary>
    /// <returns>the bias: the sum over trees of each root's expected score.</returns>
    public double Contributions(ReadOnlySpan<float> row, Span<double> contributions)
    {
        if (row.Length != Features || contributions.Length != Features)
        {
            throw new ArgumentException($"one row of {Features} features and {Features} contributions expected (got {row.Length} and {contributions.Length})");
        }

        contributions.Clear();
        var bias = 0.0;
        foreach (var root in _roots)
        {
            var node = root;
            bias += _expected[node];
            while (_nodes[node].Left != node)
            {
                var n = _nodes[node];
                var next = row[n.Feature] <= n.Threshold ? n.Left : n.Right;
                contributions[n.Feature] += _expected[next] - _expected[node];
                node = next;
            }
        }

        return bias;
    }

    /// <summary>
    /// The same scores by walking each tree from its root, one row at a time: the reference the
    /// vector walk is tested against, and the scorer without AVX2.
    /// </summary>
    public void ScoreByWalk(ReadOnlySpan<float> features, Span<float> scores)
    {
        var rows = scores.Length;
        if (features.Length < rows * Features)
        {
            throw new ArgumentException($"{features.Length} feature values for {rows} rows of {Features}", nameof(features));
        }

        Span<double> sums = stackalloc double[Block];
        Span<int> nodes = stackalloc int[Block];
        ref var tree = ref MemoryMarshal.GetArrayDataReference(_nodes);
        var stride = Features;
        for (var start = 0; start < rows; start += Block)
        {
            var count = Math.Min(Block, rows - start);
            ref var block = ref MemoryMarshal.GetReference(features.Slice(start * stride, count * stride));
            ref var node0 = ref MemoryMarshal.GetReference(nodes);
            sums[..count].Clear();
            for (var t = 0; t < _roots.Length; t++)
            {
                nodes[..count].Fill(_roots[t]);
                for (var d = _depths[t]; d > 0; d--)
                {

                    // Bounds are known: nodes come from _children, features from a checked slice.
                    for (var r = 0; r < count; r++)
                    {
                        ref var node = ref Unsafe.Add(ref node0, r);
                        // ML.NET's test: value <= threshold goes left; NaN (never produced by FeatureContext) goes right.
                        ref var n = ref Unsafe.Add(ref tree, node);
                        var value = Unsafe.Add(ref block, (r * stride) + n.Feature);
                        node = Unsafe.Add(ref n.Left, Unsafe.BitCast<bool, byte>(!(value <= n.Threshold))); // Right follows Left
                    }
                }

                for (var r = 0; r < count; r++)
                {
                    sums[r] += _value[nodes[r]];
                }
            }

            for (var r = 0; r < count; r++)
            {
                scores[start + r] = (float)sums[r];
            }
        }
    }

}
