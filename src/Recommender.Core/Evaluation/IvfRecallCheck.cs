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
        var exact = new AlsRecommender(als.Model, lists: 1);
        double userHits = 0;
        foreach (var u in sample)
        {
            var a = new ScoredItem[K];
            var b = new ScoredItem[K];
            var na = als.Recommend(u, train.ItemsOf(u), K, a);
            var nb = exact.Recommend(u, train.ItemsOf(u), K, b);
            userHits += a[..na].Select(s => s.Item).Intersect(b[..nb].Select(s => s.Item)).Count() / (double)Math.Max(1, nb);
        }

        // Similar items: the served table against an exact cosine scan, for sampled items only.
        var f = als.Model.Factors;
        var normalized = DenseKernels.NormalizeRows(als.Model.ItemFactors, f);
        var exactIndex = IvfIndex.Build(normalized, f, 1, 0);
        var items = Enumerable.Range(0, sample.Length).Select(_ => rng.Next(als.Model.Items)).Distinct().ToArray();
        double itemHits = 0;
        var top = new TopK(K + 1);
        var buffer = new ScoredItem[K + 1];
        foreach (var i in items)
        {
            top.Clear();
            exactIndex.Search(normalized.AsSpan(i * f, f), 1, top, [], new float[1]);
            var n = top.Drain(buffer);
            var truth = buffer[..n].Select(s => s.Item).Where(j => j != i).Take(K).ToArray();
            var served = similar.Similar.NeighborsOf(i);
            itemHits += served[..Math.Min(K, served.Length)].ToArray().Intersect(truth).Count() / (double)Math.Max(1, truth.Length);
        }

        return new IvfRecall(false, userHits / Math.Max(1, sample.Length), itemHits / Math.Max(1, items.Length), sample.Length);
    }
}
