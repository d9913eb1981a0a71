using System.Numerics.Tensors;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Maximum-inner-product search over item vectors. Small catalogs are scanned exactly; large ones
/// go through an inverted-file index: every vector gets one extra coordinate √(M²−‖y‖²) so all
/// have norm M and inner product search becomes cosine search (Bachrach et al. 2014), items are
/// grouped by spherical k-means, and a query scans only the lists of its best centroids.
/// </summary>
public sealed partial class IvfIndex
{
    private readonly int _dim;
    private readonly ReadOnlyMemory<float> _vectors;   // n × dim, in list order
    private readonly int[] _ids;          // list position -> item
    private readonly int[] _listOffsets;  // nlist + 1
    private readonly float[] _centroids;  // nlist × (dim + 1), unit length
    private readonly float[] _centroidRows; // nlist × dim: the centroids without the extra coordinate, for the row kernel

    private IvfIndex(int dim, ReadOnlyMemory<float> vectors, int[] ids, int[] listOffsets, float[] centroids)
    {
        _dim = dim;
        _vectors = vectors;
        _ids = ids;
        _listOffsets = listOffsets;
        _centroids = centroids;
        var lists = listOffsets.Length - 1;
        _centroidRows = new float[lists == 1 ? 0 : lists * dim];
        for (var c = 0; c < lists && lists > 1; c++)
        {
            centroids.AsSpan(c * (dim + 1), dim).CopyTo(_centroidRows.AsSpan(c * dim, dim));
        }
    }

    public int Lists => _listOffsets.Length - 1;

    /// <summary>
    /// Smallest, median and largest list, and Σ size² / items: the mean size of the list an item
    /// sits in, which is what a probe scans when queries fall where the items are.
    /// </summary>
    public (int Min, int Median, int Max, double ItemWeightedMean) ListSizes()
    {
        var sizes = Enumerable.Range(0, Lists).Select(l => _listOffsets[l + 1] - _listOffsets[l]).Order().ToArray();
        return (sizes[0], sizes[sizes.Length / 2], sizes[^1], sizes.Sum(x => (double)x * x) / Math.Max(1, Count));
    }
    public int Count => _ids.Length;
    public bool IsExact => Lists == 1;

    /// <summary>
    /// Writes the list layout (item order, list offsets, centroids), not the vectors: they are the
    /// model's item factors, saved with the model, and <see cref="Load"/> reorders them again.
    /// </summary>
    public void Save(string path) =>
        Data.BinaryArtifact.Write(path, Format, [_dim, Count, Lists], w =>
        {
            w.Array<int>(_ids);
            w.Array<int>(_listOffsets);
            w.Array<float>(_centroids);
        });

    /// <summary>als_index.bin: header dim, items, lists; then item ids in list order, list offsets, centroids (with their norms).</summary>
    public static Data.BinaryFormat Format { get; } = new("an IVF index", 0x46564931, 2, 3); // "1IVF"

    /// <summary>Rebuilds a saved index over <paramref name="vectors"/> (n × dim, item order) without k-means.</summary>
    /// <param name="memory">where the vectors in list order go (a single list reads <paramref name="vectors"/> in place).</param>
    public static IvfIndex Load(string path, ReadOnlyMemory<float> vectors, int dim, Data.TableMemory? memory = null)
    {
        using var r = Data.BinaryArtifact.Open(path, Format);
        int savedDim = r.HeaderInt(0, "dimension"), n = r.HeaderInt(1, "items"), lists = r.HeaderInt(2, "lists");
        if (savedDim != dim || n != vectors.Length / dim || lists < 1 || lists > Math.Max(1, n))
        {
            throw new Data.DataException(path, null, $"index of {n} vectors × {savedDim} in {lists} lists does not fit the model's {vectors.Length / dim} items × {dim}");
        }

        var ids = r.Array<int>(n, "item ids");
        var offsets = r.Array<int>(lists + 1L, "list offsets");
        var centroids = r.Array<float>(lists == 1 ? 0 : lists * (dim + 1L), "centroids");
        r.End();
        var seen = new bool[n];
        for (var c = 0; c < lists; c++)
        {
            if (offsets[c] > offsets[c + 1])
            {
                throw new Data.DataException(path, null, $"list {c} ends before it starts");
            }
        }

        if (offsets[0] != 0 || offsets[lists] != n)
        {
            throw new Data.DataException(path, null, $"lists cover {offsets[0]}..{offsets[lists]}, not 0..{n}");
        }

        foreach (var id in ids)
        {
            if ((uint)id >= (uint)n || seen[id])
            {
                throw new Data.DataException(path, null, $"item {id} is out of range or listed twice");
            }

            seen[id] = true;
        }

        if (lists == 1)
        {
            return new IvfIndex(dim, vectors, ids, offsets, []);
        }

        var ordered = (memory ?? Data.TableMemory.Managed).Allocate<float>(n * dim);
        Parallel.For(0, n, Cores.Options(), p => vectors.Span.Slice(ids[p] * dim, dim).CopyTo(ordered.Span.Slice(p * dim, dim)));
        return new IvfIndex(dim, ordered, ids, offsets, centroids);
    }
}
