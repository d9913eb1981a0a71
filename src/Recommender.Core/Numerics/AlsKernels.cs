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
                var row = cols[k];
                if ((uint)row >= (uint)rows)
                {
                    throw new ArgumentOutOfRangeException(nameof(cols), row, "row outside the factor matrix");
                }

                if (Sse.IsSupported && k + PrefetchDistance < cols.Length)
                {
                    var ahead = py + ((long)cols[k + PrefetchDistance] * f);
                    for (var line = 0; line < f; line += 16)
                    {
                        Sse.Prefetch0(ahead + line);
                    }
                }

                var yk = py + ((long)row * f);
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
