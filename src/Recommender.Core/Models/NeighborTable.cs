using Recommender.Diagnostics;
using System.Numerics.Tensors;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Item → its k nearest items, as CSR: item i's neighbours are Items[Offsets[i]..Offsets[i+1]],
/// best first, with their scores. Never lists an item as its own neighbour.
/// </summary>
public sealed class NeighborTable : ScoredLists
{
    public NeighborTable(int[] offsets, int[] items, float[] scores)
        : base(offsets, items, scores)
    {
    }

    private NeighborTable((Memory<int> Offsets, Memory<int> Items, Memory<float> Scores) csr)
        : base(csr.Offsets, csr.Items, csr.Scores)
    {
    }

    public int NumItems => Rows;

    /// <summary>
    /// IVF lists a similar-tracks search scans (of √items, 1,000 at full size). At full size on
    /// converged factors, recall@10 against exact search was 0.9921 at 20 probes and 0.9941 at 24,
    /// and 20 took 89% of 24's time (`bench --stages similar --probes 20,24`, docs/benchmarks.md).
    /// </summary>
    public const int DefaultProbes = 22;

    public ReadOnlySpan<int> NeighborsOf(int item) => ItemsOf(item);

    /// <summary>Cosine neighbours from ALS item factors, through the IVF index on normalised vectors.</summary>
    /// <param name="queryItems">the items to list neighbours for, ascending (others get none); null for every item.</param>
    /// <param name="normalized">the model's item factors scaled to unit length, when the caller has them (they are read, not changed); null computes them.</param>
    public static NeighborTable FromFactors(AlsModel model, int k, int lists = 0, int probes = DefaultProbes, int[]? queryItems = null, CancellationToken cancellation = default, StageProgress? progress = null, float[]? normalized = null)
    {
        (var index, normalized) = CosineIndex(model, lists, normalized);
        return FromIndex(index, normalized, model.Factors, model.Items, k, probes, queryItems, cancellation, progress);
    }

    /// <summary>The unit-length item factors and the IVF index over them that <see cref="FromFactors"/> searches.</summary>
    public static (IvfIndex Index, float[] Normalized) CosineIndex(AlsModel model, int lists = 0, float[]? normalized = null)
    {
        var f = model.Factors;
        normalized ??= DenseKernels.NormalizeRows(model.ItemFactors, f);
        lists = lists > 0 ? lists : model.Items <= AlsRecommender.ExactLimit ? 1 : (int)Math.Sqrt(model.Items);
        return (IvfIndex.Build(normalized, f, lists, model.Parameters.Seed + 1), normalized);
    }

    /// <summary>Neighbours of <paramref name="queryItems"/> (or every item) by searching <paramref name="index"/> built over <paramref name="normalized"/>.</summary>
    public static NeighborTable FromIndex(IvfIndex index, float[] normalized, int f, int n, int k, int probes, int[]? queryItems = null, CancellationToken cancellation = default, StageProgress? progress = null, int batchSize = IvfIndex.DefaultBatchSize)
    {
        var table = new ScoredListsBuilder(n, queryItems, k);

        // Queries in the index's list order: neighbouring queries probe mostly the same lists,
        // which then stay in cache instead of streaming the whole catalog per query.
        var position = new int[n];
        var listOrder = index.ItemsInListOrder;
        for (var p = 0; p < listOrder.Length; p++)
        {
            position[listOrder[p]] = p;
        }

        var order = Enumerable.Range(0, table.Slots).ToArray();
        var keys = order.Select(slot => position[queryItems?[slot] ?? slot]).ToArray();
        Array.Sort(keys, order);
        var slotItems = queryItems ?? order.Order().ToArray();
        index.SearchAll(order.Length, k, probes, (int o, Span<float> query, out ReadOnlySpan<int> excluded) =>
        {
            var slot = order[o];
            var row = normalized.AsSpan(slotItems[slot] * f, f);
            row.CopyTo(query);
            excluded = slotItems.AsSpan(slot, 1); // never its own neighbour
            return TensorPrimitives.SumOfSquares(row) != 0;
        }, (o, best) => table.Set(order[o], best), cancellation, progress, batchSize);
        return new NeighborTable(table.Pack());
    }

