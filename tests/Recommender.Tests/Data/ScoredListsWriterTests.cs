using Recommender.Data;
using Recommender.Numerics;
using Recommender.Tests.Support;

namespace Recommender.Tests.Data;

/// <summary>Every user's lists written a block at a time: the same file as the whole table's, whatever the blocks.</summary>
public class ScoredListsWriterTests
{
    private const int Rows = 500;

    [TestCase(1)]
    [TestCase(2)]
    public void AppendedInBlocks_IsTheWholeTablesFile_ByteForByte(int seed)
    {
        var (table, users, items) = RandomTable(seed, k: 7);
        var dir = TestPaths.NewTempDir();
        var whole = Path.Combine(dir, "whole.parquet");
        table.Save(whole, users, items);

        // The slow obvious split: random block boundaries, each block a table of its own rows only.
        var rng = new Random(seed);
        var blocked = Path.Combine(dir, "blocked.parquet");
        using (var writer = RecommendationTable.Writer(blocked, users, items))
        {
            for (var start = 0; start < Rows;)
            {
                var end = Math.Min(Rows, start + 1 + rng.Next(60));
                var blockRows = Enumerable.Range(start, end - start).ToArray();
                writer.Append(BlockOf(table, blockRows, 7), blockRows);
                start = end;
            }

            Assert.That(File.Exists(blocked), Is.False, "nothing at the path before Commit");
            writer.Commit();
        }

        Assert.That(File.ReadAllBytes(blocked), Is.EqualTo(File.ReadAllBytes(whole)));
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(20)]
    public void SmallRowGroups_HoldWholeListsAndReadBackExactly(int rowsPerGroup)
    {
        var (table, users, items) = RandomTable(3, k: 7);
        var path = Path.Combine(TestPaths.NewTempDir(), "lists.parquet");
        using (var writer = new ScoredListsWriter(path, users, items, Tables.UserLists, rowsPerGroup))
        {
            writer.Append(table, 0, Rows);
            writer.Commit();
        }

        using (var input = ParquetInput.Open(path))
        {
            var userIds = new long[input.NumRows];
            var at = 0;
            foreach (var (n, g) in input.RowGroupRows.Select((n, g) => ((int)n, g)))
            {
                input.ReadIntegers(g, Columns.UserId, userIds.AsSpan(at, n));
                // Over the cap only when one list alone is longer than it.
                Assert.That(n <= rowsPerGroup || userIds.AsSpan(at, n).ToArray().Distinct().Count() == 1, $"group {g}: {n} rows");
                at += n;
            }

            // No list is split between groups: a group's last user is not the next group's first.
            var groupStarts = input.RowGroupRows.Select(n => (int)n).ToArray();
            for (int g = 0, start = 0; g + 1 < groupStarts.Length; g++)
            {
                start += groupStarts[g];
                Assert.That(userIds[start], Is.Not.EqualTo(userIds[start - 1]), $"a list split at group {g + 1}");
            }
        }

        var back = RecommendationTable.Load(path, users, items);
        for (var u = 0; u < Rows; u++)
        {
            Assert.That(back.ItemsOf(u).ToArray(), Is.EqualTo(table.ItemsOf(u).ToArray()), $"items of user {u}");
            Assert.That(back.ScoresOf(u).ToArray(), Is.EqualTo(table.ScoresOf(u).ToArray()), $"scores of user {u}");
        }
    }

    [Test]
    public void RowsOutOfOrder_AreRefused_AndNothingIsWritten()
    {
        var (table, users, items) = RandomTable(4, k: 3);
        var path = Path.Combine(TestPaths.NewTempDir(), "lists.parquet");
        using (var writer = RecommendationTable.Writer(path, users, items))
        {
            writer.Append(table, 10, 20);
            Assert.That(() => writer.Append(table, 5, 6), Throws.ArgumentException.With.Message.Contains("row 5 after row 19"));
        }

        Assert.That(File.Exists(path), Is.False, "a writer disposed without Commit leaves no file");
    }

    [Test]
    public void EmptyTable_IsAFileWithTheColumnsAndNoRows()
    {
        var users = IdMap.FromIds([5, 6]);
        var items = IdMap.FromIds([1]);
        var path = Path.Combine(TestPaths.NewTempDir(), "empty.parquet");
        using (var writer = RecommendationTable.Writer(path, users, items))
        {
            writer.Append(new RecommendationTable(new ScoredListsBuilder(2, null, 3)), 0, 2);
            writer.Commit();
        }

        var back = RecommendationTable.Load(path, users, items);
        Assert.That(back.ItemsOf(0).Length + back.ItemsOf(1).Length, Is.Zero);
    }

    /// <summary>Rows with lists of 0..k items (some users have none), raw ids far from the dense indexes.</summary>
    private static (RecommendationTable Table, IdMap Users, IdMap Items) RandomTable(int seed, int k)
    {
        var rng = new Random(seed);
        var users = IdMap.FromIds(Enumerable.Range(0, Rows).Select(u => 1_000_000L + (3L * u)));
        var items = IdMap.FromIds(Enumerable.Range(0, 50).Select(i => 7_000L + i));
        var builder = new ScoredListsBuilder(Rows, null, k);
        for (var u = 0; u < Rows; u++)
        {
            var n = rng.Next(4) == 0 ? 0 : rng.Next(1, k + 1);
            builder.Set(u, Enumerable.Range(0, n).Select(r => new ScoredItem(rng.Next(50), 1f - (r * 0.1f))).ToArray());
        }

        return (new RecommendationTable(builder), users, items);
    }

    /// <summary>A table holding only <paramref name="rows"/>' lists, as one block of the train's is.</summary>
    private static RecommendationTable BlockOf(RecommendationTable table, int[] rows, int k)
    {
        var builder = new ScoredListsBuilder(table.Rows, rows, k);
        for (var s = 0; s < rows.Length; s++)
        {
            builder.Set(s, table, rows[s]);
        }

        return new RecommendationTable(builder);
    }
}
