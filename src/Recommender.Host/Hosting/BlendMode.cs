namespace Recommender.Host.Hosting;

public enum BlendMode
{
    Measured,
    Interleave,
    RankFusion,
    OfflineOnly,
}
