using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Snapshots;

namespace Recommender.Serving;

/// <summary>
/// Everything a request needs, loaded once from a snapshot folder and never changed afterwards:
/// id maps, track metadata, offline recommendations, neighbour tables, popular tracks, ALS
/// factors for online fold-in and every user's history. Swapped as a whole.
/// </summary>
/// <remarks>
/// Loaded for serving (<see cref="Load(string, bool)"/> with <c>tablesOutsideGcHeap</c>), its large
/// tables live in <see cref="NativeTableMemory"/>, unmapped when the last reader lets go: the
/// snapshot starts with one reference (its holder's), every request adds one for its duration
/// (<see cref="TryRetain"/>, <see cref="Release"/>), and once replaced and released by its holder
/// the count reaches zero after the last request on it. A reader without a reference may read
/// the snapshot's ids, names and figures, never its tables.
/// </remarks>
public sealed class ServingSnapshot
{
    private readonly float[] _gram;
    private readonly NativeTableMemory? _tables;
    private int _references = 1;

    private ServingSnapshot(string id, string dir, IdMap users, IdMap items, TrackTable tracks, RecommendationTable recommendations,
        NeighborTable similar, NeighborTable sequential, PopularModel popular, AlsRecommender als, ReadOnlyMemory<int> historyOffsets, ReadOnlyMemory<int> historyItems, string metricsJson, DateTime createdUtc, NativeTableMemory? tables)
    {
        _tables = tables;
        TableBytes = tables?.Bytes ?? 0;
        Id = id;
        Directory = dir;
        Users = users;
        Items = items;
        Tracks = tracks;
        Recommendations = recommendations;
        Similar = similar;
        Sequential = sequential;
        Popular = popular;
        Als = als.Model;
        AlsSearch = als;
        HistoryOffsets = historyOffsets;
        HistoryItems = historyItems;
        MetricsJson = metricsJson;
        CreatedUtc = createdUtc;
        _gram = DenseKernels.Gram(Als.ItemFactors, Als.Factors, Als.Parameters.Regularization);
        SimilarToRecent = new SimilarToRecentModel(similar, sequential);
        Sources = new BlendSources(recommendations, SimilarToRecent, als, _gram, popular, items.Count);
        _inspector = new Lazy<SnapshotInspector>(() => SnapshotInspector.Load(this), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private readonly Lazy<SnapshotInspector> _inspector;

    /// <summary>What the console reads beyond the serving tables, loaded on first use (a load failure is kept and thrown to every caller).</summary>
    public SnapshotInspector Inspector => _inspector.Value;

    /// <summary>Whether <see cref="Inspector"/> has been loaded (or has failed to load).</summary>
    public bool InspectorLoaded => _inspector.IsValueCreated;

    /// <summary>What <see cref="Blender"/> reads from this snapshot.</summary>
    public BlendSources Sources { get; }

    public string Id { get; }
    public string Directory { get; }
    public IdMap Users { get; }
    public IdMap Items { get; }
    public TrackTable Tracks { get; }
    public RecommendationTable Recommendations { get; }
    public NeighborTable Similar { get; }
    public NeighborTable Sequential { get; }
    public PopularModel Popular { get; }
    public AlsModel Als { get; }
    public SimilarToRecentModel SimilarToRecent { get; }

    /// <summary>Top-k search over the item factors, for folded-in users.</summary>
    public AlsRecommender AlsSearch { get; }
    public ReadOnlyMemory<int> HistoryOffsets { get; }
    public ReadOnlyMemory<int> HistoryItems { get; }
    public string MetricsJson { get; }
    public DateTime CreatedUtc { get; }

    /// <summary>Which list recommendations.parquet holds (the validation winner), from the manifest.</summary>
    public string ServedList { get; private init; } = "";

    /// <summary>The served list's NDCG@10 on validation, from the manifest; null when the manifest has no figure for it.</summary>
    public double? ValidationServedNdcgAt10 { get; private init; }

    /// <summary>The served list's warm NDCG@10 on the test period, from the manifest; null without a test period.</summary>
    public double? TestServedNdcgAt10 { get; private init; }

    /// <summary>The blend the train's replay evaluation measured best, from the manifest; null when it had no test period.</summary>
    public BlendChoice? MeasuredBlend { get; private init; }

    public ReadOnlySpan<int> HistoryOf(int user)
    {
        if ((uint)user >= (uint)(HistoryOffsets.Length - 1))
        {
            return [];
        }

        var offsets = HistoryOffsets.Span;
        return HistoryItems.Span[offsets[user]..offsets[user + 1]];
    }

    /// <summary>Bytes of the tables loaded outside the GC heap (0 for a snapshot loaded with ordinary arrays).</summary>
    public long TableBytes { get; }

    /// <summary>True once the last reference is gone: the tables are unmapped.</summary>
    public bool Released => Volatile.Read(ref _references) == 0;

    /// <summary>Adds a reader; false when the snapshot has already been released (read the holder's current one again).</summary>
    public bool TryRetain()
    {
        var seen = Volatile.Read(ref _references);
        while (seen > 0)
        {
            var before = Interlocked.CompareExchange(ref _references, seen + 1, seen);
            if (before == seen)
            {
                return true;
            }

            seen = before;
        }

        return false;
    }

    /// <summary>Drops one reference; the last one unmaps the tables.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            _tables?.Dispose();
        }
        else if (left < 0)
        {
            throw new InvalidOperationException($"snapshot {Id} released more often than retained");
        }
    }

