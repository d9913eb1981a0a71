namespace Recommender.Serving;

/// <summary>The strategy for users the offline lists know (warm) and for users they do not (cold).</summary>
public readonly record struct BlendChoice(BlendStrategy Warm, BlendStrategy Cold)
{
    /// <summary>Used when a snapshot carries no replay measurement (a retrain on all events has no test period).</summary>
    public static BlendChoice Default { get; } = new(BlendStrategy.RankFusion, BlendStrategy.RankFusion);

    public static BlendChoice All(BlendStrategy strategy) => new(strategy, strategy);
}
