namespace Recommender.Ranking;

/// <summary>One user's candidates in one label window: FeatureCount features per row and a label per row (1 = first heard in the window).</summary>
public sealed record RankerGroup(int User, int Window, float[] Features, float[] Labels);
