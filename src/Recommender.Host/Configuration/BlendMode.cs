namespace Recommender.Host.Configuration;

public enum BlendMode
{
    Measured,
    Interleave,
    RankFusion,
    OfflineOnly,
}
