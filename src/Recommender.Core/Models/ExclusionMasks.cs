using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// Catalog-sized masks that mark a user's history for O(1) exclusion, pooled by the model (or
/// snapshot) that owns them; <see cref="Return"/> clears exactly what <see cref="Rent"/> set.
/// </summary>
public sealed class ExclusionMasks(int items)
{
    private readonly ScratchPool<bool> _pool = new(items);

    public int Items => items;

    public bool[] Rent(ReadOnlySpan<int> history)
    {
        var mask = _pool.Rent();
        Mark(mask, history, true);
        return mask;
    }

    /// <summary>Clears <paramref name="history"/> (and anything else the caller cleared) and gives the mask back.</summary>
    public void Return(bool[] mask, ReadOnlySpan<int> history)
    {
        Mark(mask, history, false);
        _pool.Return(mask);
    }

    public static void Mark(bool[] mask, ReadOnlySpan<int> items, bool value)
    {
        foreach (var i in items)
        {
            if ((uint)i < (uint)mask.Length)
            {
                mask[i] = value;
            }
        }
    }
}
