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

                // The users' lists on every core; then scored in user order, one thread, so the
                // metric sums add up in the same order whatever the cores did.
                var lists = new int[fold.Length][][];
                Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, fold.Length, 256), Cores.Options(), range =>
                {
                    var buffer = new ScoredItem[10];
                    for (var b = range.Item1; b < range.Item2; b++)
                    {
                        lists[b] = new int[models.Length][];
                        for (var m = 0; m < models.Length; m++)
                        {
                            var n = models[m].Model.Recommend(fold[b], w.History.ItemsOf(fold[b]), 10, buffer);
                            lists[b][m] = buffer[..n].Select(x => x.Item).ToArray();
                        }
                    }
                });
                for (var b = 0; b < fold.Length; b++)
                {
                    var u = fold[b];
                    var truth = w.Labels.ItemsOf(u).ToArray();
                    Array.Sort(truth);
                    for (var m = 0; m < models.Length; m++)
                    {
                        foreach (var acc in accumulators[models[m].Name])
                        {
                            acc.Add(lists[b][m], truth);
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
