using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recommender.Numerics;

/// <summary>
/// The ALS row solver's inner loop: for every item k of a row, one dot product with a vector and
/// one scaled add of the item's factors into an accumulator. TensorPrimitives has both halves
/// but not the fused form; fusing keeps yₖ in registers, and prefetching the next rows hides
/// the random gathers from a factor matrix far larger than the caches.
/// </summary>
public static unsafe class AlsKernels
{
    private const int PrefetchDistance = 4;

    /// <summary>
    /// acc += Σₖ coefₖ·yₖ with coefₖ = cₖ − (cₖ−1)(yₖ·v) when <paramref name="residual"/>, else (cₖ−1)(yₖ·v);
    /// cₖ = 1 + α·valsₖ; yₖ is row cols[k] of the row-major factor matrix <paramref name="y"/> (width f).
    /// </summary>
    public static void Accumulate(ReadOnlySpan<float> y, int f, ReadOnlySpan<int> cols, ReadOnlySpan<float> vals, float alpha, ReadOnlySpan<float> v, Span<float> acc, bool residual)
    {
        if ((uint)v.Length < (uint)f || (uint)acc.Length < (uint)f)
        {
            throw new ArgumentException("vector shorter than the factor width");
        }

        fixed (float* py = y)
        fixed (float* pv = v)
        fixed (float* pacc = acc)
        {
            var vector = Vector256.IsHardwareAccelerated && f % 8 == 0;
            var rows = y.Length / f;
            for (var k = 0; k < cols.Length; k++)
            {
                var yk = RowAhead(py, cols, k, rows, f);
                var dot = vector ? DotVector(yk, pv, f) : DotScalar(yk, pv, f);
                var c = 1 + (alpha * vals[k]);
                var coefficient = residual ? c - ((c - 1) * dot) : (c - 1) * dot;
                if (vector)
                {
                    AxpyVector(coefficient, yk, pacc, f);
                }
                else
                {
                    AxpyScalar(coefficient, yk, pacc, f);
                }
            }
        }
    }

    /// <summary>
    /// Row cols[k] of a row-major matrix of <paramref name="rows"/> × f, bounds-checked, after
    /// prefetching the row <see cref="PrefetchDistance"/> entries ahead: every gather loop's step.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static T* RowAhead<T>(T* matrix, ReadOnlySpan<int> cols, int k, int rows, int f)
        where T : unmanaged
    {
        var row = cols[k];
        if ((uint)row >= (uint)rows)
        {
            throw new ArgumentOutOfRangeException(nameof(cols), row, "row outside the factor matrix");
        }

        if (Sse.IsSupported && k + PrefetchDistance < cols.Length)
        {
            var ahead = matrix + ((long)cols[k + PrefetchDistance] * f);
            for (var line = 0; line < f; line += 64 / sizeof(T))
            {
                Sse.Prefetch0(ahead + line);
            }
        }

        return matrix + ((long)row * f);
    }

    /// <summary>
    /// Copies rows cols[k] of the row-major matrix <paramref name="y"/> (width f) into consecutive
    /// rows of <paramref name="destination"/>: the one random gather of a row solve, after which
    /// every CG step reads the rows sequentially from cache.
    /// </summary>
    public static void Gather(ReadOnlySpan<float> y, int f, ReadOnlySpan<int> cols, Span<float> destination)
    {
        if ((long)cols.Length * f > destination.Length)
        {
            throw new ArgumentException("destination shorter than the gathered rows", nameof(destination));
        }

        fixed (float* py = y)
        fixed (float* pd = destination)
        {
            var rows = y.Length / f;
            for (var k = 0; k < cols.Length; k++)
            {
                Buffer.MemoryCopy(RowAhead(py, cols, k, rows, f), pd + ((long)k * f), (long)f * sizeof(float), (long)f * sizeof(float));
            }
        }
    }