    /// <summary>The ALS user vector for listens the model never saw (one small least-squares solve).</summary>
    public float[] FoldIn(ReadOnlySpan<int> items) => Als.FoldIn(items, _gram);

    /// <summary>
    /// Tracks like <paramref name="item"/> (a dense index), best first: its ALS cosine neighbours,
    /// then, when those are fewer than <paramref name="destination"/> holds, the tracks most often
    /// played after it that are not among them.
    /// </summary>
    public int SimilarTracks(int item, Span<ScoredItem> destination)
    {
        var n = 0;
        var neighbors = Similar.NeighborsOf(item);
        var scores = Similar.ScoresOf(item);
        for (var r = 0; r < neighbors.Length && n < destination.Length; r++)
        {
            destination[n++] = new ScoredItem(neighbors[r], scores[r]);
        }

        var next = Sequential.NeighborsOf(item);
        var nextScores = Sequential.ScoresOf(item);
        for (var r = 0; r < next.Length && n < destination.Length; r++)
        {
            if (!neighbors.Contains(next[r]))
            {
                destination[n++] = new ScoredItem(next[r], nextScores[r]);
            }
        }

        return n;
    }

    /// <summary>
    /// Verifies every file against the manifest's checksums, then loads. Any damage is a
    /// <see cref="DataException"/> naming the file; nothing else escapes for a bad file.
    /// </summary>
    /// <param name="tablesOutsideGcHeap">
    /// the large tables (histories, lists, neighbours, factors) in memory mapped for this snapshot,
    /// given back the moment its last reader releases it (<see cref="Release"/>); the service loads
    /// so. Without it they are ordinary arrays, and <see cref="Release"/> only counts.
    /// </param>
    public static ServingSnapshot Load(string dir, bool tablesOutsideGcHeap = false)
    {
        var tables = tablesOutsideGcHeap ? new NativeTableMemory() : null;
        try
        {
            return Load(dir, tables);
        }
        catch
        {
            tables?.Dispose(); // a snapshot that fails to load leaves nothing mapped
            throw;
        }
    }

    private static ServingSnapshot Load(string dir, NativeTableMemory? tables)
    {
        TableMemory memory = tables ?? TableMemory.Managed;
        dir = Path.GetFullPath(dir);
        var manifest = SnapshotIntegrity.Verify(dir);
        var users = Guard(Path.Combine(dir, FileNames.UserIds), IdMap.Load);
        var items = Guard(Path.Combine(dir, FileNames.ItemIds), IdMap.Load);
        // The tables are independent files: read them side by side.
        var tracks = TrackTable.Empty;
        RecommendationTable recommendations = null!;
        NeighborTable similar = null!, sequential = null!;
        PopularModel popular = null!;
        AlsRecommender als = null!;
        ReadOnlyMemory<int> offsets = default, history = default;
        try
        {
            Parallel.Invoke(
                () => recommendations = Guard(Path.Combine(dir, FileNames.Recommendations), p => RecommendationTable.Load(p, users, items, memory)),
                () => tracks = Guard(Path.Combine(dir, FileNames.Items), p => LoadTracks(p, items)),
                () => similar = Guard(Path.Combine(dir, FileNames.Similar), p => NeighborTable.Load(p, items, memory)),
                () => sequential = Guard(Path.Combine(dir, FileNames.Sequential), p => NeighborTable.Load(p, items, memory)),
                () => popular = Guard(Path.Combine(dir, FileNames.TopPopular), _ => PopularModel.Load(dir, new ArtifactIds(users, items))),
                () => als = Guard(Path.Combine(dir, FileNames.AlsModel), _ => AlsRecommender.Load(dir, memory)),
                () => (offsets, history) = Guard(Path.Combine(dir, UserHistory.FileName), p => UserHistory.Load(p, memory)));
        }
        catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault(x => x is DataException) is DataException first)
        {
            throw first;
        }

