using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Reciprocal-rank fusion of several generators' lists (Cormack et al. 2009): a track scores
/// Σ 1/(60 + rank) over the lists holding it, so two generators agreeing on a track lift it above
/// either one's runner-up. No parameters are learned: nothing to overfit on small data.
/// </summary>
public sealed class FusionRecommender(string name, IReadOnlyList<IRecommenderModel> models, int depth = FusionRecommender.DefaultDepth) : IRecommenderModel
{
    /// <summary>How many items of each generator's list take part.</summary>
    public const int DefaultDepth = 50;

    /// <summary>The "blend" candidate list: rank fusion of the two strongest generators, ALS and item-based.</summary>
    public static FusionRecommender Blend(IRecommenderModel als, IRecommenderModel itemBased) => new("blend", [als, itemBased]);

    private const float FusionK = 60;

    public string Name => name;

    public IReadOnlyList<IRecommenderModel> Models => models;

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var buffer = new ScoredItem[depth];
        var fused = new Dictionary<int, float>(depth * models.Count);
        foreach (var model in models)
        {
            var n = model.Recommend(user, history, depth, buffer);
            for (var r = 0; r < n; r++)
            {
                fused[buffer[r].Item] = fused.GetValueOrDefault(buffer[r].Item) + (1 / (FusionK + r + 1));
            }
        }

        var top = new TopK(k);
        foreach (var (item, score) in fused)
        {
            top.Add(item, score);
        }

        return top.Drain(destination);
    }

    /// <summary>Nothing of its own to save: its generators are saved with the snapshot.</summary>
    public void Save(string dir, ArtifactIds ids)
    {
    }
}
