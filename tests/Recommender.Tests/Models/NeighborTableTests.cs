using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Tests.Models;

public class NeighborTableTests
{
    [Test]
    public void Sequential_CountsAdjacentPairsBothWays()
    {
        // User 0 plays 0,1,2; user 1 plays 1,2; user 2 plays 2,0.
        var users = IdMap.FromIds([10, 11, 12]);
        var log = new EventLog(users, 4, [0, 3, 5, 7], [0, 1, 2, 1, 2, 2, 0], [1, 1, 1, 1, 1, 1, 1], [1, 2, 3, 1, 2, 1, 2]);
        var table = NeighborTable.Sequential(log, 5);
        // Listeners: 0 → 2, 1 → 2, 2 → 3. Pairs: (0,1)×1, (1,2)×2, (2,0)×1.
        Assert.That(table.NeighborsOf(1).ToArray(), Is.EqualTo(new[] { 2, 0 }));
        Assert.That(table.ScoresOf(1)[0], Is.EqualTo((float)(2 / Math.Sqrt(2 * 3))).Within(1e-6));
        Assert.That(table.ScoresOf(1)[1], Is.EqualTo((float)(1 / Math.Sqrt(2 * 2))).Within(1e-6));
        Assert.That(table.NeighborsOf(3).Length, Is.Zero, "item 3 is never played");
        for (var i = 0; i < 4; i++)
        {
            Assert.That(table.NeighborsOf(i).ToArray(), Does.Not.Contain(i));
        }

        var path = Path.Combine(Support.TestPaths.NewTempDir(), "seq.parquet");
        var items = IdMap.FromIds([100, 200, 300, 400]);
        table.Save(path, items);
        var loaded = NeighborTable.Load(path, items);
        Assert.That(loaded.Offsets.ToArray(), Is.EqualTo(table.Offsets.ToArray()));
        for (var i = 0; i < 4; i++)
        {
            Assert.That(loaded.NeighborsOf(i).ToArray(), Is.EqualTo(table.NeighborsOf(i).ToArray()));
            Assert.That(loaded.ScoresOf(i).ToArray(), Is.EqualTo(table.ScoresOf(i).ToArray()));
        }
    }

    /// <summary>
    /// The counted build against the obvious one (a dictionary of pair counts, the k best by
    /// score then item): a random log over a few hundred items with repeats, many ties, k 1 to 30;
    /// built at once and one range of items at a time (ranges of at most 1, 50 or 700 adjacent
    /// tracks: one item per range, a few dozen items, a few ranges).
    /// </summary>
    [TestCase(1, 1 << 26)]
    [TestCase(7, 1 << 26)]
    [TestCase(30, 1 << 26)]
    [TestCase(7, 1)]
    [TestCase(7, 50)]
    [TestCase(30, 700)]
    public void Sequential_EqualsCountingPairsInADictionary(int k, int maxChunkEntries)
    {
        const int Users = 300, Items = 400;
        var rng = new Random(k);
        var offsets = new List<int> { 0 };
        var items = new List<int>();
        for (var u = 0; u < Users; u++)
        {
            var length = rng.Next(0, 40);
            for (var e = 0; e < length; e++)
            {
                // Mostly a neighbourhood of tracks, sometimes a repeat of the previous one.
                items.Add(e > 0 && rng.Next(8) == 0 ? items[^1] : (u * 7 + rng.Next(30)) % Items);
            }

            offsets.Add(items.Count);
        }

        var log = new EventLog(IdMap.FromIds(Enumerable.Range(0, Users).Select(u => (long)u)), Items, [.. offsets], [.. items], new ushort[items.Count], new int[items.Count]);
        var table = NeighborTable.Sequential(log, k, maxChunkEntries);

        var pairs = new Dictionary<(int, int), int>();
        for (var u = 0; u < Users; u++)
        {
            for (var e = offsets[u] + 1; e < offsets[u + 1]; e++)
            {
                foreach (var key in new[] { (items[e - 1], items[e]), (items[e], items[e - 1]) })
                {
                    pairs[key] = pairs.GetValueOrDefault(key) + 1;
                }
            }
        }

        var listeners = log.ItemUserCounts();
        for (var i = 0; i < Items; i++)
        {
            var expected = pairs.Where(p => p.Key.Item1 == i && p.Key.Item2 != i)
                .Select(p => new ScoredItem(p.Key.Item2, (float)(p.Value / Math.Sqrt((double)Math.Max(1, listeners[i]) * Math.Max(1, listeners[p.Key.Item2])))))
                .Order().Take(k).ToArray();
            Assert.That(table.NeighborsOf(i).ToArray(), Is.EqualTo(expected.Select(x => x.Item).ToArray()), $"item {i}");
            Assert.That(table.ScoresOf(i).ToArray(), Is.EqualTo(expected.Select(x => x.Score).ToArray()), $"item {i}");
        }
    }

    [Test]
    public void FromFactors_ForSomeItems_ListsExactlyWhatTheFullTableListsForThem()
    {
        const int Items = 200, F = 8;
        var rng = new Random(3);
        var itemFactors = Enumerable.Range(0, Items * F).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var model = new AlsModel(F, new float[F], itemFactors, new AlsParameters { Factors = F });
        var full = NeighborTable.FromFactors(model, 10);
        int[] query = [0, 17, 18, 150, 199];
        var partial = NeighborTable.FromFactors(model, 10, queryItems: query);
        Assert.That(partial.NumItems, Is.EqualTo(Items));
        for (var i = 0; i < Items; i++)
        {
            if (query.Contains(i))
            {
                Assert.That(partial.NeighborsOf(i).ToArray(), Is.EqualTo(full.NeighborsOf(i).ToArray()), $"item {i}");
                Assert.That(partial.ScoresOf(i).ToArray(), Is.EqualTo(full.ScoresOf(i).ToArray()), $"item {i}");
                Assert.That(partial.NeighborsOf(i).Length, Is.EqualTo(10));
            }
            else
            {
                Assert.That(partial.NeighborsOf(i).Length, Is.Zero, $"item {i} was not asked for");
            }
        }
    }
}