        if (als.Model.Items != items.Count || offsets.Length != users.Count + 1)
        {
            throw new DataException(dir, null, $"snapshot is inconsistent: {items.Count} items in the id map, {als.Model.Items} in the ALS model; {users.Count} users, {offsets.Length - 1} histories");
        }

        var metrics = Path.Combine(dir, FileNames.Metrics);
        var blend = manifest.Blend is { } m ? new BlendChoice(ParseBlend(manifest, m.Warm), ParseBlend(manifest, m.Cold)) : (BlendChoice?)null;
        return new ServingSnapshot(Path.GetFileName(dir), dir, users, items, tracks, recommendations, similar, sequential, popular, als, offsets, history,
            File.Exists(metrics) ? File.ReadAllText(metrics) : "{}", manifest.CreatedUtc, tables)
        {
            ServedList = manifest.ServedList,
            MeasuredBlend = blend,
            ValidationServedNdcgAt10 = manifest.ValidationNdcgAt10.TryGetValue(manifest.ServedList, out var v) ? v : null,
            TestServedNdcgAt10 = manifest.TestServedNdcgAt10,
        };
    }

    private static BlendStrategy ParseBlend(SnapshotManifest manifest, string name) =>
        Enum.TryParse<BlendStrategy>(name, out var strategy) && Enum.IsDefined(strategy)
            ? strategy
            : throw new DataException(FileNames.Manifest, "blend", $"unknown blend strategy '{name}' in snapshot {manifest.SnapshotId}");

    /// <summary>Reads one file; a failure to read it becomes a <see cref="DataException"/> that names it.</summary>
    private static T Guard<T>(string path, Func<string, T> load)
    {
        try
        {
            return load(path);
        }
        catch (Exception e) when (e is not DataException and not OutOfMemoryException)
        {
            throw new DataException(path, null, $"cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Rows read and handed to the track table at a time: their strings die young (<see cref="ParquetInput.Batches{T}"/>).</summary>
    private const int TrackBatch = 1024;

    private static TrackTable LoadTracks(string path, IdMap items)
    {
        var tracks = new TrackTable.Builder();
        using var input = ParquetInput.Open(path);
        using var scratch = new NativeTableMemory();
        var at = 0;
        var names = new string?[TrackBatch];
        var artists = new string?[]?[TrackBatch];
        var genres = new string?[]?[TrackBatch];
        var artistRow = new List<string>();
        var genreRow = new List<string>();
        for (var g = 0; g < input.RowGroupRows.Length; g++)
        {
            // By name (Tables.Items), so a reordered or widened items.parquet still loads.
            var rows = (int)input.RowGroupRows[g];
            var ids = scratch.Allocate<long>(rows).Span;
            input.ReadIntegers(g, Columns.ItemId, ids);
            using var nameColumn = input.StringBatches(g, Columns.Name);
            using var artistColumn = input.StringListBatches(g, Columns.Artists);
            using var genreColumn = input.StringListBatches(g, Columns.Genres);
            for (var done = 0; done < rows;)
            {
                var n = Math.Min(TrackBatch, rows - done);
                if (nameColumn.Read(names.AsSpan(0, n)) != n
                    || artistColumn.Read(artists.AsSpan(0, n)) != n || genreColumn.Read(genres.AsSpan(0, n)) != n)
                {
                    throw new DataException(path, null, $"row group {g} ends before its {rows} rows");
                }

                for (var r = 0; r < n; r++)
                {
                    var row = at + done + r;
                    if (items.IndexOf(ids[done + r]) != row)
                    {
                        throw new DataException(path, Columns.ItemId, $"row {row} holds track {ids[done + r]}, the id map expects {items.RawId(row)}");
                    }

                    tracks.Add(names[r] ?? string.Empty, Row(artists[r], artistRow), Row(genres[r], genreRow));
                }

                done += n;
            }

            at += rows;
        }

        if (at != items.Count)
        {
            throw new DataException(path, Columns.ItemId, $"{at} tracks; the id map lists {items.Count}");
        }

        return tracks.Build();
    }

    /// <summary>A list cell as the track table takes it: a null list is empty, a null name is "".</summary>
    private static ReadOnlySpan<string> Row(string?[]? cell, List<string> row)
    {
        row.Clear();
        foreach (var name in cell ?? [])
        {
            row.Add(name ?? string.Empty);
        }

        return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(row);
    }
}
