using System.Numerics.Tensors;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Item → its k nearest items, as CSR: item i's neighbours are Items[Offsets[i]..Offsets[i+1]],
/// best first, with their scores. Never lists an item as its own neighbour.
/// </summary>
public sealed class NeighborTable : ScoredLists
{
    public NeighborTable(int[] offsets, int[] items, float[] scores)
        : base(offsets, items, scores)
    {
    }

    public int NumItems => Rows;

    public ReadOnlySpan<int> NeighborsOf(int item) => ItemsOf(item);

    /// <summary>Cosine neighbours from ALS item factors, through the IVF index on normalised vectors.</summary>
    public static NeighborTable FromFactors(AlsModel model, int k, int lists = 0, int probes = 24)
    {
        var f = model.Factors;
        var normalized = DenseKernels.NormalizeRows(model.ItemFactors, f);
        lists = lists > 0 ? lists : model.Items <= AlsRecommender.ExactLimit ? 1 : (int)Math.Sqrt(model.Items);
        var index = IvfIndex.Build(normalized, f, lists, model.Parameters.Seed + 1);
        return FromIndex(index, normalized, f, model.Items, k, probes);
    }

    internal static NeighborTable FromIndex(IvfIndex index, float[] normalized, int f, int n, int k, int probes)
    {
        var items = new int[n * k];
        var scores = new float[n * k];
        var counts = new int[n];
        Parallel.For(0, n, () => (Top: new TopK(k + 1), Buffer: new ScoredItem[k + 1], Lists: new float[index.Lists]), (i, _, local) =>
        {
            var query = normalized.AsSpan(i * f, f);
            if (TensorPrimitives.SumOfSquares(query) == 0)
            {
                return local;
            }

            index.Search(query, probes, local.Top, [], local.Lists);
            var got = local.Top.Drain(local.Buffer);
            var c = 0;
            for (var j = 0; j < got && c < k; j++)
            {
                if (local.Buffer[j].Item != i)
                {
                    items[(i * k) + c] = local.Buffer[j].Item;
                    scores[(i * k) + c] = local.Buffer[j].Score;
                    c++;
                }
            }

            counts[i] = c;
            return local;
        }, _ => { });
        return Compact(n, k, counts, items, scores);
    }

    /// <summary>
    /// Sequential neighbours: tracks played right before or after each other in a user's history
    /// (adjacent track_seq), scored by count / √(listeners(i)·listeners(j)).
    /// </summary>
    public static NeighborTable Sequential(EventLog events, int k)
    {
        var n = events.NumItems;
        var offsets = new int[n + 1];
        for (var u = 0; u < events.NumUsers; u++)
        {
            for (var e = events.UserOffsets[u] + 1; e < events.UserOffsets[u + 1]; e++)
            {
                offsets[events.Items[e - 1] + 1]++;
                offsets[events.Items[e] + 1]++;
            }
        }

        for (var i = 0; i < n; i++)
        {
            offsets[i + 1] += offsets[i];
        }

        var next = offsets[..^1].ToArray();
        var adjacent = new int[offsets[n]];
        for (var u = 0; u < events.NumUsers; u++)
        {
            for (var e = events.UserOffsets[u] + 1; e < events.UserOffsets[u + 1]; e++)
            {
                int a = events.Items[e - 1], b = events.Items[e];
                adjacent[next[a]++] = b;
                adjacent[next[b]++] = a;
            }
        }

        var listeners = events.ItemUserCounts();
        var items = new int[n * k];
        var scores = new float[n * k];
        var counts = new int[n];
        Parallel.For(0, n, () => new TopK(k), (i, _, top) =>
        {
            var list = adjacent.AsSpan(offsets[i], offsets[i + 1] - offsets[i]);
            list.Sort();
            for (var s = 0; s < list.Length;)
            {
                var j = list[s];
                var e = s;
                while (e < list.Length && list[e] == j)
                {
                    e++;
                }

                if (j != i)
                {
                    top.Add(j, (float)((e - s) / Math.Sqrt((double)Math.Max(1, listeners[i]) * Math.Max(1, listeners[j]))));
                }

                s = e;
            }

            var buffer = new ScoredItem[top.Count];
            var got = top.Drain(buffer);
            for (var c = 0; c < got; c++)
            {
                items[(i * k) + c] = buffer[c].Item;
                scores[(i * k) + c] = buffer[c].Score;
            }

            counts[i] = got;
            return top;
        }, _ => { });
        return Compact(n, k, counts, items, scores);
    }

    private static NeighborTable Compact(int n, int k, int[] counts, int[] items, float[] scores)
    {
        var offsets = new int[n + 1];
        for (var i = 0; i < n; i++)
        {
            offsets[i + 1] = offsets[i] + counts[i];
        }

        var outItems = new int[offsets[n]];
        var outScores = new float[offsets[n]];
        for (var i = 0; i < n; i++)
        {
            Array.Copy(items, i * k, outItems, offsets[i], counts[i]);
            Array.Copy(scores, i * k, outScores, offsets[i], counts[i]);
        }

        return new NeighborTable(offsets, outItems, outScores);
    }

    /// <summary>Writes (item_id, similar_item_id, score, rank) with raw ids.</summary>
    public void Save(string path, IdMap ids) => Save(path, ids, ids, Columns.ItemId, Columns.SimilarItemId);

    public static NeighborTable Load(string path, IdMap ids)
    {
        var (offsets, items, scores) = Read(path, ids, ids, Columns.ItemId, Columns.SimilarItemId);
        return new NeighborTable(offsets, items, scores);
    }
}
