using System.Numerics.Tensors;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>Searching the index: one query (serving), or batches of queries that share each list scan (top-k for every user, similar tracks).</summary>
public sealed partial class IvfIndex
{
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
        ChooseLists(query, ListPicker(probes), listScores, chosen);
        foreach (var list in chosen)
        {
            ScanList(list, query, top, excluded);
        }
    }

    /// <summary>The heap that picks a query's lists, one per thread: a serving query allocates nothing once its thread has one.</summary>
    [ThreadStatic]
    private static TopK? t_listPicker;

    private static TopK ListPicker(int probes) =>
        t_listPicker is { } picker && picker.Capacity == probes ? picker : (t_listPicker = new TopK(probes));

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
            ScoreKernels.DotRowsAbove(_vectors.Span.Slice(start * _dim, block.Length * _dim), _dim, query, block, threshold, above);
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
                var rows = _vectors.Span.Slice(start * _dim, block.Length * _dim);
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
}
