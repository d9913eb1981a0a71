namespace Recommender.Numerics;

/// <summary>Layout helpers shared by every CSR structure (event log, interaction matrix, ranked lists, IVF lists).</summary>
public static class Csr
{
    /// <summary>
    /// Turns per-row counts stored at offsets[r + 1] (offsets[0] = 0) into row starts in place:
    /// afterwards row r spans offsets[r]..offsets[r + 1].
    /// </summary>
    public static void CountsToOffsets(Span<int> offsets)
    {
        for (var r = 1; r < offsets.Length; r++)
        {
            offsets[r] = checked(offsets[r] + offsets[r - 1]);
        }
    }
}
