namespace Recommender.Ranking;

/// <summary>
/// The arrays one batch of ranking fills: candidate slots, feature rows and scores, kept from one
/// batch to the next. Ranking every user at full size runs ~320 batches of 4,096 users; fresh
/// arrays each time made ~70 MB of large-object garbage per batch (the working set rose from 12.9
/// to 14.4 GB during that stage before this change, docs/benchmarks.md). Not thread-safe: one per caller.
/// </summary>
public sealed class RankingBuffers
{
    /// <summary>User b's candidates are Slots[b * the ranker's Depths.Total ..][..Counts[b]].</summary>
    internal Candidate[] Slots { get; private set; } = [];

    internal int[] Counts { get; private set; } = [];

    /// <summary>User b's rows are Offsets[b] .. Offsets[b + 1] in the packed features and scores.</summary>
    internal int[] Offsets { get; private set; } = [];

    internal float[] Features { get; private set; } = [];

    internal float[] Scores { get; private set; } = [];

    /// <summary>Room for <paramref name="users"/> users' candidates, <paramref name="perUser"/> each at most; grows, never shrinks.</summary>
    internal void Reserve(int users, int perUser)
    {
        if (Counts.Length >= users && Slots.Length >= users * perUser)
        {
            return;
        }

        users = Math.Max(users, Counts.Length);
        var rows = users * perUser;
        Slots = new Candidate[rows];
        Counts = new int[users];
        Offsets = new int[users + 1];
        Features = new float[rows * FeatureContext.FeatureCount];
        Scores = new float[rows];
    }
}
