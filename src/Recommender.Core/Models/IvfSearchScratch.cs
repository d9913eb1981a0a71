using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Caller-owned working memory for <see cref="IvfIndex.SearchMany"/>: one per thread, reused
/// across batches so a batch allocates nothing.
/// </summary>
public sealed class IvfSearchScratch
{
    internal float[] ListScores { get; private set; } = [];
    internal int[] ListCounts { get; private set; } = [];
    internal int[] Next { get; private set; } = [];
    internal int[] Probed { get; private set; } = [];
    internal int[] Members { get; private set; } = [];
    internal ulong[] Filters { get; private set; } = [];
    internal TopK ListTop { get; private set; } = new(0);

    internal void Reserve(int lists, int batch, int probes, int filterWords)
    {
        if (Filters.Length < batch * filterWords)
        {
            Filters = new ulong[batch * filterWords];
        }

        if (ListScores.Length < lists)
        {
            ListScores = new float[lists];
            ListCounts = new int[lists + 1];
            Next = new int[lists];
        }

        if (Probed.Length < batch * probes)
        {
            Probed = new int[batch * probes];
            Members = new int[batch * probes];
        }

        if (ListTop.Capacity != probes)
        {
            ListTop = new TopK(probes);
        }
    }
}
