namespace Recommender.Serving;

public enum RecommendationSource
{
    Personal = 1,
    Online = 2,
    Popular = 3,
    Similar = 4,
}