    /// <summary>
    /// <see cref="Gather"/> from a bfloat16 copy of the matrix (<see cref="ToBfloat16"/>), widened
    /// back to float32: half the bytes of the random reads, which bound the sweep at full size.
    /// </summary>
    public static void GatherBfloat16(ReadOnlySpan<ushort> y, int f, ReadOnlySpan<int> cols, Span<float> destination)
    {
        if ((long)cols.Length * f > destination.Length)
        {
            throw new ArgumentException("destination shorter than the gathered rows", nameof(destination));
        }

        fixed (ushort* py = y)
        fixed (float* pd = destination)
        {
            var rows = y.Length / f;
            var vector = Vector256.IsHardwareAccelerated && f % 16 == 0;
            for (var k = 0; k < cols.Length; k++)
            {
                var source = RowAhead(py, cols, k, rows, f);
                var target = pd + ((long)k * f);
                if (vector)
                {
                    for (var j = 0; j < f; j += 16)
                    {
                        var (lower, upper) = Vector256.Widen(Vector256.Load(source + j));
                        Vector256.Store(Vector256.ShiftLeft(lower, 16).AsSingle(), target + j);
                        Vector256.Store(Vector256.ShiftLeft(upper, 16).AsSingle(), target + j + 8);
                    }
                }
                else
                {
                    for (var j = 0; j < f; j++)
                    {
                        target[j] = FromBfloat16(source[j]);
                    }
                }
            }
        }
    }

