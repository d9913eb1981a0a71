using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

public sealed record ItemKnnParameters
{
    /// <summary>Neighbours kept per item.</summary>
    public int Neighbors { get; init; } = 100;

    /// <summary>Added to the cosine's denominator: pairs seen together by few users count less.</summary>
    public float Shrink { get; init; } = 10f;

    /// <summary>Only a user's latest this-many tracks build the similarities and score a recommendation (bounds the quadratic cost of heavy users).</summary>
    public int MaxUserItems { get; init; } = 500;

    /// <summary>
    /// At most this many co-listening updates (Σ over users of window²) build the table: above it
    /// the users' windows shrink until it holds. Small data never reaches it; at full size (222M
    /// events) it bounds the build's time.
    /// </summary>
    public long PairBudget { get; init; } = 4_000_000_000;

    /// <summary>
    /// EASE's L2 weight (Steck 2019) when the table is built by EASE instead of the cosine; null
    /// for the cosine. The pipeline sets it when EASE measures better on validation.
    /// </summary>
    public float? EaseLambda { get; init; }

    /// <summary>
    /// EASE inverts a dense tracks × tracks matrix: it covers at most this many tracks, the most
    /// listened (the pipeline only tries it when the catalog with a listener fits).
    /// </summary>
    public int EaseMaxItems { get; init; } = 6000;

    /// <summary>
    /// RP3β's popularity penalty (Paudel et al. 2017; α = 0.5) when the table is built by the
    /// random walk instead of the cosine; null for the cosine. The pipeline sets it when RP3β
    /// measures better on validation.
    /// </summary>
    public float? Rp3Beta { get; init; }

    /// <summary>RP3β's α: each step of the walk's probabilities is raised to it.</summary>
    public const double Rp3Alpha = 0.5;

    /// <summary>The build this names, for logs and the manifest.</summary>
    public string Method => EaseLambda is { } l ? $"EASE λ={l}" : Rp3Beta is { } b ? $"RP3beta β={b}" : $"cosine, shrink {Shrink}";
}

/// <summary>
/// Item-based collaborative filtering, strong on music listening data: item–item cosine over
/// co-listening, each user weighted by 1/ln(e + tracks) (a heavy listener's pairs say less, as IDF),
/// shrunk toward zero for pairs with little support; a user's score for a track is the sum of its
/// similarities to the tracks the user listened to. The same co-listening sums give RP3β (a
/// three-step random walk track → user → track, its probabilities raised to α, the target's
/// popularity divided out by listeners^β), and EASE fills the same table on small catalogs.
/// </summary>
public sealed class ItemKnnModel : IRecommenderModel
{
    private readonly ScratchPool<float> _scores;
    private readonly ScratchPool<int> _touched;
    private readonly ExclusionMasks _masks;

    public ItemKnnModel(NeighborTable neighbors, ItemKnnParameters parameters)
    {
        Neighbors = neighbors;
        Parameters = parameters;
        _scores = new ScratchPool<float>(neighbors.NumItems);
        _touched = new ScratchPool<int>(neighbors.NumItems + 1); // ScatterAdd's spare entry
        _masks = new ExclusionMasks(neighbors.NumItems);
    }

    public string Name => "itemknn";
    public NeighborTable Neighbors { get; }
    public ItemKnnParameters Parameters { get; }

