using Microsoft.Extensions.Logging.Abstractions;
using ParquetSharp;
using Recommender.Data;
using Recommender.Pipeline;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

/// <summary>The snapshot contract (SnapshotLayout, Tables, SnapshotManifest) checked against a trained snapshot.</summary>
public partial class TrainPipelineTests
{
    [Test]
    public void Snapshot_HoldsExactlyTheLayoutsFiles_EachParquetWithTheLayoutsColumnsInOrder()
    {
        var dir = _syntheticRun.SnapshotDir;
        var written = Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var listed = SnapshotLayout.Files.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.That(written, Is.EqualTo(listed), "every file written is in SnapshotLayout, and every file listed there is written");
        foreach (var spec in SnapshotLayout.Files.Where(f => f.Format == SnapshotFormat.Parquet))
        {
            Assert.That(ParquetColumns(Path.Combine(dir, spec.Name)), Is.EqualTo(spec.Columns!.Select(c => c.Name).ToArray()), spec.Name);
        }
    }

    [Test]
    public void TopPopular_HasTheSeedColumns_AgreeingWithItemsAndWithACountOverTheWindow()
    {
        var dir = _syntheticRun.SnapshotDir;
        var manifest = SnapshotManifest.Read(dir);
        var days = manifest.Parameters!["popular_window_days"]!.GetValue<int>();
        var cutoff = EdaReport.DayOf(manifest.Split!.SplitDay!.Value);

        // The slow obvious count: distinct listeners per track over [cutoff - days, cutoff).
        var events = DataPreparation.Load(_synthetic, NullLogger.Instance).Events;
        var ids = IdMap.Load(Path.Combine(dir, FileNames.ItemIds));
        var expected = new Dictionary<long, int>();
        for (var e = 0; e < events.NumEvents; e++)
        {
            if (events.Days[e] >= cutoff - days && events.Days[e] < cutoff)
            {
                var raw = ids.RawId(events.Items[e]);
                expected[raw] = expected.GetValueOrDefault(raw) + 1;
            }
        }

        var items = ReadRows(Path.Combine(dir, FileNames.Items));
        var byId = Enumerable.Range(0, items.Ids.Length).ToDictionary(r => items.Ids[r]);
        var top = ReadRows(Path.Combine(dir, FileNames.TopPopular));
        Assert.That(top.Ids, Has.Length.GreaterThan(50));
        Assert.That(top.Ids, Is.Unique);
        for (var r = 0; r < top.Ids.Length; r++)
        {
            var id = top.Ids[r];
            Assert.That(top.UsersTop[r], Is.EqualTo(expected[id]), $"users_top of track {id}");
            Assert.That(top.UsersTopNorm[r], Is.EqualTo((double)top.UsersTop[r] / top.UsersTop[0]).Within(1e-12));
            Assert.That(top.Rank[r], Is.EqualTo(r + 1));
            if (r > 0)
            {
                Assert.That(top.UsersTop[r], Is.LessThanOrEqualTo(top.UsersTop[r - 1]), "most listened first");
            }

            var i = byId[id];
            Assert.That(top.NumUsersNorm[r], Is.EqualTo(items.NumUsersNorm[i]), $"num_users_norm of track {id}");
            Assert.That(top.Names[r], Is.EqualTo(items.Names[i]).And.Not.Empty);
            Assert.That(top.Artists[r], Is.EqualTo(items.Artists[i]));
            Assert.That(top.Genres[r], Is.EqualTo(items.Genres[i]));
            Assert.That(top.Albums[r], Is.EqualTo(items.Albums[i]));
        }

        var fewerListeners = expected.Where(kv => !top.Ids.Contains(kv.Key)).Select(kv => kv.Value).DefaultIfEmpty(0).Max();
        Assert.That(fewerListeners, Is.LessThanOrEqualTo(top.UsersTop[^1]), "no track left out has more listeners than the last one kept");
    }

