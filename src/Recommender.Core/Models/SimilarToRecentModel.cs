using Recommender.Diagnostics;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Items similar to the user's latest listens: ALS cosine neighbours plus sequential
/// (played-next-to) neighbours of the last few tracks, newer listens weighing more.
/// </summary>
public sealed class SimilarToRecentModel : IRecommenderModel
{
    /// <summary>How many of the latest listens a recommendation starts from.</summary>
    public const int DefaultRecent = 5;

    private readonly ScratchPool<float> _scores;
    private readonly ExclusionMasks _masks;

    public SimilarToRecentModel(NeighborTable similar, NeighborTable sequential, int recent = DefaultRecent, float sequentialWeight = 1f)
    {
        Similar = similar;
        SequentialNeighbors = sequential;
        Recent = recent;
        SequentialWeight = sequentialWeight;
        _scores = new ScratchPool<float>(similar.NumItems);
        _masks = new ExclusionMasks(similar.NumItems);
    }

    public string Name => "similar";
    public NeighborTable Similar { get; }
    public NeighborTable SequentialNeighbors { get; }
    public int Recent { get; }
    public float SequentialWeight { get; }

    /// <param name="queryItems">
    /// the items whose ALS neighbours are needed, ascending; null for every item. A model fitted for
    /// some users only needs their recent tracks: it recommends to them exactly what the full model would.
    /// </param>
    /// <param name="normalizedFactors">the ALS item factors at unit length, when the caller keeps them for other uses (the ranker's features): one 256 MB copy at full size instead of two.</param>
    public static SimilarToRecentModel Fit(EventLog train, AlsModel als, int neighbors = 20, int[]? queryItems = null, CancellationToken cancellation = default, StageProgress? progress = null, float[]? normalizedFactors = null) =>
        new(NeighborTable.FromFactors(als, neighbors, queryItems: queryItems, cancellation: cancellation, progress: progress, normalized: normalizedFactors), NeighborTable.Sequential(train, neighbors));

    /// <summary>The distinct tracks among the last <paramref name="recent"/> listens of the given users, ascending.</summary>
    public static int[] RecentItems(EventLog train, ReadOnlySpan<int> users, int recent = DefaultRecent)
    {
        var seen = new bool[train.NumItems];
        foreach (var u in users)
        {
            var history = train.ItemsOf(u);
            foreach (var i in history[Math.Max(0, history.Length - recent)..])
            {
                seen[i] = true;
            }
        }

        var items = new List<int>();
        for (var i = 0; i < seen.Length; i++)
        {
            if (seen[i])
            {
                items.Add(i);
            }
        }

        return [.. items];
    }

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var n = Similar.NumItems;
        var scores = _scores.Rent();
        Span<int> touched = stackalloc int[Recent * 2 * 64];
        var touchedCount = 0;
        var recent = history[Math.Max(0, history.Length - Recent)..];
        for (var r = 0; r < recent.Length; r++)
        {
            var item = recent[r];
            if ((uint)item >= (uint)n)
            {
                continue;
            }

            var weight = 1f / (recent.Length - r); // the latest listen weighs 1, the one before 1/2, ...
            touchedCount = Accumulate(Similar, item, weight, scores, touched, touchedCount);
            touchedCount = Accumulate(SequentialNeighbors, item, weight * SequentialWeight, scores, touched, touchedCount, normalize: true);
        }

        var top = new TopK(k);
        var mask = _masks.Rent(history);
        for (var t = 0; t < touchedCount; t++)
        {
            var j = touched[t];
            if (!mask[j])
            {
                top.Add(j, scores[j]);
            }

            scores[j] = 0;
        }

        _masks.Return(mask, history);
        _scores.Return(scores);
        return top.Drain(destination);
    }

    private static int Accumulate(NeighborTable table, int item, float weight, float[] scores, Span<int> touched, int count, bool normalize = false)
    {
        var neighbors = table.NeighborsOf(item);
        var values = table.ScoresOf(item);
        var scale = normalize && values.Length > 0 && values[0] > 0 ? 1f / values[0] : 1f;
        for (var p = 0; p < neighbors.Length && count < touched.Length; p++)
        {
            var j = neighbors[p];
            if (scores[j] == 0)
            {
                touched[count++] = j;
            }

            // Keep touched entries non-zero so they are not listed twice.
            scores[j] += MathF.Max(1e-6f, weight * values[p] * scale);
        }

        return count;
    }

    public void Save(string dir, ArtifactIds ids)
    {
        Similar.Save(Path.Combine(dir, FileNames.Similar), ids.Items);
        SequentialNeighbors.Save(Path.Combine(dir, FileNames.Sequential), ids.Items);
    }

    public static SimilarToRecentModel Load(string dir, ArtifactIds ids) =>
        new(NeighborTable.Load(Path.Combine(dir, FileNames.Similar), ids.Items), NeighborTable.Load(Path.Combine(dir, FileNames.Sequential), ids.Items));
}
