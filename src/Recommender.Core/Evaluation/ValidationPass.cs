using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Evaluation;

/// <summary>
/// Validation: every candidate list (popular, ALS, item-based, similar-to-recent, blend, ranked)
/// for the label windows' sampled users, scored against what they first heard in the window. The
/// ranked list comes from the cross-fitted rankers, so that no user is ranked by a model that
/// learned from them. The report chooses the list to serve.
/// </summary>
public static class ValidationPass
{
    /// <summary>
    /// Every candidate list for every label window's users, scored against the tracks they first
    /// heard in that window and pooled over the windows (small data gives few users per window).
    /// </summary>
    /// <param name="foldRankers">ranker f ranks the users with <paramref name="foldOf"/> f: each was trained without them.</param>
    public static ValidationReport Score(IReadOnlyList<LabelWindow> windows, GradientBoostedRanker[] foldRankers, Func<int, int> foldOf)
    {
        int[] ks = [5, 10];
        var latest = windows[0].History;
        var listeners = latest.ItemUserCounts();
        var historyUsers = Enumerable.Range(0, latest.NumUsers).Count(u => latest.CountOf(u) > 0);
        var accumulators = ValidationReport.Candidates.ToDictionary(s => s, _ => ks.Select(k => new MetricsAccumulator(k, listeners, historyUsers, keepUserNdcg: k == 10)).ToArray());
        var buffer = new ScoredItem[10];
        var users = 0;
        foreach (var w in windows)
        {
            var (als, itemKnn, similar, popular, features) = w.Models;
            var models = new (string Name, IRecommenderModel Model)[] { ("popular", popular), ("als", als), ("itemknn", itemKnn), ("similar", similar), ("blend", FusionRecommender.Blend(als, itemKnn)) };
            for (var f = 0; f < foldRankers.Length; f++)
            {
                var ranked = new RankedRecommender(als, itemKnn, similar, popular, features, foldRankers[f]);
                var fold = w.Users.Where(u => foldOf(u) == f).ToArray();
                var rankedLists = ranked.RecommendBatch(fold, w.History.ItemsOf, 10, new RankingBuffers());
                for (var b = 0; b < fold.Length; b++)
                {
                    var u = fold[b];
                    var truth = w.Labels.ItemsOf(u).ToArray();
                    Array.Sort(truth);
                    foreach (var (name, model) in models)
                    {
                        var n = model.Recommend(u, w.History.ItemsOf(u), 10, buffer);
                        var list = buffer[..n].Select(x => x.Item).ToArray();
                        foreach (var acc in accumulators[name])
                        {
                            acc.Add(list, truth);
                        }
                    }

                    foreach (var acc in accumulators["ranked"])
                    {
                        acc.Add(rankedLists[b].Select(x => x.Item).ToArray(), truth);
                    }

                    users++;
                }
            }
        }

        return ValidationReport.Choose(users, accumulators.ToDictionary(kv => kv.Key, kv => kv.Value.Select(a => a.Result()).ToArray()),
            accumulators.ToDictionary(kv => kv.Key, kv => kv.Value[Array.IndexOf(ks, 10)].UserNdcg));
    }
}
