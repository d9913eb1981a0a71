using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>The cosine and RP3β builds: sums over co-listening within each user's latest tracks.</summary>
public sealed partial class ItemKnnModel
{
    /// <summary>
    /// The cosine, or RP3β: W[i, j] = Σ over users u of both (1/listeners(i))^α (1/|u|)^α, divided
    /// by listeners(j)^β: the same sums over co-listening with another user weight and another
    /// normaliser.
    /// </summary>
    private static ItemKnnModel FitCoListening(EventLog train, ItemKnnParameters p, CancellationToken cancellation)
    {
        var n = train.NumItems;
        var (userStart, weights) = UserWindows(train, WindowWithinBudget(train, p.MaxUserItems, p.PairBudget));
        if (p.Rp3Beta is not null)
        {
            for (var u = 0; u < train.NumUsers; u++)
            {
                var count = train.End(u) - userStart[u];
                weights[u] = count == 0 ? 0 : (float)Math.Pow(count, -ItemKnnParameters.Rp3Alpha);
            }
        }

        // item → users (CSR), over each user's window only.
        var offsets = new int[n + 1];
        for (var u = 0; u < train.NumUsers; u++)
        {
            for (int e = userStart[u], end = train.End(u); e < end; e++)
            {
                offsets[train.Items[e] + 1]++;
            }
        }

        Csr.CountsToOffsets(offsets);
        var next = offsets[..^1].ToArray();
        var users = new int[offsets[n]];
        var norms = new double[n];
        for (var u = 0; u < train.NumUsers; u++)
        {
            for (int e = userStart[u], end = train.End(u); e < end; e++)
            {
                var i = train.Items[e];
                users[next[i]++] = u;
                norms[i] += weights[u];
            }
        }

        // RP3β's listeners(j)^−β, listeners counted within the users' windows.
        var penalty = p.Rp3Beta is { } b ? Enumerable.Range(0, n).Select(j => offsets[j + 1] > offsets[j] ? Math.Pow(offsets[j + 1] - offsets[j], -b) : 0).ToArray() : null;
        var table = new ScoredListsBuilder(n, null, p.Neighbors);

        // One worker per core, each with one pair of item-sized arrays, pulling blocks of items:
        // Parallel.ForEach's per-task locals were re-made for every replica it started (8 MB each at
        // full size), and that garbage grew the heap by gigabytes.
        const int Block = 64;
        var nextBlock = -1;
        void Work()
        {
            var acc = new float[n];
            var touchedItems = new int[n + 1]; // ScatterAdd's spare entry
            var top = new TopK(p.Neighbors);
            var buffer = new ScoredItem[p.Neighbors];
            int b;
            while ((b = Interlocked.Increment(ref nextBlock)) * Block < n)
            {
                cancellation.ThrowIfCancellationRequested();
                for (var i = b * Block; i < Math.Min(n, (b + 1) * Block); i++)
                {
                    var touched = 0;
                    for (var a = offsets[i]; a < offsets[i + 1]; a++)
                    {
                        var u = users[a];
                        var w = weights[u];
                        for (int e = userStart[u], end = train.End(u); e < end; e++)
                        {
                            ScatterAdd.Add(acc, touchedItems, ref touched, train.Items[e], w);
                        }
                    }

                    if (penalty is null)
                    {
                        AddCosines(i, acc, touchedItems, touched, norms, p.Shrink, top);
                    }
                    else
                    {
                        AddRp3(i, acc, touchedItems, touched, Math.Pow(offsets[i + 1] - offsets[i], -ItemKnnParameters.Rp3Alpha), penalty, top);
                    }

                    var got = top.Drain(buffer);
                    table.Set(i, buffer.AsSpan(0, got));
                }
            }
        }

        Parallel.Invoke(Cores.Options(cancellation), [.. Enumerable.Repeat<Action>(Work, Cores.Count)]);
        var (o, it, sc) = table.Pack();
        return new ItemKnnModel(new NeighborTable(o, it, sc), p);
    }

    // The two normalisers in methods of their own (one runs once per co-listened pair): the build's
    // scatter loop kept its code as it was; with both inline beside it the build ran 10% slower.
    private static void AddCosines(int i, float[] acc, int[] touchedItems, int touched, double[] norms, float shrink, TopK top)
    {
        var ni = Math.Sqrt(norms[i]);
        for (var t = 0; t < touched; t++)
        {
            var j = touchedItems[t];
            if (j != i)
            {
                top.Add(j, (float)(acc[j] / ((ni * Math.Sqrt(norms[j])) + shrink)));
            }

            acc[j] = 0;
        }
    }

    private static void AddRp3(int i, float[] acc, int[] touchedItems, int touched, double rowScale, double[] penalty, TopK top)
    {
        for (var t = 0; t < touched; t++)
        {
            var j = touchedItems[t];
            if (j != i)
            {
                top.Add(j, (float)(acc[j] * rowScale * penalty[j]));
            }

            acc[j] = 0;
        }
    }
}