    [Test]
    public void Manifest_RoundTripsThroughItsType_AndABrokenOneNamesTheFile()
    {
        var manifest = SnapshotManifest.Read(_syntheticRun.SnapshotDir);
        Assert.That(manifest.SnapshotId, Is.EqualTo(_syntheticRun.SnapshotId));
        Assert.That(manifest.ServedList, Is.EqualTo(_syntheticRun.Validation.Served));
        Assert.That(manifest.Files.Select(f => f.Name), Is.EquivalentTo(SnapshotLayout.Files.Select(f => f.Name).Where(n => n != FileNames.Manifest)));
        var json = manifest.ToJson();
        Assert.That(SnapshotManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json), "m").ToJson(), Is.EqualTo(json));

        var broken = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(broken, FileNames.Manifest), json.Replace("\"created_utc\"", "\"created\"", StringComparison.Ordinal));
        var error = Assert.Throws<DataException>(() => SnapshotManifest.Read(broken))!;
        Assert.That(error.Message, Does.Contain(FileNames.Manifest).And.Contain("created_utc"));
    }

    /// <summary>Each file of data-spec.md's "Output files" table holds the seed's columns, read from the spec itself.</summary>
    [Test]
    public void SeedNamedFiles_HoldEveryColumnTheDataSpecLists()
    {
        var spec = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data-spec.md"));
        if (!File.Exists(spec))
        {
            Require.Missing(Require.Shared, $"needs the data spec at {spec} (../shared/data-spec.md)");
        }

        var lines = File.ReadAllLines(spec);
        var start = Array.FindIndex(lines, l => l.StartsWith("## Output files", StringComparison.Ordinal));
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "data-spec.md has an 'Output files' section");
        var files = new Dictionary<string, string> { ["item features"] = FileNames.ItemFeatures, ["`user_features`"] = FileNames.UserFeatures };
        var checkedFiles = 0;
        foreach (var row in lines.Skip(start).Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1))
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            var file = files.GetValueOrDefault(cells[1]) ?? cells[1].Trim('`');
            var columns = ParquetColumns(Path.Combine(_syntheticRun.SnapshotDir, file));

            // Backticked names are the seed's columns; "`score`/`rank`" means either; names of files are not columns.
            foreach (var alternatives in System.Text.RegularExpressions.Regex.Matches(cells[2], "`[^`]+`(/`[^`]+`)*").Select(m => m.Value.Split('/').Select(a => a.Trim('`')).ToArray()))
            {
                if (alternatives[0].EndsWith(".parquet", StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.That(alternatives.Any(columns.Contains), $"{file} has column {string.Join(" or ", alternatives)} (data-spec.md: {cells[2]})");
            }

            checkedFiles++;
        }

        Assert.That(checkedFiles, Is.EqualTo(8), "every row of the spec's table was read");
    }

    private static string[] ParquetColumns(string path)
    {
        using var reader = new ParquetFileReader(path);
        var schema = reader.FileMetaData.Schema;
        return [.. Enumerable.Range(0, schema.NumColumns).Select(i => schema.Column(i).Path.ToDotVector()[0])];
    }

    private sealed record Rows(long[] Ids, string[][] Albums, string[][] Artists, string[][] Genres, string[] Names, double[] NumUsersNorm, long[] UsersTop, double[] UsersTopNorm, long[] Rank);

    /// <summary>The descriptive columns items.parquet and top_popular.parquet share, plus top_popular's own where present.</summary>
    private static Rows ReadRows(string path)
    {
        using var input = ParquetInput.Open(path);
        Assert.That(input.RowGroupRows, Has.Length.EqualTo(1), path);
        var n = (int)input.NumRows;
        var ids = new long[n];
        input.ReadIntegers(0, Columns.ItemId, ids);
        var norm = new double[n];
        var usersTop = new long[n];
        var usersTopNorm = new double[n];
        var rank = new long[n];
        using (var reader = new ParquetFileReader(path))
        {
            var names = ParquetColumns(path);
            norm = reader.RowGroup(0).Column(Array.IndexOf(names, Columns.NumUsersNorm)).LogicalReader<double>().ReadAll(n);
            if (names.Contains(Columns.UsersTop))
            {
                input.ReadIntegers(0, Columns.UsersTop, usersTop);
                input.ReadIntegers(0, Columns.Rank, rank);
                usersTopNorm = reader.RowGroup(0).Column(Array.IndexOf(names, Columns.UsersTopNorm)).LogicalReader<double>().ReadAll(n);
            }
        }

        return new Rows(ids, input.ReadStringLists(0, Columns.Albums), input.ReadStringLists(0, Columns.Artists), input.ReadStringLists(0, Columns.Genres),
            [.. input.ReadStrings(0, Columns.Name).Select(s => s ?? "")], norm, usersTop, usersTopNorm, rank);
    }
}
