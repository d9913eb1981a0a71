using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
public sealed class TreeEnsemble
{
    /// <summary>Rows walked through one tree before the next tree: 64 × 19 features = 4.9 KB.</summary>
    private const int Block = 64;

    // Every tree's nodes, concatenated: interior nodes, then the tree's leaves. A leaf is a node
    // whose both children are itself (and whose threshold is +∞), so that every row walks exactly
    // its tree's depth: the walk has no data-dependent branch, and the rows of a block step
    // through a tree level by level, independent of each other (the CPU overlaps their loads).
    private readonly Node[] _nodes;
    private readonly double[] _value; // the leaf value; 0 for interior nodes

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

    private TreeEnsemble(int features, int[] roots, int[] depths, Node[] nodes, double[] value)
    {
        Features = features;
        _roots = roots;
        _depths = depths;
        _nodes = nodes;
        _value = value;
    }

    /// <summary>Feature values per row.</summary>
    public int Features { get; }

    public int Trees => _roots.Length;

    /// <summary>Levels walked per row, over all trees.</summary>
    public int TotalDepth => _depths.Sum();

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
            }

            for (var leaf = 0; leaf < tree.NumberOfLeaves; leaf++)
            {
                nodes.Add(new Node { Feature = 0, Threshold = float.PositiveInfinity, Left = leafBase + leaf, Right = leafBase + leaf });
                value.Add(tree.LeafValues[leaf]);
            }

            depths[t] = interior == 0 ? 0 : Depth(tree, 0);

            int Child(int child) => child >= 0 ? nodeBase + child : leafBase + ~child;
        }

        return new TreeEnsemble(features, roots, depths, [.. nodes], [.. value]);

        static int Depth(RegressionTree tree, int node) =>
            1 + Math.Max(tree.LeftChild[node] < 0 ? 0 : Depth(tree, tree.LeftChild[node]), tree.RightChild[node] < 0 ? 0 : Depth(tree, tree.RightChild[node]));
    }

    /// <summary>Scores <paramref name="scores"/>.Length rows of <see cref="Features"/> values each.</summary>
    public void Score(ReadOnlySpan<float> features, Span<float> scores)
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
