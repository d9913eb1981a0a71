using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Serving;

namespace Recommender.Tests.Serving;

/// <summary>The blend as first written (hash set, dictionary, LINQ): the slow obvious version the pooled one must equal.</summary>
internal static class ReferenceBlender
{
    private const float FusionK = 60;

    public static List<BlendedItem> Blend(BlendSources sources, int user, ReadOnlySpan<int> history, ReadOnlySpan<int> online, int k, BlendStrategy strategy)
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
        if (Blender.IsWarm(sources, user))
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

public class BlenderReferenceTests
{
    private static BlendSources RandomSources(int items, int users, ulong seed)
    {
        var rng = new Rng(seed);
        var personal = new ScoredListsBuilder(users, null, 30);
        for (var u = 0; u < users; u++)
        {
            // Some users have no offline list: they are cold.
            var list = Enumerable.Range(0, u % 5 == 0 ? 0 : 5 + rng.Next(25)).Select(_ => rng.Next(items)).Distinct().Select((i, r) => new ScoredItem(i, 1f / (r + 1))).ToArray();
            personal.Set(u, list);
        }

        NeighborTable Neighbours()
        {
            var offsets = new int[items + 1];
            var list = new List<int>();
            var scores = new List<float>();
            for (var i = 0; i < items; i++)
            {
                var row = Enumerable.Range(0, rng.Next(12)).Select(_ => rng.Next(items)).Where(j => j != i).Distinct().ToArray();
                list.AddRange(row);
                // Few distinct scores: ties in the online list and in the fusion are common.
                scores.AddRange(row.Select((_, r) => (float)(10 - r) / 10));
                offsets[i + 1] = list.Count;
            }

            return new NeighborTable(offsets, [.. list], [.. scores]);
        }

        const int F = 4;
        var factors = Enumerable.Range(0, items * F).Select(_ => (float)rng.NextGaussian()).ToArray();
        var als = new AlsRecommender(new AlsModel(F, new float[users * F], factors, new AlsParameters { Factors = F }));
        var popularItems = Enumerable.Range(0, items).OrderBy(_ => rng.Next(1000)).Take(40).ToArray();
        return new BlendSources(new RecommendationTable(personal), new SimilarToRecentModel(Neighbours(), Neighbours()), als,
            DenseKernels.Gram(factors, F, 0.1f), new PopularModel(popularItems, [.. popularItems.Select((_, r) => 1000 - (r * 10))]), items);
    }

    [Test]
    public void PooledBlend_EqualsTheReferenceBlend_ForEveryStrategyUserAndK()
    {
        const int Items = 120, Users = 40;
        var sources = RandomSources(Items, Users, 17);
        var rng = new Rng(18);
        foreach (var strategy in Enum.GetValues<BlendStrategy>())
        {
            foreach (var k in new[] { 1, 5, 20, 90, 300 })
            {
                for (var u = -1; u < Users; u++)
                {
                    var history = Enumerable.Range(0, rng.Next(30)).Select(_ => rng.Next(Items)).ToArray();
                    var online = Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next(Items)).ToArray();
                    var expected = ReferenceBlender.Blend(sources, u, history, online, k, strategy);
                    var got = Blender.Recommend(sources, u, history, online, k, strategy);
                    Assert.That(got, Is.EqualTo(expected), $"{strategy}, k={k}, user {u}");
                }
            }
        }
    }

    [Test]
    public void Blend_LeavesTheThreadsExclusionMaskClean()
    {
        // A blend marks heard and returned tracks on the per-thread mask; a later request must not see them.
        var sources = RandomSources(60, 10, 23);
        var first = Blender.Recommend(sources, 1, [1, 2, 3], [4], 10, BlendStrategy.RankFusion);
        var second = Blender.Recommend(sources, 1, [1, 2, 3], [4], 10, BlendStrategy.RankFusion);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(sources.SimilarToRecent.Recommend(-1, [4], 10, new ScoredItem[10]), Is.GreaterThan(0));
    }
}
