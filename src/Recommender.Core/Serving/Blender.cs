using System.Text.Json.Serialization;
using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Serving;

public enum RecommendationSource
{
    Personal = 1,
    Online = 2,
    Popular = 3,
    Similar = 4,
}

public readonly record struct BlendedItem(int Item, float Score, RecommendationSource Source);

/// <summary>How the online list (neighbours of the listens since the snapshot) meets the offline personal list.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BlendStrategy>))]
public enum BlendStrategy
{
    /// <summary>Online and personal alternate, online first (each falls back to the other).</summary>
    Interleave = 0,

    /// <summary>Reciprocal-rank fusion of the online, personal and popular lists: each track scores Σ 1/(60 + rank) over the lists holding it, so agreement lifts a track.</summary>
    RankFusion = 1,

    /// <summary>The offline personal list only; online listens are just kept out of it.</summary>
    OfflineOnly = 2,
}

/// <summary>The strategy for users the offline lists know (warm) and for users they do not (cold).</summary>
public readonly record struct BlendChoice(BlendStrategy Warm, BlendStrategy Cold)
{
    /// <summary>Used when a snapshot carries no replay measurement (a retrain on all events has no test period).</summary>
    public static BlendChoice Default { get; } = new(BlendStrategy.RankFusion, BlendStrategy.RankFusion);

    public static BlendChoice All(BlendStrategy strategy) => new(strategy, strategy);
}

/// <summary>What a blend reads: the offline lists and models of one snapshot (or of a pipeline run, for the replay evaluation).</summary>
/// <param name="Personal">the served offline list per dense user.</param>
/// <param name="Gram">ALS's YᵀY + λI, for folding in users the model never saw.</param>
public sealed record BlendSources(RecommendationTable Personal, SimilarToRecentModel SimilarToRecent, AlsRecommender Als, float[] Gram, PopularModel Popular, int NumItems);

/// <summary>
/// Online + offline blending for one request: online results (neighbours of the listens logged
/// since the snapshot) merge with the offline personal list by the chosen strategy; a user the
/// model never saw gets personal results from an ALS fold-in of the online listens; popular
/// tracks fill the rest. Nothing the user heard (history or online) and no duplicate is returned.
/// </summary>
public static class Blender
{
    /// <summary>The fusion constant of reciprocal-rank fusion (Cormack et al. 2009).</summary>
    private const float FusionK = 60;

    public static List<BlendedItem> Recommend(ServingSnapshot snapshot, long userId, ReadOnlySpan<int> online, int k, BlendChoice choice)
    {
        var user = snapshot.Users.IndexOf(userId);
        return Recommend(snapshot.Sources, user, snapshot.HistoryOf(user), online, k, IsWarm(snapshot.Sources, user) ? choice.Warm : choice.Cold);
    }

    /// <summary>Whether the offline personal list has the user: the warm side of a <see cref="BlendChoice"/>.</summary>
    public static bool IsWarm(BlendSources sources, int user) => (uint)user < (uint)sources.Personal.Rows && sources.Personal.ItemsOf(user).Length > 0;

