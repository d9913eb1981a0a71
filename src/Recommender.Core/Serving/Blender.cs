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

/// <summary>
/// Online + offline blending for one request: online results (neighbours of the listens logged
/// since the snapshot) alternate with the offline personal list; a user the model never saw gets
/// personal results from an ALS fold-in of the online listens; popular tracks fill the rest.
/// Nothing the user heard (history or online) and no duplicate is returned.
/// </summary>
public static class Blender
{
    public static List<BlendedItem> Recommend(ServingSnapshot snapshot, long userId, ReadOnlySpan<int> online, int k)
    {
        var user = snapshot.Users.IndexOf(userId);
        var history = snapshot.HistoryOf(user);
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
        var onlineList = new ScoredItem[online.Length == 0 ? 0 : k];
        var onlineCount = online.Length == 0 ? 0 : snapshot.SimilarToRecent.Recommend(-1, online, k, onlineList);

        // Personal: the offline list read in place, or a fold-in for a user the model has not seen.
        ReadOnlySpan<int> personalItems = [];
        ReadOnlySpan<float> personalScores = [];
        if (user >= 0 && snapshot.Recommendations.ItemsOf(user).Length > 0)
        {
            personalItems = snapshot.Recommendations.ItemsOf(user);
            personalScores = snapshot.Recommendations.ScoresOf(user);
        }
        else if (online.Length > 0)
        {
            var vector = snapshot.FoldIn(online);
            var all = new int[history.Length + online.Length];
            history.CopyTo(all);
            online.CopyTo(all.AsSpan(history.Length));
            var buffer = new ScoredItem[k];
            var n = snapshot.AlsSearch.RecommendFor(vector, all, k, buffer);
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

        var popular = snapshot.Popular;
        for (var r = 0; r < popular.Items.Length && result.Count < k; r++)
        {
            if (seen.Add(popular.Items[r]))
            {
                result.Add(new BlendedItem(popular.Items[r], popular.Users[r] / (float)Math.Max(1, popular.Users[0]), RecommendationSource.Popular));
            }
        }

        // A long list from a heavy listener: any unheard track, in index order.
        for (var i = 0; i < snapshot.Items.Count && result.Count < k; i++)
        {
            if (seen.Add(i))
            {
                result.Add(new BlendedItem(i, 0, RecommendationSource.Popular));
            }
        }

        return result;
    }
}
