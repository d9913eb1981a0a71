using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// The blend's weights beside ALS's 1: the item-based list's and the genre profile's. Chosen on
/// validation from <see cref="Grid"/>; recorded in the manifest.
/// </summary>
public sealed record BlendWeights(float ItemBased, float Genre)
{
    /// <summary>What a blend uses when no validation chose (ALS and item-based equally, as the old rank fusion did, and genre too).</summary>
    public static BlendWeights Default { get; } = new(1, 1);

    /// <summary>The weights validation tries, in the order that breaks ties (ALS alone, both zero, is the "als" list itself and left out).</summary>
    public static IReadOnlyList<BlendWeights> Grid { get; } =
        [.. from item in new[] { 0f, 0.5f, 1f, 2f } from genre in new[] { 0f, 0.5f, 1f, 2f, 4f } where item + genre > 0 select new BlendWeights(item, genre)];

    public override string ToString() => $"ALS 1, item-based {ItemBased}, genre {Genre}";
}

/// <summary>
/// Weighted score fusion of several generators' lists: each list's scores are min-max scaled to
/// [0, 1] (plus a small floor, so the last item of a list still counts), weighted, and summed per
/// track. Scaling within each list makes generators with unrelated score scales (a dot product, a
/// sum of similarities, a genre match) comparable; a track several generators agree on rises. On
/// lastfm-dev it beat reciprocal-rank fusion of the same lists, which ignores how far ahead a
/// generator's first items are.
/// </summary>
public sealed class FusionRecommender(string name, IReadOnlyList<(IRecommenderModel Model, float Weight)> parts, int depth = FusionRecommender.DefaultDepth) : IRecommenderModel
{
    /// <summary>How many items of each generator's list take part.</summary>
    public const int DefaultDepth = 50;

    /// <summary>Added to every scaled score: a list's last item still counts for something.</summary>
    private const float Floor = 1e-3f;

    /// <summary>The "blend" candidate list: ALS (weight 1), the item-based list and the genre profile, weighted.</summary>
    public static FusionRecommender Blend(IRecommenderModel als, IRecommenderModel itemBased, IRecommenderModel genre, BlendWeights weights) =>
        new("blend", [(als, 1f), (itemBased, weights.ItemBased), (genre, weights.Genre)]);

    public string Name => name;

    public IReadOnlyList<(IRecommenderModel Model, float Weight)> Parts => parts;

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var lists = new ScoredItem[parts.Count][];
        var weights = new float[parts.Count];
        for (var p = 0; p < parts.Count; p++)
        {
            weights[p] = parts[p].Weight;
            if (weights[p] > 0)
            {
                var buffer = new ScoredItem[depth];
                var n = parts[p].Model.Recommend(user, history, depth, buffer);
                lists[p] = buffer[..n];
            }
            else
            {
                lists[p] = [];
            }
        }

        return Fuse(lists, weights, k, destination);
    }

    /// <summary>
    /// The fused top-k of lists (each best first) and their weights: Σ over the lists holding a
    /// track of weight × ((score − last) / (first − last) + floor). Ties go to the lower track index.
    /// </summary>
    public static int Fuse(IReadOnlyList<ScoredItem[]> lists, ReadOnlySpan<float> weights, int k, Span<ScoredItem> destination)
    {
        var fused = new Dictionary<int, float>();
        for (var p = 0; p < lists.Count; p++)
        {
            var list = lists[p];
            if (list.Length == 0 || weights[p] <= 0)
            {
                continue;
            }

            var hi = list[0].Score;
            var lo = list[^1].Score;
            var range = hi - lo;
            foreach (var (item, score) in list)
            {
                fused[item] = fused.GetValueOrDefault(item) + (weights[p] * Scaled(score, lo, range));
            }
        }

        var top = new TopK(k);
        foreach (var (item, score) in fused)
        {
            top.Add(item, score);
        }

        return top.Drain(destination);
    }

    /// <summary>A list's score min-max scaled within the list, plus the floor: (score − last) / (first − last) + floor, 1 + floor when all tie.</summary>
    public static float Scaled(float score, float last, float range) => (range > 0 ? (score - last) / range : 1f) + Floor;

    /// <summary>Nothing of its own to save: its generators are saved with the snapshot.</summary>
    public void Save(string dir, ArtifactIds ids)
    {
    }
}
