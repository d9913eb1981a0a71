using Recommender.Data;
using Recommender.Models;

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
        Assert.That(loaded.Offsets, Is.EqualTo(table.Offsets));
        for (var i = 0; i < 4; i++)
        {
            Assert.That(loaded.NeighborsOf(i).ToArray(), Is.EqualTo(table.NeighborsOf(i).ToArray()));
            Assert.That(loaded.ScoresOf(i).ToArray(), Is.EqualTo(table.ScoresOf(i).ToArray()));
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
