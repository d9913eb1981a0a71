using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Recommender.Numerics;

/// <summary>
/// Software prefetch for loops that read rows of large arrays at random (a candidate's factor
/// vectors among 1M tracks): asking for the row a few iterations ahead overlaps its cache misses
/// with the current row's arithmetic. A hint only: it changes no result, and does nothing where
/// the CPU has no prefetch instruction.
/// </summary>
public static unsafe class Prefetch
{
    private const int CacheLine = 64;

    /// <summary>Asks for every cache line of <paramref name="data"/> to be brought toward L1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines<T>(ReadOnlySpan<T> data)
        where T : unmanaged
    {
        if (!Sse.IsSupported || data.IsEmpty)
        {
            return;
        }

        // Pinned only while the addresses are taken: a prefetch of an address the GC has since
        // moved away from is a wasted hint, never a wrong read.
        fixed (T* start = data)
        {
            var bytes = (byte*)start;
            var length = data.Length * sizeof(T);
            for (var offset = 0; offset < length; offset += CacheLine)
            {
                Sse.Prefetch0(bytes + offset);
            }
        }
    }
}