    /// <summary>
    /// Sequential neighbours: tracks played right before or after each other in a user's history
    /// (adjacent track_seq), scored by count / √(listeners(i)·listeners(j)).
    /// </summary>
    /// <param name="maxChunkEntries">adjacent tracks held at once: the lists are built for one range of items at a time (64M entries, 256 MB, by default).</param>
    public static NeighborTable Sequential(EventLog events, int k, int maxChunkEntries = 1 << 26)
    {
        var n = events.NumItems;

        // Each item's adjacent tracks (both directions), by counting sort. Each core takes one
        // range of users with its own cursors; the order within a list does not matter (counted below).
        var parts = Math.Max(1, Math.Min(Cores.Count, events.NumUsers));
        var partStart = new int[parts + 1];
        for (int part = 1, u = 0, before = 0; part < parts; part++)
        {
            var target = (long)events.NumEvents * part / parts;
            while (u < events.NumUsers && before < target)
            {
                before += events.CountOf(u++);
            }

            partStart[part] = u;
        }

        partStart[parts] = events.NumUsers;
        // How many adjacent tracks each part gives each item.
        var partCounts = new int[parts][];
        Parallel.For(0, parts, Cores.Options(), part =>
        {
            var counts = new int[n];
            for (var u = partStart[part]; u < partStart[part + 1]; u++)
            {
                for (int e = events.Start(u) + 1, end = events.End(u); e < end; e++)
                {
                    counts[events.Items[e - 1]]++;
                    counts[events.Items[e]]++;
                }
            }

            partCounts[part] = counts;
        });

        var listeners = events.ItemUserCounts();
        var table = new ScoredListsBuilder(n, null, k);

        // The lists are built for one range of items at a time, each holding at most
        // maxChunkEntries adjacent tracks: every list of the catalog at once is two entries per
        // event (1.8 GB at full size, 5.3 GB at three times it) for a moment; a range costs one
        // more pass over the events instead. One buffer serves every range (a fresh one per range
        // was hundreds of megabytes of large-object garbage).
        int[] adjacent = [];
        for (var lo = 0; lo < n;)
        {
            long entries = 0;
            var hi = lo;
            while (hi < n)
            {
                long degree = 0;
                foreach (var counts in partCounts)
                {
                    degree += counts[hi];
                }

                if (hi > lo && entries + degree > maxChunkEntries)
                {
                    break;
                }

                entries += degree;
                hi++;
            }

            if (adjacent.Length < entries)
            {
                adjacent = new int[Math.Max(entries, Math.Min(maxChunkEntries, 2L * adjacent.Length))];
            }

            SequentialRange(events, partStart, partCounts, listeners, table, lo, hi, adjacent, k);
            lo = hi;
        }

        return new NeighborTable(table.Pack());
    }

    /// <summary>The sequential lists of items [lo, hi), their adjacent tracks placed at the start of <paramref name="adjacent"/> (long enough for them).</summary>
    private static void SequentialRange(EventLog events, int[] partStart, int[][] partCounts, int[] listeners, ScoredListsBuilder table, int lo, int hi, int[] adjacent, int k)
    {
        var n = events.NumItems;
        var parts = partCounts.Length;

        // Counting sort of the range's lists: each part writes its users' adjacent tracks from its own cursors.
        var offsets = new int[hi - lo + 1];
        var cursors = new int[parts][];
        for (var part = 0; part < parts; part++)
        {
            cursors[part] = new int[hi - lo];
        }

        for (var i = lo; i < hi; i++)
        {
            var at = offsets[i - lo];
            for (var part = 0; part < parts; part++)
            {
                cursors[part][i - lo] = at; // where the part's next neighbour of item i goes
                at += partCounts[part][i];
            }

            offsets[i - lo + 1] = at;
        }

        Parallel.For(0, parts, Cores.Options(), part =>
        {
            var next = cursors[part];
            for (var u = partStart[part]; u < partStart[part + 1]; u++)
            {
                for (int e = events.Start(u) + 1, end = events.End(u); e < end; e++)
                {
                    int a = events.Items[e - 1], b = events.Items[e];
                    if ((uint)(a - lo) < (uint)(hi - lo))
                    {
                        adjacent[next[a - lo]++] = b;
                    }

                    if ((uint)(b - lo) < (uint)(hi - lo))
                    {
                        adjacent[next[b - lo]++] = a;
                    }
                }
            }
        });

        // Each item's neighbours counted in a catalog-sized array (a sort of every list cost twice
        // as much); the top-k keeps the same k best whatever order they come in. One worker per
        // core pulling blocks of items, each with one pair of arrays (see ItemKnnModel's build).
        const int Block = 256;
        var nextBlock = -1;
        void Work()
        {
            var counts = new int[n];
            var touched = new int[n + 1]; // a spare entry: a repeat is written one past the distinct ones
            var top = new TopK(k);
            var buffer = new ScoredItem[k];
            int b;
            while (lo + ((b = Interlocked.Increment(ref nextBlock)) * Block) < hi)
            {
                for (var i = lo + (b * Block); i < Math.Min(hi, lo + ((b + 1) * Block)); i++)
                {
                    var distinct = 0;
                    foreach (var j in adjacent.AsSpan(offsets[i - lo], offsets[i - lo + 1] - offsets[i - lo]))
                    {
                        touched[distinct] = j;
                        distinct += counts[j]++ == 0 ? 1 : 0;
                    }

                    for (var t = 0; t < distinct; t++)
                    {
                        var j = touched[t];
                        if (j != i)
                        {
                            top.Add(j, (float)(counts[j] / Math.Sqrt((double)Math.Max(1, listeners[i]) * Math.Max(1, listeners[j]))));
                        }

                        counts[j] = 0;
                    }

                    var got = top.Drain(buffer);
                    table.Set(i, buffer.AsSpan(0, got));
                }
            }
        }

        Parallel.Invoke(Cores.Options(), [.. Enumerable.Repeat<Action>(Work, Cores.Count)]);
    }

    /// <summary>Writes (item_id, similar_item_id, score, rank) with raw ids.</summary>
    public void Save(string path, IdMap ids) => Save(path, ids, ids, Tables.NeighborLists);

    public static NeighborTable Load(string path, IdMap ids, TableMemory? memory = null) =>
        new(Read(path, ids, ids, Columns.ItemId, Columns.SimilarItemId, memory ?? TableMemory.Managed));
}
