using System.Numerics.Tensors;
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
    private readonly float[] _centroidRows; // nlist × dim: the centroids without the extra coordinate, for the row kernel

    private IvfIndex(int dim, float[] vectors, int[] ids, int[] listOffsets, float[] centroids)
    {
        _dim = dim;
        _vectors = vectors;
        _ids = ids;
        _listOffsets = listOffsets;
        _centroids = centroids;
        var lists = listOffsets.Length - 1;
        _centroidRows = new float[lists == 1 ? 0 : lists * dim];
        for (var c = 0; c < lists && lists > 1; c++)
        {
            centroids.AsSpan(c * (dim + 1), dim).CopyTo(_centroidRows.AsSpan(c * dim, dim));
        }
    }

    public int Lists => _listOffsets.Length - 1;

    /// <summary>
    /// Smallest, median and largest list, and Σ size² / items: the mean size of the list an item
    /// sits in, which is what a probe scans when queries fall where the items are.
    /// </summary>
    public (int Min, int Median, int Max, double ItemWeightedMean) ListSizes()
    {
        var sizes = Enumerable.Range(0, Lists).Select(l => _listOffsets[l + 1] - _listOffsets[l]).Order().ToArray();
        return (sizes[0], sizes[sizes.Length / 2], sizes[^1], sizes.Sum(x => (double)x * x) / Math.Max(1, Count));
    }
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
        Parallel.For(0, n, Cores.Options(), p => vectors.AsSpan(ids[p] * dim, dim).CopyTo(ordered.AsSpan(p * dim, dim)));
        return new IvfIndex(dim, ordered, ids, offsets, centroids);
    }

    /// <summary>
    /// Writes the list layout (item order, list offsets, centroids), not the vectors: they are the
    /// model's item factors, saved with the model, and <see cref="Load"/> reorders them again.
    /// </summary>
    public void Save(string path) =>
        Data.BinaryArtifact.Write(path, Format, [_dim, Count, Lists], w =>
        {
            w.Array<int>(_ids);
            w.Array<int>(_listOffsets);
            w.Array<float>(_centroids);
        });

    /// <summary>als_index.bin: header dim, items, lists; then item ids in list order, list offsets, centroids (with their norms).</summary>
    public static Data.BinaryFormat Format { get; } = new("an IVF index", 0x46564931, 2, 3); // "1IVF"

    /// <summary>Rebuilds a saved index over <paramref name="vectors"/> (n × dim, item order) without k-means.</summary>
    public static IvfIndex Load(string path, float[] vectors, int dim)
    {
        using var r = Data.BinaryArtifact.Open(path, Format);
        int savedDim = r.HeaderInt(0, "dimension"), n = r.HeaderInt(1, "items"), lists = r.HeaderInt(2, "lists");
        if (savedDim != dim || n != vectors.Length / dim || lists < 1 || lists > Math.Max(1, n))
        {
            throw new Data.DataException(path, null, $"index of {n} vectors × {savedDim} in {lists} lists does not fit the model's {vectors.Length / dim} items × {dim}");
        }

        var ids = r.Array<int>(n, "item ids");
        var offsets = r.Array<int>(lists + 1L, "list offsets");
        var centroids = r.Array<float>(lists == 1 ? 0 : lists * (dim + 1L), "centroids");
        r.End();
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

        probes = Math.Min(probes, Lists);
        Span<int> chosen = probes <= 256 ? stackalloc int[probes] : new int[probes];
        ChooseLists(query, new TopK(probes), listScores, chosen);
        foreach (var list in chosen)
        {
            ScanList(list, query, top, excluded);
        }
    }

    /// <summary>Rows scored per kernel call: 128 rows of 64 floats (32 KB) stay in L1 while every query of a batch scores them.</summary>
    private const int ScanBlock = 128;

    private void ScanList(int list, ReadOnlySpan<float> query, TopK top, ReadOnlySpan<bool> excluded)
    {
        Span<float> scores = stackalloc float[ScanBlock];
        Span<ulong> above = stackalloc ulong[ScanBlock / 64];
        var end = _listOffsets[list + 1];
        for (var start = _listOffsets[list]; start < end; start += ScanBlock)
        {
            var block = scores[..Math.Min(ScanBlock, end - start)];
            var threshold = top.Threshold;

            // As in SearchMany: only the rows the kernel marked, each checked against the current threshold.
            ScoreKernels.DotRowsAbove(_vectors.AsSpan(start * _dim, block.Length * _dim), _dim, query, block, threshold, above);
            foreach (var j in ScoreKernels.MarkedRows(above, block.Length))
            {
                // Ties at the threshold still go to TopK, which breaks them by item id.
                if (block[j] < threshold)
                {
                    continue;
                }

                var item = _ids[start + j];
                if (excluded.Length > 0 && excluded[item])
                {
                    continue;
                }

                top.Add(item, block[j]);
                threshold = top.Threshold;
            }
        }
    }

    /// <summary>
    /// <see cref="Search"/> for a batch of queries at once, with the same result per query. Each
    /// list any query probes is read once per batch: a block of its rows stays in cache while every
    /// query that probes the list scores it, so memory traffic falls by the number of such queries.
    /// </summary>
    /// <param name="queries">tops.Length × dim query vectors.</param>
    /// <param name="tops">one heap per query; results are added to what they hold.</param>
    /// <param name="excludedOffsets">tops.Length + 1 offsets into <paramref name="excludedSorted"/>, or empty for no exclusions.</param>
    /// <param name="excludedSorted">per query, the items it must not get, ascending.</param>
    public void SearchMany(ReadOnlySpan<float> queries, int probes, ReadOnlySpan<TopK> tops, ReadOnlySpan<int> excludedOffsets, ReadOnlySpan<int> excludedSorted, IvfSearchScratch scratch)
    {
        var batch = tops.Length;
        if (queries.Length != batch * _dim || (excludedOffsets.Length != 0 && excludedOffsets.Length != batch + 1))
        {
            throw new ArgumentException($"{queries.Length} query floats or {excludedOffsets.Length} exclusion offsets do not fit {batch} queries of width {_dim}");
        }

        probes = IsExact ? 1 : Math.Clamp(probes, 1, Lists);
        scratch.Reserve(Lists, batch, probes, FilterWords);
        var counts = scratch.ListCounts;
        counts.AsSpan(0, Lists + 1).Clear();
        var chosen = scratch.Probed;
        for (var q = 0; q < batch; q++)
        {
            ChooseLists(queries.Slice(q * _dim, _dim), scratch.ListTop, scratch.ListScores, chosen.AsSpan(q * probes, probes));
            for (var p = 0; p < probes; p++)
            {
                counts[chosen[(q * probes) + p] + 1]++;
            }
        }

        // Counting sort of (list, query) pairs: queries grouped by the lists they probe.
        for (var l = 0; l < Lists; l++)
        {
            counts[l + 1] += counts[l];
        }

        var members = scratch.Members;
        var next = scratch.Next;
        counts.AsSpan(0, Lists).CopyTo(next);
        for (var q = 0; q < batch; q++)
        {
            for (var p = 0; p < probes; p++)
            {
                members[next[chosen[(q * probes) + p]]++] = q;
            }
        }

        // A 1024-bit hash filter of each query's excluded items: most candidates are not excluded,
        // and the filter says so from L1 without a binary search through the history.
        var filters = scratch.Filters.AsSpan(0, batch * FilterWords);
        filters.Clear();
        for (var q = 0; q < batch && !excludedOffsets.IsEmpty; q++)
        {
            foreach (var item in excludedSorted[excludedOffsets[q]..excludedOffsets[q + 1]])
            {
                var bit = FilterBit(item);
                filters[(q * FilterWords) + (bit >> 6)] |= 1UL << bit;
            }
        }

        Span<float> scores = stackalloc float[ScanBlock];
        Span<ulong> above = stackalloc ulong[ScanBlock / 64];
        for (var l = 0; l < Lists; l++)
        {
            var who = members.AsSpan(counts[l], counts[l + 1] - counts[l]);
            if (who.IsEmpty)
            {
                continue;
            }

            var end = _listOffsets[l + 1];
            for (var start = _listOffsets[l]; start < end; start += ScanBlock)
            {
                var block = scores[..Math.Min(ScanBlock, end - start)];
                var rows = _vectors.AsSpan(start * _dim, block.Length * _dim);
                foreach (var q in who)
                {
                    var top = tops[q];
                    var threshold = top.Threshold;

                    // Only the rows at or above the heap's threshold when the block was scored are
                    // visited (the kernel marks them); the threshold only rises, so each is checked again.
                    ScoreKernels.DotRowsAbove(rows, _dim, queries.Slice(q * _dim, _dim), block, threshold, above);
                    var excluded = excludedOffsets.IsEmpty ? [] : excludedSorted[excludedOffsets[q]..excludedOffsets[q + 1]];
                    foreach (var j in ScoreKernels.MarkedRows(above, block.Length))
                    {
                        if (block[j] < threshold)
                        {
                            continue;
                        }

                        var item = _ids[start + j];
                        var bit = FilterBit(item);
                        if ((filters[(q * FilterWords) + (bit >> 6)] & (1UL << bit)) != 0 && excluded.BinarySearch(item) >= 0)
                        {
                            continue;
                        }

                        top.Add(item, block[j]);
                        threshold = top.Threshold;
                    }
                }
            }
        }
    }

    /// <summary>Supplies query <paramref name="position"/>: its vector and the items it must not get (any order); false skips it.</summary>
    public delegate bool QuerySource(int position, Span<float> query, out ReadOnlySpan<int> excluded);

    /// <summary>Receives the best items of query <paramref name="position"/>, best first.</summary>
    public delegate void ResultSink(int position, ReadOnlySpan<ScoredItem> best);

    /// <summary>
    /// Queries per <see cref="SearchMany"/> batch: enough that a list is shared by many of them, few
    /// enough that their heaps stay in cache (1,024 top-100 heaps: 1.6 MB, within a 2 MB L2). At full
    /// size, on every 13th user or track, 1,024 beat 64 by 19% for top-100 and 15% for similar tracks
    /// (`bench --ivf-batch`, docs/benchmarks.md).
    /// </summary>
    public const int DefaultBatchSize = 1024;

    /// <summary>
    /// The top <paramref name="k"/> of every query position 0..<paramref name="count"/>, in parallel
    /// batches of <paramref name="batchSize"/> consecutive positions: callers order positions so that
    /// neighbours probe the same lists (<see cref="NearestList"/>). The results do not depend on the batch size.
    /// </summary>
    public void SearchAll(int count, int k, int probes, QuerySource source, ResultSink sink, CancellationToken cancellation = default, Diagnostics.StageProgress? progress = null, int batchSize = DefaultBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var batches = (count + batchSize - 1) / batchSize;
        Parallel.For(0, batches, Cores.Options(cancellation), () => new BatchState(_dim, k, batchSize), (batch, _, state) =>
        {
            var from = batch * batchSize;
            var to = Math.Min(count, from + batchSize);
            var n = 0;
            var excludedCount = 0;
            for (var position = from; position < to; position++)
            {
                if (!source(position, state.Queries.AsSpan(n * _dim, _dim), out var excluded))
                {
                    continue;
                }

                if (state.Excluded.Length < excludedCount + excluded.Length)
                {
                    Array.Resize(ref state.Excluded, Math.Max(2 * state.Excluded.Length, excludedCount + excluded.Length));
                }

                var sorted = state.Excluded.AsSpan(excludedCount, excluded.Length);
                excluded.CopyTo(sorted);
                sorted.Sort();
                excludedCount += excluded.Length;
                state.Positions[n] = position;
                state.Offsets[++n] = excludedCount;
            }

            SearchMany(state.Queries.AsSpan(0, n * _dim), probes, state.Tops.AsSpan(0, n), state.Offsets.AsSpan(0, n + 1), state.Excluded.AsSpan(0, excludedCount), state.Scratch);
            for (var q = 0; q < n; q++)
            {
                var got = state.Tops[q].Drain(state.Buffer);
                sink(state.Positions[q], state.Buffer.AsSpan(0, got));
            }

            progress?.Add(to - from);
            return state;
        }, _ => { });
    }

    private sealed class BatchState(int dim, int k, int batchSize)
    {
        public readonly float[] Queries = new float[batchSize * dim];
        public readonly TopK[] Tops = Enumerable.Range(0, batchSize).Select(_ => new TopK(k)).ToArray();
        public readonly int[] Positions = new int[batchSize];
        public readonly int[] Offsets = new int[batchSize + 1];
        public readonly ScoredItem[] Buffer = new ScoredItem[k];
        public readonly IvfSearchScratch Scratch = new();
        public int[] Excluded = new int[1024];
    }

    private const int FilterWords = 16;

    /// <summary>Fibonacci hashing to 10 bits: neighbouring item ids land on unrelated bits.</summary>
    private static int FilterBit(int item) => (int)(((uint)item * 2654435769u) >> 22);

    /// <summary>The <paramref name="chosen"/>.Length lists whose centroids score best against <paramref name="query"/>.</summary>
    private void ChooseLists(ReadOnlySpan<float> query, TopK best, Span<float> listScores, Span<int> chosen)
    {
        if (IsExact)
        {
            chosen[0] = 0;
            return;
        }

        // The query's extra coordinate is 0: only the first dim coordinates count.
        ScoreKernels.DotRows(_centroidRows, _dim, query, listScores[..Lists]);

        best.Clear();
        for (var c = 0; c < Lists; c++)
        {
            best.Add(c, listScores[c]);
        }

        Span<ScoredItem> drained = chosen.Length <= 256 ? stackalloc ScoredItem[chosen.Length] : new ScoredItem[chosen.Length];
        var count = best.Drain(drained);
        for (var p = 0; p < count; p++)
        {
            chosen[p] = drained[p].Item;
        }
    }

    /// <summary>The list whose centroid scores best against <paramref name="query"/>: users sorted by it scan the same lists one after another.</summary>
    public int NearestList(ReadOnlySpan<float> query)
    {
        if (IsExact)
        {
            return 0;
        }

        Span<float> scores = Lists <= 4096 ? stackalloc float[Lists] : new float[Lists];
        ScoreKernels.DotRows(_centroidRows, _dim, query, scores);
        var best = 0;
        for (var c = 1; c < scores.Length; c++)
        {
            if (scores[c] > scores[best])
            {
                best = c;
            }
        }

        return best;
    }

    /// <summary>The indexed items in list order: items next to each other here share their nearest lists.</summary>
    public ReadOnlySpan<int> ItemsInListOrder => _ids;

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
