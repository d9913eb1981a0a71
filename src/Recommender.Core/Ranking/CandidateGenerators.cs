using Recommender.Models;

namespace Recommender.Ranking;

/// <summary>The generators fitted on one stretch of events and the features computed from it: what ranking and blending a user need.</summary>
public sealed record CandidateGenerators(AlsRecommender Als, ItemKnnModel ItemKnn, SimilarToRecentModel Similar, PopularModel Popular, FeatureContext Features, GenreProfileModel Genre)
{
    /// <summary>These generators as the ranker's candidate sources, with the blend's weights and the depth read from each.</summary>
    public CandidateSources Sources(BlendWeights blend, CandidateDepths depths) => new(Als, ItemKnn, Genre, Similar, Popular, blend, depths);
}
