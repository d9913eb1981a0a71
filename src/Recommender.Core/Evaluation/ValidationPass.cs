using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Evaluation;

/// <summary>
/// Validation: every candidate list (popular, ALS, item-based, genre, similar-to-recent, blend, ranked)
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
        MetricsAccumulator[] Accumulators() => [.. ks.Select(k => new MetricsAccumulator(k, listeners, historyUsers, keepUserNdcg: k == 10))];
        var accumulators = ValidationReport.Candidates.Where(c => c != "blend").ToDictionary(s => s, _ => Accumulators());
        var grid = BlendWeights.Grid;
        var blends = grid.Select(_ => Accumulators()).ToArray();
        var users = 0;
        foreach (var w in windows)
        {
            var (als, itemKnn, similar, popular, features, genre) = w.Models;
            var models = new (string Name, IRecommenderModel Model)[] { ("popular", popular), ("als", als), ("itemknn", itemKnn), ("genre", genre), ("similar", similar) };
            IRecommenderModel[] blendParts = [als, itemKnn, genre];
            for (var f = 0; f < foldRankers.Length; f++)
            {
                var ranked = new RankedRecommender(als, itemKnn, similar, popular, features, foldRankers[f]);
                var fold = w.Users.Where(u => foldOf(u) == f).ToArray();
                var rankedLists = ranked.RecommendBatch(fold, w.History.ItemsOf, 10, new RankingBuffers());

                // The users' lists on every core; then scored in user order, one thread, so the
                // metric sums add up in the same order whatever the cores did.
                var lists = new int[fold.Length][][];
                var blendLists = new int[fold.Length][][];
                Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, fold.Length, 256), Cores.Options(), range =>
                {
                    var buffer = new ScoredItem[FusionRecommender.DefaultDepth];
                    for (var b = range.Item1; b < range.Item2; b++)
                    {
                        var history = w.History.ItemsOf(fold[b]);

                        // The blend's parts at its depth, once: their own top 10 are these lists' first
                        // 10 (top-k lists are prefixes of longer ones), and every weighting of the grid
                        // fuses the same lists.
                        var parts = new ScoredItem[blendParts.Length][];
                        for (var p = 0; p < blendParts.Length; p++)
                        {
                            parts[p] = buffer[..blendParts[p].Recommend(fold[b], history, FusionRecommender.DefaultDepth, buffer)]; // a copy
                        }

                        lists[b] = new int[models.Length][];
                        for (var m = 0; m < models.Length; m++)
                        {
                            var part = Array.IndexOf(blendParts, models[m].Model);
                            lists[b][m] = part >= 0
                                ? parts[part][..Math.Min(10, parts[part].Length)].Select(x => x.Item).ToArray()
                                : buffer[..models[m].Model.Recommend(fold[b], history, 10, buffer)].Select(x => x.Item).ToArray();
                        }

                        blendLists[b] = new int[grid.Count][];
                        for (var g = 0; g < grid.Count; g++)
                        {
                            var n = FusionRecommender.Fuse(parts, [1f, grid[g].ItemBased, grid[g].Genre], 10, buffer);
                            blendLists[b][g] = buffer[..n].Select(x => x.Item).ToArray();
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

                    for (var g = 0; g < grid.Count; g++)
                    {
                        foreach (var acc in blends[g])
                        {
                            acc.Add(blendLists[b][g], truth);
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

        // The blend's weights: the best pooled NDCG@10 of the grid (the first wins ties). The gate
        // below then compares that blend with the lists it was built from on the same users.
        var at10 = Array.IndexOf(ks, 10);
        var chosen = Enumerable.Range(0, grid.Count).MaxBy(g => (blends[g][at10].Result().Ndcg, -g));
        accumulators["blend"] = blends[chosen];
        var ordered = ValidationReport.Candidates.Where(accumulators.ContainsKey).ToArray();
        return ValidationReport.Choose(users, ordered.ToDictionary(c => c, c => accumulators[c].Select(a => a.Result()).ToArray()),
            ordered.ToDictionary(c => c, c => accumulators[c][at10].UserNdcg)) with { Blend = grid[chosen] };
    }
}
