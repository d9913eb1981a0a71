using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Tests.Models;

public class AlsRecommendAllTests
{
    [TestCase(1)]
    [TestCase(30)]
    public void RecommendAll_GivesEveryUserWhatRecommendGivesThem(int lists)
    {
        const int F = 16, Users = 300, Items = 3_000, K = 20;
        var rng = new Rng(31);
        var model = new AlsModel(
            F,
            Enumerable.Range(0, Users * F).Select(_ => (float)rng.NextGaussian()).ToArray(),
            Enumerable.Range(0, Items * F).Select(_ => (float)rng.NextGaussian()).ToArray(),
            new AlsParameters { Factors = F, Seed = 3 });
        var als = new AlsRecommender(model, lists, probes: 4);

        // One more user in the log than in the model: that user gets nothing.
        var offsets = new int[Users + 2];
        var items = new List<int>();
        for (var u = 0; u <= Users; u++)
        {
            items.AddRange(Enumerable.Range(0, u % 5 * 9).Select(_ => rng.Next(Items)));
            offsets[u + 1] = items.Count;
        }

        var log = new EventLog(IdMap.FromIds(Enumerable.Range(0, Users + 1).Select(u => (long)u)), Items, offsets, [.. items], new ushort[items.Count], new int[items.Count]);
        var users = Enumerable.Range(0, Users + 1).Where(u => u % 3 != 1).ToArray();
        var got = new ScoredItem[users.Length][];
        als.RecommendAll(users, log, K, (b, best) => got[b] = best.ToArray());

        for (var b = 0; b < users.Length; b++)
        {
            var u = users[b];
            if (u == Users)
            {
                Assert.That(got[b], Is.Null, "a user the model does not know");
                continue;
            }

            var expected = new ScoredItem[K];
            var n = als.Recommend(u, log.ItemsOf(u), K, expected);
            Assert.That(got[b], Is.EqualTo(expected[..n]), $"user {u}");
        }
    }
}

public class PrecomputedListsTests
{
    [Test]
    public void APrefixOfTheTopHundredTable_IsWhatTheModelGivesForFewerItems_AndOthersGoToTheModel()
    {
        const int F = 8, Users = 120, Items = 2_000;
        var rng = new Rng(41);
        var model = new AlsModel(
            F,
            Enumerable.Range(0, Users * F).Select(_ => (float)rng.NextGaussian()).ToArray(),
            Enumerable.Range(0, Items * F).Select(_ => (float)rng.NextGaussian()).ToArray(),
            new AlsParameters { Factors = F, Seed = 4 });
        var als = new AlsRecommender(model, lists: 20, probes: 5);
        var offsets = new int[Users + 1];
        var items = new List<int>();
        for (var u = 0; u < Users; u++)
        {
            items.AddRange(Enumerable.Range(0, 12).Select(_ => rng.Next(Items)));
            offsets[u + 1] = items.Count;
        }

        var log = new EventLog(IdMap.FromIds(Enumerable.Range(0, Users).Select(u => (long)u)), Items, offsets, [.. items], new ushort[items.Count], new int[items.Count]);
        var users = Enumerable.Range(0, Users).Where(u => u % 4 != 0).ToArray(); // users 0, 4, 8, … have no row
        var table = Recommender.Pipeline.BulkInference.RecommendAll(log, users, als, 100, CancellationToken.None);
        var lists = new PrecomputedLists(table, 100, als);

        foreach (var (u, k) in new[] { (1, 50), (2, 10), (3, 100), (4, 50), (5, 101) })
        {
            var expected = new ScoredItem[k];
            var got = new ScoredItem[k];
            var n = als.Recommend(u, log.ItemsOf(u), k, expected);
            Assert.That(lists.Recommend(u, log.ItemsOf(u), k, got), Is.EqualTo(n), $"user {u}, k={k}");
            Assert.That(got[..n], Is.EqualTo(expected[..n]), $"user {u}, k={k}");
        }
    }
}
