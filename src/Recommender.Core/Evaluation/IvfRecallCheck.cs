using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Evaluation;

/// <summary>
/// How much the approximate (IVF) searches lose against exact scans, on sampled users and tracks:
/// recall@10 of the users' ALS lists and of the similar-tracks table.
/// </summary>
public static class IvfRecallCheck
{
    public static IvfRecall Measure(EventLog train, int[] users, AlsRecommender als, SimilarToRecentModel similar, int sampleUsers, ulong seed)
    {
        if (als.Index.IsExact)
        {
            return new IvfRecall(true, 1, 1, 0);
        }

        const int K = 10;
        var rng = new Rng(seed + 11);
        var sample = Enumerable.Range(0, Math.Min(sampleUsers, users.Length)).Select(_ => users[rng.Next(users.Length)]).Distinct().ToArray();
        // Batched searches (IvfIndex.SearchAll): an exact scan reads all item factors (256 MB at
        // full size) once per batch of queries instead of once per query; results equal one-query searches.
        var exact = new AlsRecommender(als.Model, lists: 1);
        var approximate = Lists(als, sample, train, K);
        var truth = Lists(exact, sample, train, K);
        double userHits = 0;
        for (var s = 0; s < sample.Length; s++)
        {
            userHits += approximate[s].Select(x => x.Item).Intersect(truth[s].Select(x => x.Item)).Count() / (double)Math.Max(1, truth[s].Length);
        }

        // Similar items: the served table against an exact cosine scan, for sampled items only.
        var f = als.Model.Factors;
        var normalized = DenseKernels.NormalizeRows(als.Model.ItemFactors, f);
        var exactIndex = IvfIndex.Build(normalized, f, 1, 0);
        var items = Enumerable.Range(0, sample.Length).Select(_ => rng.Next(als.Model.Items)).Distinct().ToArray();
        var nearest = new int[items.Length][];
        exactIndex.SearchAll(items.Length, K + 1, 1, (int p, Span<float> query, out ReadOnlySpan<int> excluded) =>
        {
            normalized.AsSpan(items[p] * f, f).CopyTo(query);
            excluded = [];
            return true;
        }, (p, best) => nearest[p] = [.. best.ToArray().Select(x => x.Item).Where(j => j != items[p]).Take(K)]);
        double itemHits = 0;
        for (var p = 0; p < items.Length; p++)
        {
            var served = similar.Similar.NeighborsOf(items[p]);
            itemHits += served[..Math.Min(K, served.Length)].ToArray().Intersect(nearest[p]).Count() / (double)Math.Max(1, nearest[p].Length);
        }

        return new IvfRecall(false, userHits / Math.Max(1, sample.Length), itemHits / Math.Max(1, items.Length), sample.Length);
    }

    private static ScoredItem[][] Lists(AlsRecommender model, int[] users, EventLog train, int k)
    {
        var lists = new ScoredItem[users.Length][];
        model.RecommendAll(users, train, k, (p, best) => lists[p] = best.ToArray());
        return [.. lists.Select(l => l ?? [])];
    }
}
