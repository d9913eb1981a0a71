namespace Recommender.Serving;

public readonly record struct BlendedItem(int Item, float Score, RecommendationSource Source);
