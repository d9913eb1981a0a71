using System.Runtime.CompilerServices;

namespace Recommender.Numerics;

/// <summary>
/// Sparse accumulation into a dense array: acc[j] += value, listing j the first time it is hit.
/// The item-kNN build and its candidate scoring spend most of their time here, on random
/// indexes into an item-sized array (4 MB at full size) that does not fit in L2. The first hit is
/// counted with a flag instead of a branch on "was it zero?", whose outcome is unpredictable: at
/// full size the item-kNN build went from 66 to 57 s and ranking's candidates from 142 to 98 s
/// (out-s15 → out-s16, which also added prefetching and the memory changes: docs/benchmarks.md).
/// </summary>
public static class ScatterAdd
{
    /// <summary>
    /// Adds <paramref name="value"/> (positive: a hit entry must stay non-zero) to acc[j] and, if
    /// acc[j] was 0, appends j to touched. touched needs one spare entry beyond the number of
    /// distinct indexes: j is written at touched[count] before the count is known to grow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(float[] acc, int[] touched, ref int count, int j, float value)
    {
        ref var slot = ref acc[j];
        touched[count] = j;
        count += Unsafe.BitCast<bool, byte>(slot == 0);
        slot += value;
    }
}
