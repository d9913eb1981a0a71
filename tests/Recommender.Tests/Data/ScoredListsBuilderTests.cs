using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Tests.Data;

public class ScoredListsBuilderTests
{
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(7)]
    public void Pack_MatchesRowByRowLists(int seed)
    {
        // The slow obvious version: one list per row, laid out end to end in row order.
        var rng = new Random(seed);
        const int Rows = 300, K = 6;
        var slotRows = Enumerable.Range(0, Rows).Where(_ => rng.Next(3) > 0).ToArray();
        var expected = new ScoredItem[]?[Rows];
        var builder = new ScoredListsBuilder(Rows, slotRows, K);

        // Slots are filled out of order, as parallel workers would.
        foreach (var s in Enumerable.Range(0, slotRows.Length).OrderBy(_ => rng.Next()))
        {
            var list = Enumerable.Range(0, rng.Next(K + 1)).Select(r => new ScoredItem(rng.Next(1000), 100 - r)).ToArray();
            expected[slotRows[s]] = list;
            builder.Set(s, list);
        }

        var (offsets, items, scores) = builder.Pack();
        Assert.That(offsets, Has.Length.EqualTo(Rows + 1));
        var at = 0;
        for (var r = 0; r < Rows; r++)
        {
            var list = expected[r] ?? [];
            Assert.That(offsets[r], Is.EqualTo(at), $"offset of row {r}");
            Assert.That(items.AsSpan(offsets[r], offsets[r + 1] - offsets[r]).ToArray(), Is.EqualTo(list.Select(x => x.Item).ToArray()), $"items of row {r}");
            Assert.That(scores.AsSpan(offsets[r], offsets[r + 1] - offsets[r]).ToArray(), Is.EqualTo(list.Select(x => x.Score).ToArray()), $"scores of row {r}");
            at += list.Length;
        }

        Assert.That(offsets[Rows], Is.EqualTo(at));
    }

    /// <summary>A builder that takes over a finished table's arrays packs the same table as a fresh one, in those arrays.</summary>
    [Test]
    public void RecycledArrays_PackTheSameTable()
    {
        var rng = new Random(5);
        const int Rows = 200, K = 5;
        RecommendationTable Build(int[] slotRows, ScoredListsBuilder builder)
        {
            for (var s = 0; s < slotRows.Length; s++)
            {
                builder.Set(s, [.. Enumerable.Range(0, rng.Next(K + 1)).Select(r => new ScoredItem(slotRows[s] + r, 10 - r))]);
            }

            return new RecommendationTable(builder);
        }

        var first = Build([.. Enumerable.Range(0, 80)], new ScoredListsBuilder(Rows, [.. Enumerable.Range(0, 80)], K));
        int[] second = [.. Enumerable.Range(80, 60)];
        var state = rng.Next();
        rng = new Random(state);
        var fresh = Build(second, new ScoredListsBuilder(Rows, second, K));
        rng = new Random(state);
        var (items, scores, offsets) = (first.Items, first.Scores, first.Offsets);
        var recycled = Build(second, new ScoredListsBuilder(Rows, second, K, recycled: first));
        Assert.That(recycled.Items.Equals(items), Is.True, "the same array taken over");
        Assert.That(recycled.Scores.Equals(scores), Is.True);
        Assert.That(recycled.Offsets.Equals(offsets), Is.True);
        Assert.That(recycled.Offsets.ToArray(), Is.EqualTo(fresh.Offsets.ToArray()), "rows of the first table are empty now");
        for (var r = 0; r < Rows; r++)
        {
            Assert.That(recycled.ItemsOf(r).ToArray(), Is.EqualTo(fresh.ItemsOf(r).ToArray()), $"row {r}");
            Assert.That(recycled.ScoresOf(r).ToArray(), Is.EqualTo(fresh.ScoresOf(r).ToArray()), $"row {r}");
        }

        // Too small to take over: fresh arrays.
        var larger = new ScoredListsBuilder(Rows, null, K, recycled: fresh);
        Assert.That(new RecommendationTable(larger).Items.Equals(fresh.Items), Is.False);
    }

    [Test]
    public void Builder_RejectsBadSlotsAndLongLists()
    {
        Assert.That(() => new ScoredListsBuilder(5, [1, 1], 2), Throws.ArgumentException.With.Message.Contains("ascending"));
        Assert.That(() => new ScoredListsBuilder(5, [5], 2), Throws.ArgumentException.With.Message.Contains("below 5"));
        var builder = new ScoredListsBuilder(5, null, 2);
        Assert.That(() => builder.Set(0, [new(1, 1), new(2, 1), new(3, 1)]), Throws.ArgumentException.With.Message.Contains("does not fit"));
        builder.Pack();
        Assert.That(() => builder.Pack(), Throws.InvalidOperationException);
    }

    [Test]
    public void RecommendationTable_FromPackedSlots_SavesAndLoadsExactly()
    {
        var builder = new ScoredListsBuilder(4, [0, 2, 3], 3);
        builder.Set(0, [new(2, 0.9f), new(1, 0.5f)]);
        builder.Set(1, []);
        builder.Set(2, [new(0, 0.7f)]);
        var table = new RecommendationTable(builder);
        Assert.That(table.ItemsOf(0).ToArray(), Is.EqualTo(new[] { 2, 1 }));
        Assert.That(table.ItemsOf(1).Length + table.ItemsOf(2).Length, Is.Zero);
        Assert.That(table.ItemsOf(3).ToArray(), Is.EqualTo(new[] { 0 }));

        var users = IdMap.FromIds([10, 20, 30, 40]);
        var items = IdMap.FromIds([7, 8, 9]);
        var path = Path.Combine(Support.TestPaths.NewTempDir(), "table.parquet");
        table.Save(path, users, items);
        var loaded = RecommendationTable.Load(path, users, items);
        Assert.That(loaded.Offsets.ToArray(), Is.EqualTo(table.Offsets.ToArray()));
        for (var u = 0; u < 4; u++)
        {
            Assert.That(loaded.ItemsOf(u).ToArray(), Is.EqualTo(table.ItemsOf(u).ToArray()));
            Assert.That(loaded.ScoresOf(u).ToArray(), Is.EqualTo(table.ScoresOf(u).ToArray()));
        }
    }
}
