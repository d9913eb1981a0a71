using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Item-based collaborative filtering, strong on music listening data: item–item cosine over
/// co-listening, each user weighted by 1/ln(e + tracks) (a heavy listener's pairs say less, as IDF),
/// shrunk toward zero for pairs with little support; a user's score for a track is the sum of its
/// similarities to the tracks the user listened to. The same co-listening sums give RP3β (a
/// three-step random walk track → user → track, its probabilities raised to α, the target's
/// popularity divided out by listeners^β), and EASE fills the same table on small catalogs.
/// </summary>
public sealed partial class ItemKnnModel : IRecommenderModel
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
            start[u] = train.End(u) - count;
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
