using System.Numerics.Tensors;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>Building the index: spherical k-means over the augmented vectors, items grouped by their nearest centroid.</summary>
public sealed partial class IvfIndex
{
    /// <param name="lists">1 builds an exact index (one list holding everything).</param>
    public static IvfIndex Build(ReadOnlyMemory<float> vectors, int dim, int lists, ulong seed, int kmeansIterations = 8, int sampleSize = 100_000)
    {
        var n = vectors.Length / dim;
        lists = Math.Clamp(lists, 1, Math.Max(1, n));
        if (lists == 1)
        {
            return new IvfIndex(dim, vectors, Enumerable.Range(0, n).ToArray(), [0, n], []);
        }

        // Augment to norm M, then normalise: every point lies on the unit sphere.
        var d1 = dim + 1;
        var maxNorm = 0f;
        for (var i = 0; i < n; i++)
        {
            maxNorm = Math.Max(maxNorm, TensorPrimitives.Norm(vectors.Span.Slice(i * dim, dim)));
        }

        maxNorm = Math.Max(maxNorm, 1e-12f);
        var augmented = new float[n * d1];
        Parallel.For(0, n, Cores.Options(), i =>
        {
            var src = vectors.Span.Slice(i * dim, dim);
            var dst = augmented.AsSpan(i * d1, d1);
            var sq = TensorPrimitives.SumOfSquares(src);
            TensorPrimitives.Divide(src, maxNorm, dst[..dim]);
            dst[dim] = MathF.Sqrt(MathF.Max(0, (maxNorm * maxNorm) - sq)) / maxNorm;
        });

        // Spherical k-means on a sample, then assign everything.
        var rng = new Rng(seed);
        var sample = SampleRows(n, Math.Min(n, Math.Max(sampleSize, lists * 8)), ref rng);
        var centroids = new float[lists * d1];
        for (var c = 0; c < lists; c++)
        {
            augmented.AsSpan(sample[c % sample.Length] * d1, d1).CopyTo(centroids.AsSpan(c * d1, d1));
        }

        var assign = new int[sample.Length];
        for (var it = 0; it < kmeansIterations; it++)
        {
            AssignNearest(centroids, lists, dim, augmented, sample, assign);
            var sums = new float[lists * d1];
            var counts = new int[lists];
            for (var s = 0; s < sample.Length; s++)
            {
                var target = sums.AsSpan(assign[s] * d1, d1);
                TensorPrimitives.Add(target, augmented.AsSpan(sample[s] * d1, d1), target);
                counts[assign[s]]++;
            }

            for (var c = 0; c < lists; c++)
            {
                var centroid = centroids.AsSpan(c * d1, d1);
                if (counts[c] == 0)
                {
                    // Re-seed an empty list with a random sample point.
                    augmented.AsSpan(sample[rng.Next(sample.Length)] * d1, d1).CopyTo(centroid);
                    continue;
                }

                var sum = sums.AsSpan(c * d1, d1);
                var norm = TensorPrimitives.Norm(sum);
                TensorPrimitives.Divide(sum, norm > 0 ? norm : 1, centroid);
            }
        }

        var listOf = new int[n];
        AssignNearest(centroids, lists, dim, augmented, null, listOf);
        var offsets = new int[lists + 1];
        foreach (var l in listOf)
        {
            offsets[l + 1]++;
        }

        Csr.CountsToOffsets(offsets);

        var next = offsets[..^1].ToArray();
        var ids = new int[n];
        for (var i = 0; i < n; i++)
        {
            ids[next[listOf[i]]++] = i;
        }

        var ordered = new float[n * dim];
        Parallel.For(0, n, Cores.Options(), p => vectors.Span.Slice(ids[p] * dim, dim).CopyTo(ordered.AsSpan(p * dim, dim)));
        return new IvfIndex(dim, ordered, ids, offsets, centroids);
    }

    /// <summary>
    /// destination[s] = the nearest centroid of point points[s] (every point when null) of
    /// <paramref name="augmented"/> (rows of dim + 1): the first dim coordinates through the
    /// eight-row kernel over all centroids at once (a Dot call per centroid cost 3× as much),
    /// plus the extra coordinate's product; the first best wins.
    /// </summary>
    internal static void AssignNearest(float[] centroids, int lists, int dim, float[] augmented, int[]? points, int[] destination)
    {
        var d1 = dim + 1;
        var rows = new float[lists * dim];
        var extra = new float[lists];
        for (var c = 0; c < lists; c++)
        {
            centroids.AsSpan(c * d1, dim).CopyTo(rows.AsSpan(c * dim, dim));
            extra[c] = centroids[(c * d1) + dim];
        }

        var count = points?.Length ?? augmented.Length / d1;
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, count, 4096), Cores.Options(), range =>
        {
            var scores = new float[lists];
            for (var s = range.Item1; s < range.Item2; s++)
            {
                var point = augmented.AsSpan((points?[s] ?? s) * d1, d1);
                ScoreKernels.DotRows(rows, dim, point[..dim], scores);
                var tail = point[dim];
                var best = 0;
                var bestScore = float.NegativeInfinity;
                for (var c = 0; c < lists; c++)
                {
                    var score = scores[c] + (tail * extra[c]);
                    if (score > bestScore)
                    {
                        bestScore = score;
                        best = c;
                    }
                }

                destination[s] = best;
            }
        });
    }

    private static int[] SampleRows(int n, int size, ref Rng rng)
    {
        var all = Enumerable.Range(0, n).ToArray();
        for (var i = 0; i < size; i++)
        {
            var j = i + rng.Next(n - i);
            (all[i], all[j]) = (all[j], all[i]);
        }

        return all[..size];
    }
}
