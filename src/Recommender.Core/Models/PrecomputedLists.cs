using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// A table of top-<see cref="K"/> lists computed earlier in the run (the ALS top-100 for every
/// user), answering as the model it came from: the first k' items of a top-k list are that
/// model's top-k' for any k' ≤ k, so the ranker's candidates need no second search. Users
/// without a row, and longer requests, go to <paramref name="source"/>.
/// </summary>
public sealed class PrecomputedLists(ScoredLists table, int k, IRecommenderModel source) : IRecommenderModel
{
    public string Name => source.Name;

    /// <summary>The length every full row of the table was computed for.</summary>
    public int K => k;

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var items = table.ItemsOf(user);
        if (k > K || items.IsEmpty)
        {
            return source.Recommend(user, history, k, destination);
        }

        var scores = table.ScoresOf(user);
        var n = Math.Min(k, items.Length);
        for (var r = 0; r < n; r++)
        {
            destination[r] = new ScoredItem(items[r], scores[r]);
        }

        return n;
    }

    /// <summary>A view of this run's table has nothing of its own to save: the model it came from does.</summary>
    public void Save(string dir, ArtifactIds ids) => throw new InvalidOperationException($"precomputed {Name} lists are a view over a table of this run; save the {Name} model instead");
}
