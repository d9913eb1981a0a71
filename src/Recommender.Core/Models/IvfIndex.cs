using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Maximum-inner-product search over item vectors. Small catalogs are scanned exactly; large ones
/// go through an inverted-file index: every vector gets one extra coordinate √(M²−‖y‖²) so all
/// have norm M and inner product search becomes cosine search (Bachrach et al. 2014), items are
/// grouped by spherical k-means, and a query scans only the lists of its best centroids.
/// </summary>
public sealed class IvfIndex
{
    private readonly int _dim;
    private readonly float[] _vectors;   // n × dim, in list order
    private readonly int[] _ids;          // list position -> item
    private readonly int[] _listOffsets;  // nlist + 1
    private readonly float[] _centroids;  // nlist × (dim + 1), unit length

    private IvfIndex(int dim, float[] vectors, int[] ids, int[] listOffsets, float[] centroids)
    {
        _dim = dim;
        _vectors = vectors;
        _ids = ids;
        _listOffsets = listOffsets;
        _centroids = centroids;
    }

    public int Lists => _listOffsets.Length - 1;
    public int Count => _ids.Length;
    public bool IsExact => Lists == 1;

    /// <param name="lists">1 builds an exact index (one list holding everything).</param>
    public static IvfIndex Build(float[] vectors, int dim, int lists, ulong seed, int kmeansIterations = 8, int sampleSize = 100_000)
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
            maxNorm = Math.Max(maxNorm, TensorPrimitives.Norm(vectors.AsSpan(i * dim, dim)));
        }

        maxNorm = Math.Max(maxNorm, 1e-12f);
        var augmented = new float[n * d1];
        Parallel.For(0, n, Cores.Options(), i =>
        {
            var src = vectors.AsSpan(i * dim, dim);
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
            Parallel.For(0, sample.Length, Cores.Options(), s => assign[s] = Nearest(centroids, lists, augmented.AsSpan(sample[s] * d1, d1)));
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
        Parallel.For(0, n, Cores.Options(), i => listOf[i] = Nearest(centroids, lists, augmented.AsSpan(i * d1, d1)));
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
        Parallel.For(0, n, Cores.Options(), p => vectors.AsSpan(ids[p] * dim, dim).CopyTo(ordered.AsSpan(p * dim, dim)));
        return new IvfIndex(dim, ordered, ids, offsets, centroids);
    }

    /// <summary>
    /// Writes the list layout (item order, list offsets, centroids), not the vectors: they are the
    /// model's item factors, saved with the model, and <see cref="Load"/> reorders them again.
    /// </summary>
    public void Save(string path) =>
        Data.AtomicFile.Write(path, temp =>
        {
            using var stream = File.Create(temp);
            using var w = new BinaryWriter(stream);
            w.Write(Magic);
            w.Write(_dim);
            w.Write(Count);
            w.Write(Lists);
            w.Write(MemoryMarshal.AsBytes(_ids.AsSpan()));
            w.Write(MemoryMarshal.AsBytes(_listOffsets.AsSpan()));
            w.Write(MemoryMarshal.AsBytes(_centroids.AsSpan()));
        });

    /// <summary>Rebuilds a saved index over <paramref name="vectors"/> (n × dim, item order) without k-means.</summary>
    public static IvfIndex Load(string path, float[] vectors, int dim)
    {
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream);
        if (stream.Length < 16 || r.ReadInt32() != Magic)
        {
            throw new Data.DataException(path, null, "not an IVF index file");
        }

        int savedDim = r.ReadInt32(), n = r.ReadInt32(), lists = r.ReadInt32();
        if (savedDim != dim || n != vectors.Length / dim || lists < 1 || lists > Math.Max(1, n))
        {
            throw new Data.DataException(path, null, $"index of {n} vectors × {savedDim} in {lists} lists does not fit the model's {vectors.Length / dim} items × {dim}");
        }

        var centroidLength = lists == 1 ? 0 : lists * (dim + 1);
        if (stream.Length != 16 + (4L * n) + (4L * (lists + 1)) + (4L * centroidLength))
        {
            throw new Data.DataException(path, null, $"file is {stream.Length} bytes, truncated or padded");
        }

        var ids = new int[n];
        var offsets = new int[lists + 1];
        var centroids = new float[centroidLength];
        stream.ReadExactly(MemoryMarshal.AsBytes(ids.AsSpan()));
        stream.ReadExactly(MemoryMarshal.AsBytes(offsets.AsSpan()));
        stream.ReadExactly(MemoryMarshal.AsBytes(centroids.AsSpan()));
        var seen = new bool[n];
        for (var c = 0; c < lists; c++)
        {
            if (offsets[c] > offsets[c + 1])
            {
                throw new Data.DataException(path, null, $"list {c} ends before it starts");
            }
        }

        if (offsets[0] != 0 || offsets[lists] != n)
        {
            throw new Data.DataException(path, null, $"lists cover {offsets[0]}..{offsets[lists]}, not 0..{n}");
        }

        foreach (var id in ids)
        {
            if ((uint)id >= (uint)n || seen[id])
            {
                throw new Data.DataException(path, null, $"item {id} is out of range or listed twice");
            }

            seen[id] = true;
        }

        if (lists == 1)
        {
            return new IvfIndex(dim, vectors, ids, offsets, []);
        }

        var ordered = new float[n * dim];
        Parallel.For(0, n, Cores.Options(), p => vectors.AsSpan(ids[p] * dim, dim).CopyTo(ordered.AsSpan(p * dim, dim)));
        return new IvfIndex(dim, ordered, ids, offsets, centroids);
    }

    private const int Magic = 0x46564931; // "1IVF"

    /// <summary>
    /// Adds to <paramref name="top"/> the best items by inner product with <paramref name="query"/>,
    /// scanning the <paramref name="probes"/> best lists; items with <paramref name="excluded"/>[item] set are skipped.
    /// </summary>
    public void Search(ReadOnlySpan<float> query, int probes, TopK top, ReadOnlySpan<bool> excluded, Span<float> listScores)
    {
        if (IsExact)
        {
            ScanList(0, query, top, excluded);
            return;
        }

        var d1 = _dim + 1;
        var lists = Lists;
        for (var c = 0; c < lists; c++)
        {
            // The query's extra coordinate is 0: only the first dim coordinates count.
            listScores[c] = TensorPrimitives.Dot(query, _centroids.AsSpan(c * d1, _dim));
        }

        probes = Math.Min(probes, lists);
        var best = new TopK(probes);
        for (var c = 0; c < lists; c++)
        {
            best.Add(c, listScores[c]);
        }

        Span<ScoredItem> chosen = probes <= 256 ? stackalloc ScoredItem[probes] : new ScoredItem[probes];
        var count = best.Drain(chosen);
        for (var p = 0; p < count; p++)
        {
            ScanList(chosen[p].Item, query, top, excluded);
        }
    }

    private void ScanList(int list, ReadOnlySpan<float> query, TopK top, ReadOnlySpan<bool> excluded)
    {
        for (var p = _listOffsets[list]; p < _listOffsets[list + 1]; p++)
        {
            var item = _ids[p];
            if (excluded.Length > 0 && excluded[item])
            {
                continue;
            }

            top.Add(item, TensorPrimitives.Dot(query, _vectors.AsSpan(p * _dim, _dim)));
        }
    }

    private static int Nearest(float[] centroids, int lists, ReadOnlySpan<float> point)
    {
        var d1 = point.Length;
        var best = 0;
        var bestScore = float.NegativeInfinity;
        for (var c = 0; c < lists; c++)
        {
            var s = TensorPrimitives.Dot(point, centroids.AsSpan(c * d1, d1));
            if (s > bestScore)
            {
                bestScore = s;
                best = c;
            }
        }

        return best;
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
