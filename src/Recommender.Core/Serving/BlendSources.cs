using Recommender.Data;
using Recommender.Models;

namespace Recommender.Serving;

/// <summary>What a blend reads: the offline lists and models of one snapshot (or of a pipeline run, for the replay evaluation).</summary>
/// <param name="Personal">the served offline list per dense user.</param>
/// <param name="Gram">ALS's YᵀY + λI, for folding in users the model never saw.</param>
public sealed record BlendSources(RecommendationTable Personal, SimilarToRecentModel SimilarToRecent, AlsRecommender Als, float[] Gram, PopularModel Popular, int NumItems)
{
    /// <summary>The requests' catalog masks, freed with the snapshot these sources belong to.</summary>
    internal ExclusionMasks Masks { get; } = new(NumItems);
}