    /// <summary>Rounds every value to bfloat16 (the upper half of its float32 bits, round to nearest even).</summary>
    public static void ToBfloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination shorter than the source", nameof(destination));
        }

        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = ToBfloat16(source[i]);
        }
    }

    public static ushort ToBfloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    public static float FromBfloat16(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    /// <summary>
    /// <see cref="Accumulate"/> over rows already gathered into <paramref name="rows"/>
    /// (<paramref name="vals"/>.Length consecutive rows of width f).
    /// </summary>
    public static void AccumulateGathered(ReadOnlySpan<float> rows, int f, ReadOnlySpan<float> vals, float alpha, ReadOnlySpan<float> v, Span<float> acc, bool residual)
    {
        if ((uint)v.Length < (uint)f || (uint)acc.Length < (uint)f || (long)vals.Length * f > rows.Length)
        {
            throw new ArgumentException("vector shorter than the factor width, or fewer gathered rows than values");
        }

        fixed (float* pr = rows)
        fixed (float* pv = v)
        fixed (float* pacc = acc)
        fixed (float* pvals = vals)
        {
            if (Vector256.IsHardwareAccelerated && f == 64)
            {
                Accumulate64(pr, vals.Length, pvals, alpha, pv, pacc, residual);
                return;
            }

            var vector = Vector256.IsHardwareAccelerated && f % 8 == 0;
            for (var k = 0; k < vals.Length; k++)
            {
                var yk = pr + ((long)k * f);
                var dot = vector ? DotVector(yk, pv, f) : DotScalar(yk, pv, f);
                var c = 1 + (alpha * pvals[k]);
                var coefficient = residual ? c - ((c - 1) * dot) : (c - 1) * dot;
                if (vector)
                {
                    AxpyVector(coefficient, yk, pacc, f);
                }
                else
                {
                    AxpyScalar(coefficient, yk, pacc, f);
                }
            }
        }
    }

    /// <summary>The default width: v and the accumulator stay in registers across all rows.</summary>
    private static void Accumulate64(float* rows, int n, float* vals, float alpha, float* pv, float* pacc, bool residual)
    {
        var v0 = Vector256.Load(pv);
        var v1 = Vector256.Load(pv + 8);
        var v2 = Vector256.Load(pv + 16);
        var v3 = Vector256.Load(pv + 24);
        var v4 = Vector256.Load(pv + 32);
        var v5 = Vector256.Load(pv + 40);
        var v6 = Vector256.Load(pv + 48);
        var v7 = Vector256.Load(pv + 56);
        var a0 = Vector256.Load(pacc);
        var a1 = Vector256.Load(pacc + 8);
        var a2 = Vector256.Load(pacc + 16);
        var a3 = Vector256.Load(pacc + 24);
        var a4 = Vector256.Load(pacc + 32);
        var a5 = Vector256.Load(pacc + 40);
        var a6 = Vector256.Load(pacc + 48);
        var a7 = Vector256.Load(pacc + 56);
        for (var k = 0; k < n; k++)
        {
            var y = rows + ((long)k * 64);
            var s0 = Vector256.Load(y) * v0;
            var s1 = Vector256.Load(y + 8) * v1;
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 16), v2, s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 24), v3, s1);
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 32), v4, s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 40), v5, s1);
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 48), v6, s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 56), v7, s1);
            var dot = Vector256.Sum(s0 + s1);
            var c = 1 + (alpha * vals[k]);
            var coefficient = Vector256.Create(residual ? c - ((c - 1) * dot) : (c - 1) * dot);
            a0 = Vector256.FusedMultiplyAdd(Vector256.Load(y), coefficient, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 8), coefficient, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 16), coefficient, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 24), coefficient, a3);
            a4 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 32), coefficient, a4);
            a5 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 40), coefficient, a5);
            a6 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 48), coefficient, a6);
            a7 = Vector256.FusedMultiplyAdd(Vector256.Load(y + 56), coefficient, a7);
        }

        Vector256.Store(a0, pacc);
        Vector256.Store(a1, pacc + 8);
        Vector256.Store(a2, pacc + 16);
        Vector256.Store(a3, pacc + 24);
        Vector256.Store(a4, pacc + 32);
        Vector256.Store(a5, pacc + 40);
        Vector256.Store(a6, pacc + 48);
        Vector256.Store(a7, pacc + 56);
    }

    /// <summary>
    /// dest = M·v for a symmetric f×f row-major M, as Σᵢ vᵢ·M[i,:]: broadcasts and FMAs into
    /// the output instead of f horizontal dot products.
    /// </summary>
    public static void SymmetricMatVec(ReadOnlySpan<float> matrix, ReadOnlySpan<float> v, Span<float> dest)
    {
        var f = v.Length;
        if (matrix.Length < f * f || dest.Length < f)
        {
            throw new ArgumentException("matrix or destination too small for the vector");
        }

        if (!Vector256.IsHardwareAccelerated || f % 8 != 0)
        {
            DenseKernels.MatVec(matrix, v, dest);
            return;
        }

        fixed (float* pm = matrix)
        fixed (float* pd = dest)
        {
            dest[..f].Clear();
            for (var i = 0; i < f; i++)
            {
                var vi = Vector256.Create(v[i]);
                var row = pm + ((long)i * f);
                for (var j = 0; j < f; j += 8)
                {
                    Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(row + j), vi, Vector256.Load(pd + j)), pd + j);
                }
            }
        }
    }

    /// <summary>The plain loop the kernel must agree with (tests compare the two).</summary>
    public static void AccumulateReference(ReadOnlySpan<float> y, int f, ReadOnlySpan<int> cols, ReadOnlySpan<float> vals, float alpha, ReadOnlySpan<float> v, Span<float> acc, bool residual)
    {
        for (var k = 0; k < cols.Length; k++)
        {
            var yk = y.Slice(cols[k] * f, f);
            var dot = 0f;
            for (var j = 0; j < f; j++)
            {
                dot += yk[j] * v[j];
            }

            var c = 1 + (alpha * vals[k]);
            var coefficient = residual ? c - ((c - 1) * dot) : (c - 1) * dot;
            for (var j = 0; j < f; j++)
            {
                acc[j] += coefficient * yk[j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotVector(float* a, float* b, int f)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        var j = 0;
        for (; j + 16 <= f; j += 16)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + j), Vector256.Load(b + j), s0);
            s1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + j + 8), Vector256.Load(b + j + 8), s1);
        }

        if (j < f)
        {
            s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + j), Vector256.Load(b + j), s0);
        }

        return Vector256.Sum(s0 + s1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AxpyVector(float alpha, float* x, float* acc, int f)
    {
        var a = Vector256.Create(alpha);
        for (var j = 0; j < f; j += 8)
        {
            Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(x + j), a, Vector256.Load(acc + j)), acc + j);
        }
    }

    private static float DotScalar(float* a, float* b, int f)
    {
        var s = 0f;
        for (var j = 0; j < f; j++)
        {
            s += a[j] * b[j];
        }

        return s;
    }

    private static void AxpyScalar(float alpha, float* x, float* acc, int f)
    {
        for (var j = 0; j < f; j++)
        {
            acc[j] += alpha * x[j];
        }
    }
}
