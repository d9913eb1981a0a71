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
    /// The blend's weights: the grid's best pooled NDCG@10 over the windows' users (the first wins
    /// ties). Chosen before the ranker is trained, since the blend's score is one of its features.
    /// </summary>
    /// <param name="folds">how many folds <paramref name="foldOf"/> makes: users are read fold by fold, as <see cref="Score"/> reads them.</param>
    public static BlendWeights ChooseBlend(IReadOnlyList<LabelWindow> windows, int folds, Func<int, int> foldOf)
    {
        var listeners = windows[0].History.ItemUserCounts();
        var historyUsers = Enumerable.Range(0, windows[0].History.NumUsers).Count(u => windows[0].History.CountOf(u) > 0);
        var grid = BlendWeights.Grid;
        var blends = grid.Select(_ => new MetricsAccumulator(10, listeners, historyUsers)).ToArray();
        foreach (var w in windows)
        {
            IRecommenderModel[] parts = [w.Models.Als, w.Models.ItemKnn, w.Models.Genre];
            for (var f = 0; f < folds; f++)
            {
                var fold = w.Users.Where(u => foldOf(u) == f).ToArray();
                var lists = new int[fold.Length][][];
                Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, fold.Length, 256), Cores.Options(), range =>
                {
                    var buffer = new ScoredItem[FusionRecommender.DefaultDepth];
                    for (var b = range.Item1; b < range.Item2; b++)
                    {
                        // The parts at the blend's depth once: every weighting of the grid fuses the same lists.
                        var partLists = PartLists(parts, fold[b], w.History.ItemsOf(fold[b]), buffer);
                        lists[b] = new int[grid.Count][];
                        for (var g = 0; g < grid.Count; g++)
                        {
                            var n = FusionRecommender.Fuse(partLists, [1f, grid[g].ItemBased, grid[g].Genre], 10, buffer);
                            lists[b][g] = buffer[..n].Select(x => x.Item).ToArray();
                        }
                    }
                });

                // Scored in user order, one thread: the sums add up in the same order whatever the cores did.
                for (var b = 0; b < fold.Length; b++)
                {
                    var truth = Truth(w, fold[b]);
                    for (var g = 0; g < grid.Count; g++)
                    {
                        blends[g].Add(lists[b][g], truth);
                    }
                }
            }
        }

        return grid[Enumerable.Range(0, grid.Count).MaxBy(g => (blends[g].Result().Ndcg, -g))];
    }

    private static ScoredItem[][] PartLists(IRecommenderModel[] parts, int user, ReadOnlySpan<int> history, ScoredItem[] buffer)
    {
        var lists = new ScoredItem[parts.Length][];
        for (var p = 0; p < parts.Length; p++)
        {
            lists[p] = buffer[..parts[p].Recommend(user, history, FusionRecommender.DefaultDepth, buffer)]; // a copy
        }

        return lists;
    }

    /// <summary>The tracks <paramref name="user"/> first heard in the window, sorted: what a list is scored against.</summary>
    internal static int[] Truth(LabelWindow w, int user)
    {
        var truth = w.Labels.ItemsOf(user).ToArray();
        Array.Sort(truth);
        return truth;
    }

    /// <summary>
    /// Every candidate list for every label window's users, scored against the tracks they first
    /// heard in that window and pooled over the windows (small data gives few users per window).
    /// </summary>
    /// <param name="blend">the blend's weights (<see cref="ChooseBlend"/>): the "blend" list, and the ranker's blend feature.</param>
    /// <param name="depths">how deep the ranker reads each generator's list.</param>
    /// <param name="foldRankers">ranker f ranks the users with <paramref name="foldOf"/> f: each was trained without them.</param>
    /// <param name="buffers">the ranker's buffers, reused from call to call (null: a fresh set).</param>
    public static ValidationReport Score(IReadOnlyList<LabelWindow> windows, BlendWeights blend, CandidateDepths depths, GradientBoostedRanker[] foldRankers, Func<int, int> foldOf, RankingBuffers? buffers = null)
    {
        int[] ks = [5, 10];
        var latest = windows[0].History;
        var listeners = latest.ItemUserCounts();
        var historyUsers = Enumerable.Range(0, latest.NumUsers).Count(u => latest.CountOf(u) > 0);
        MetricsAccumulator[] Accumulators() => [.. ks.Select(k => new MetricsAccumulator(k, listeners, historyUsers, keepUserNdcg: k == 10))];
        var accumulators = ValidationReport.Candidates.ToDictionary(s => s, _ => Accumulators());
        float[] blendWeights = [1f, blend.ItemBased, blend.Genre];
        var users = 0;
        foreach (var w in windows)
        {
            var (als, itemKnn, similar, popular, _, genre) = w.Models;
            var models = new (string Name, IRecommenderModel Model)[] { ("popular", popular), ("als", als), ("itemknn", itemKnn), ("genre", genre), ("similar", similar) };
            IRecommenderModel[] blendParts = [als, itemKnn, genre];
            for (var f = 0; f < foldRankers.Length; f++)
            {
                var ranked = new RankedRecommender(w.Models, blend, depths, foldRankers[f]);
                var fold = w.Users.Where(u => foldOf(u) == f).ToArray();
                var rankedLists = ranked.RecommendInBatches(fold, w.History.ItemsOf, 10, buffers);

                // The users' lists on every core; then scored in user order, one thread, so the
                // metric sums add up in the same order whatever the cores did.
                var lists = new int[fold.Length][][];
                Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, fold.Length, 256), Cores.Options(), range =>
                {
                    var buffer = new ScoredItem[FusionRecommender.DefaultDepth];
                    for (var b = range.Item1; b < range.Item2; b++)
                    {
                        // The blend's parts at its depth, once: their own top 10 are these lists' first
                        // 10 (top-k lists are prefixes of longer ones).
                        var parts = PartLists(blendParts, fold[b], w.History.ItemsOf(fold[b]), buffer);
                        lists[b] = new int[models.Length + 1][];
                        for (var m = 0; m < models.Length; m++)
                        {
                            var part = Array.IndexOf(blendParts, models[m].Model);
                            lists[b][m] = part >= 0
                                ? parts[part][..Math.Min(10, parts[part].Length)].Select(x => x.Item).ToArray()
                                : buffer[..models[m].Model.Recommend(fold[b], w.History.ItemsOf(fold[b]), 10, buffer)].Select(x => x.Item).ToArray();
                        }

                        var n = FusionRecommender.Fuse(parts, blendWeights, 10, buffer);
                        lists[b][models.Length] = buffer[..n].Select(x => x.Item).ToArray();
                    }
                });
                for (var b = 0; b < fold.Length; b++)
                {
                    var truth = Truth(w, fold[b]);
                    for (var m = 0; m < models.Length; m++)
                    {
                        foreach (var acc in accumulators[models[m].Name])
                        {
                            acc.Add(lists[b][m], truth);
                        }
                    }

                    foreach (var acc in accumulators["blend"])
                    {
                        acc.Add(lists[b][models.Length], truth);
                    }

                    foreach (var acc in accumulators["ranked"])
                    {
                        acc.Add(rankedLists[b].Select(x => x.Item).ToArray(), truth);
                    }

                    users++;
                }
            }
        }

        var at10 = Array.IndexOf(ks, 10);
        var ordered = ValidationReport.Candidates.Where(accumulators.ContainsKey).ToArray();
        return ValidationReport.Choose(users, ordered.ToDictionary(c => c, c => accumulators[c].Select(a => a.Result()).ToArray()),
            ordered.ToDictionary(c => c, c => accumulators[c][at10].UserNdcg)) with { Blend = blend };
    }
}
