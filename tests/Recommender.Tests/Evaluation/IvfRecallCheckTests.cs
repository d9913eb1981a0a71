using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Tests.Models;

namespace Recommender.Tests.Evaluation;

public class IvfRecallCheckTests
{
    /// <summary>The batched check against the obvious version: one exact scan per sampled user and per sampled track.</summary>
    [Test]
    public void BatchedRecall_EqualsOneSearchPerQuery()
    {
        var data = CandidateGeneratorSuite.Shared.Value;
        var model = AlsModel.Fit(InteractionMatrix.FromEvents(data.Train), new AlsParameters { Factors = 16, Iterations = 4, Seed = 3 });
        // Few lists and probes, so that the approximate search misses some of the exact top-10.
        var als = new AlsRecommender(model, lists: 24, probes: 2);
        var similar = SimilarToRecentModel.Fit(data.Train, model, neighbors: 10);
        var users = Enumerable.Range(0, data.Train.NumUsers).Where(u => data.Train.CountOf(u) > 0).ToArray();

        var got = IvfRecallCheck.Measure(data.Train, users, als, similar, 200, 9);

        var (userRecall, itemRecall, sampled) = Reference(data.Train, users, als, similar, 200, 9);
        Assert.That(got.Exact, Is.False);
        Assert.That(got.SampledUsers, Is.EqualTo(sampled));
        Assert.That(got.UserRecallAt10, Is.EqualTo(userRecall));
        Assert.That(got.SimilarRecallAt10, Is.EqualTo(itemRecall));
        Assert.That(got.UserRecallAt10, Is.InRange(0.2, 0.999), "two probes of 24 lists must lose some of the exact lists");
    }

    private static (double Users, double Items, int Sampled) Reference(EventLog train, int[] users, AlsRecommender als, SimilarToRecentModel similar, int sampleUsers, ulong seed)
    {
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

        var f = als.Model.Factors;
        var normalized = DenseKernels.NormalizeRows(als.Model.ItemFactors, f);
        var items = Enumerable.Range(0, sample.Length).Select(_ => rng.Next(als.Model.Items)).Distinct().ToArray();
        double itemHits = 0;
        foreach (var i in items)
        {
            // Cosine against every track, by hand; ties broken toward the lower id, as TopK does.
            var truth = Enumerable.Range(0, als.Model.Items).Where(j => j != i)
                .Select(j => (Item: j, Score: System.Numerics.Tensors.TensorPrimitives.Dot(normalized.AsSpan(i * f, f), normalized.AsSpan(j * f, f))))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Item).Take(K).Select(x => x.Item).ToArray();
            var served = similar.Similar.NeighborsOf(i);
            itemHits += served[..Math.Min(K, served.Length)].ToArray().Intersect(truth).Count() / (double)Math.Max(1, truth.Length);
        }

        return (userHits / Math.Max(1, sample.Length), itemHits / Math.Max(1, items.Length), sample.Length);
    }
}
