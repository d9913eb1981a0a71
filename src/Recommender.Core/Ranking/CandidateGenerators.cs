using Recommender.Models;

namespace Recommender.Ranking;

/// <summary>The four generators fitted on one stretch of events and the features computed from it: what ranking a user needs.</summary>
public sealed record CandidateGenerators(AlsRecommender Als, ItemKnnModel ItemKnn, SimilarToRecentModel Similar, PopularModel Popular, FeatureContext Features);