    /// <param name="user">the dense user index, or −1 for a user the offline lists do not know.</param>
    /// <param name="history">the user's offline listens.</param>
    public static List<BlendedItem> Recommend(BlendSources sources, int user, ReadOnlySpan<int> history, ReadOnlySpan<int> online, int k, BlendStrategy strategy)
    {
        var seen = new HashSet<int>(history.Length + online.Length);
        foreach (var i in history)
        {
            seen.Add(i);
        }

        foreach (var i in online)
        {
            seen.Add(i);
        }

        // Online: neighbours of the latest online listens (history kept out through `seen`).
        var useOnline = online.Length > 0 && strategy != BlendStrategy.OfflineOnly;
        var onlineList = new ScoredItem[useOnline ? k : 0];
        var onlineCount = useOnline ? sources.SimilarToRecent.Recommend(-1, online, k, onlineList) : 0;

        // Personal: the offline list read in place, or a fold-in for a user the model has not seen.
        ReadOnlySpan<int> personalItems = [];
        ReadOnlySpan<float> personalScores = [];
        if (IsWarm(sources, user))
        {
            personalItems = sources.Personal.ItemsOf(user);
            personalScores = sources.Personal.ScoresOf(user);
        }
        else if (online.Length > 0 && strategy != BlendStrategy.OfflineOnly)
        {
            var vector = sources.Als.Model.FoldIn(online, sources.Gram);
            var all = new int[history.Length + online.Length];
            history.CopyTo(all);
            online.CopyTo(all.AsSpan(history.Length));
            var buffer = new ScoredItem[k];
            var n = sources.Als.RecommendFor(vector, all, k, buffer);
            var items = new int[n];
            var scores = new float[n];
            for (var r = 0; r < n; r++)
            {
                (items[r], scores[r]) = (buffer[r].Item, buffer[r].Score);
            }

            personalItems = items;
            personalScores = scores;
        }

        var result = new List<BlendedItem>(k);
        if (strategy == BlendStrategy.RankFusion)
        {
            Fuse(onlineList.AsSpan(0, onlineCount), personalItems, sources.Popular.Items.AsSpan(0, Math.Min(sources.Popular.Items.Length, 4 * k)), seen, k, result);
        }
        else
        {
            int o = 0, p = 0;
            while (result.Count < k && (o < onlineCount || p < personalItems.Length))
            {
                // Odd positions online, even positions personal, each falling back to the other.
                var takeOnline = o < onlineCount && (result.Count % 2 == 0 || p >= personalItems.Length);
                var next = takeOnline ? new BlendedItem(onlineList[o].Item, onlineList[o++].Score, RecommendationSource.Online) : new BlendedItem(personalItems[p], personalScores[p++], RecommendationSource.Personal);
                if (seen.Add(next.Item))
                {
                    result.Add(next);
                }
            }
        }

        var popular = sources.Popular;
        for (var r = 0; r < popular.Items.Length && result.Count < k; r++)
        {
            if (seen.Add(popular.Items[r]))
            {
                result.Add(new BlendedItem(popular.Items[r], popular.Users[r] / (float)Math.Max(1, popular.Users[0]), RecommendationSource.Popular));
            }
        }

        // A long list from a heavy listener: any unheard track, in index order.
        for (var i = 0; i < sources.NumItems && result.Count < k; i++)
        {
            if (seen.Add(i))
            {
                result.Add(new BlendedItem(i, 0, RecommendationSource.Popular));
            }
        }

        return result;
    }

    /// <summary>Reciprocal-rank fusion of the lists; a track keeps the source whose rank gave it the most.</summary>
    private static void Fuse(ReadOnlySpan<ScoredItem> online, ReadOnlySpan<int> personal, ReadOnlySpan<int> popular, HashSet<int> seen, int k, List<BlendedItem> result)
    {
        var fused = new Dictionary<int, (float Score, RecommendationSource Source, float Best)>(online.Length + personal.Length);
        void Add(int item, int rank, RecommendationSource source)
        {
            var share = 1 / (FusionK + rank + 1);
            fused[item] = fused.TryGetValue(item, out var f)
                ? (f.Score + share, share > f.Best ? source : f.Source, Math.Max(share, f.Best))
                : (share, source, share);
        }

        for (var r = 0; r < online.Length; r++)
        {
            Add(online[r].Item, r, RecommendationSource.Online);
        }

        for (var r = 0; r < personal.Length; r++)
        {
            Add(personal[r], r, RecommendationSource.Personal);
        }

        for (var r = 0; r < popular.Length; r++)
        {
            Add(popular[r], r, RecommendationSource.Popular);
        }

        // Best fused score first; ties to the online list's order, then the personal list's (stable sort).
        foreach (var (item, f) in fused.OrderByDescending(x => x.Value.Score))
        {
            if (result.Count >= k)
            {
                break;
            }

            if (seen.Add(item))
            {
                result.Add(new BlendedItem(item, f.Score, f.Source));
            }
        }
    }
}