    public static ItemKnnModel Fit(EventLog train, ItemKnnParameters p, CancellationToken cancellation = default) =>
        p.EaseLambda is { } lambda ? FitEase(train, p, lambda, cancellation) : FitCoListening(train, p, cancellation);

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
                var count = train.UserOffsets[u + 1] - userStart[u];
                weights[u] = count == 0 ? 0 : (float)Math.Pow(count, -ItemKnnParameters.Rp3Alpha);
            }
        }

        // item → users (CSR), over each user's window only.
        var offsets = new int[n + 1];
        for (var u = 0; u < train.NumUsers; u++)
        {
            for (var e = userStart[u]; e < train.UserOffsets[u + 1]; e++)
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
            for (var e = userStart[u]; e < train.UserOffsets[u + 1]; e++)
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
                        for (var e = userStart[u]; e < train.UserOffsets[u + 1]; e++)
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

    /// <summary>
    /// EASE (Steck 2019): B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹ over the tracks with a
    /// listener (the EaseMaxItems most listened), X the binary user × track matrix of each user's window. B[i, j] is how much having
    /// heard i predicts j; each row keeps its Neighbors largest positive entries, so scoring is the
    /// same sum over the history as the cosine's.
    /// </summary>
    private static ItemKnnModel FitEase(EventLog train, ItemKnnParameters p, float lambda, CancellationToken cancellation)
    {
        var (userStart, _) = UserWindows(train, WindowWithinBudget(train, p.MaxUserItems, p.PairBudget));

        // The EaseMaxItems tracks with the most listeners (ties to the lower index); the rest get no row.
        var listeners = new int[train.NumItems];
        for (var u = 0; u < train.NumUsers; u++)
        {
            for (var e = userStart[u]; e < train.UserOffsets[u + 1]; e++)
            {
                listeners[train.Items[e]]++;
            }
        }

        var global = Enumerable.Range(0, train.NumItems).Where(i => listeners[i] > 0)
            .OrderByDescending(i => listeners[i]).ThenBy(i => i).Take(p.EaseMaxItems).Order().ToArray();
        var local = new int[train.NumItems];
        Array.Fill(local, -1);
        for (var a = 0; a < global.Length; a++)
        {
            local[global[a]] = a;
        }

        var m = global.Length;

        // Gram matrix of the binary matrix: a track heard twice by a user counts once.
        var gram = new double[(long)m * m];
        var seen = new bool[m];
        var row = new List<int>();
        for (var u = 0; u < train.NumUsers; u++)
        {
            row.Clear();
            for (var e = userStart[u]; e < train.UserOffsets[u + 1]; e++)
            {
                var a = local[train.Items[e]];
                if (a >= 0 && !seen[a])
                {
                    seen[a] = true;
                    row.Add(a);
                }
            }

            foreach (var a in row)
            {
                seen[a] = false;
                foreach (var b in row)
                {
                    gram[((long)a * m) + b] += 1;
                }
            }
        }

        for (var d = 0; d < m; d++)
        {
            gram[((long)d * m) + d] += lambda;
        }

        cancellation.ThrowIfCancellationRequested();
        var inverse = SymmetricInverse.Invert(gram, m, cancellation);
        var table = new ScoredListsBuilder(train.NumItems, null, p.Neighbors);
        Parallel.For(0, m, Cores.Options(cancellation), () => (Top: new TopK(p.Neighbors), Buffer: new ScoredItem[p.Neighbors]), (a, _, t) =>
        {
            var pa = inverse.AsSpan((int)((long)a * m), m);
            for (var b = 0; b < m; b++)
            {
                // B[a, b] = −P[a, b] / P[b, b]; the diagonal is zero.
                var weight = -pa[b] / inverse[((long)b * m) + b];
                if (b != a && weight > 0)
                {
                    t.Top.Add(global[b], (float)weight);
                }
            }

            var got = t.Top.Drain(t.Buffer);
            table.Set(global[a], t.Buffer.AsSpan(0, got));
            return t;
        }, _ => { });
        var (o, it, sc) = table.Pack();
        return new ItemKnnModel(new NeighborTable(o, it, sc), p);
    }

    /// <summary>The largest window (at most <paramref name="maxItems"/>) whose Σ min(n, window)² stays within the budget.</summary>
    public static int WindowWithinBudget(EventLog train, int maxItems, long budget)
    {
        long Pairs(int cap) => CoListeningUpdates(train, cap);

        int lo = 1, hi = maxItems;
        if (Pairs(hi) <= budget)
        {
            return hi;
        }

        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (Pairs(mid) <= budget)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>Σ over users of min(n, window)²: the co-listening updates a build does.</summary>
    public static long CoListeningUpdates(EventLog train, int window)
    {
        long sum = 0;
        for (var u = 0; u < train.NumUsers; u++)
        {
            long n = Math.Min(window, train.CountOf(u));
            sum += n * n;
        }

        return sum;
    }

    /// <summary>Where each user's window of latest tracks starts, and the user's weight 1/ln(e + window).</summary>
    private static (int[] Start, float[] Weights) UserWindows(EventLog train, int maxItems)
    {
        var start = new int[train.NumUsers];
        var weights = new float[train.NumUsers];
        for (var u = 0; u < train.NumUsers; u++)
        {
            var count = Math.Min(maxItems, train.CountOf(u));
            start[u] = train.UserOffsets[u + 1] - count;
            weights[u] = (float)(1 / Math.Log(Math.E + count));
        }

        return (start, weights);
    }

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var n = Neighbors.NumItems;
        var scores = _scores.Rent();
        var touched = _touched.Rent();
        var count = 0;
        var used = history[Math.Max(0, history.Length - Parameters.MaxUserItems)..];
        for (var h = 0; h < used.Length; h++)
        {
            var i = used[h];
            if (h + 1 < used.Length && (uint)used[h + 1] < (uint)n)
            {
                // The next track's neighbour list (800 bytes somewhere in the table) while this one's is summed.
                Prefetch.Lines(Neighbors.NeighborsOf(used[h + 1]));
                Prefetch.Lines(Neighbors.ScoresOf(used[h + 1]));
            }

            if ((uint)i >= (uint)n)
            {
                continue;
            }

            var neighbors = Neighbors.NeighborsOf(i);
            var sims = Neighbors.ScoresOf(i);
            for (var r = 0; r < neighbors.Length; r++)
            {
                ScatterAdd.Add(scores, touched, ref count, neighbors[r], MathF.Max(1e-9f, sims[r])); // touched entries stay non-zero: listed once
            }
        }

        var top = new TopK(k);
        var mask = _masks.Rent(history);
        for (var c = 0; c < count; c++)
        {
            var j = touched[c];
            if (!mask[j])
            {
                top.Add(j, scores[j]);
            }

            scores[j] = 0;
        }

        _masks.Return(mask, history);
        _scores.Return(scores);
        _touched.Return(touched); // its stale entries are never read: count starts at 0
        return top.Drain(destination);
    }

    public void Save(string dir, ArtifactIds ids) => Neighbors.Save(Path.Combine(dir, FileNames.ItemKnn), ids.Items);

    public static ItemKnnModel Load(string dir, ArtifactIds ids, ItemKnnParameters parameters) =>
        new(NeighborTable.Load(Path.Combine(dir, FileNames.ItemKnn), ids.Items), parameters);
}
