using System.Numerics.Tensors;

namespace Recommender.Numerics;

/// <summary>
/// Inverse of a dense symmetric positive definite matrix (row-major) through its Cholesky factor:
/// A = L·Lᵀ, M = L⁻¹, A⁻¹ = Mᵀ·M. Every inner loop runs over a contiguous row prefix with
/// TensorPrimitives, so it vectorises; rows are processed in blocks so that each earlier row is
/// read from memory once per block, not once per row (at a few thousand tracks the triangle is
/// larger than the caches). EASE's items × items solve is the caller.
/// </summary>
public static class SymmetricInverse
{
    private const int Block = 64;
    private const int ChunkRows = 16;

    /// <summary>Returns A⁻¹; <paramref name="a"/> is overwritten.</summary>
    /// <exception cref="ArgumentException">the matrix is not positive definite.</exception>
    public static double[] Invert(double[] a, int n, CancellationToken cancellation = default)
    {
        if ((long)n * n != a.Length || (long)n * n > Array.MaxLength)
        {
            throw new ArgumentException($"expected {n} × {n} values, got {a.Length}", nameof(a));
        }

        Cholesky(a, n, cancellation);
        var m = LowerInverse(a, n, cancellation);

        // A⁻¹ = Mᵀ·M = Σ_k (row k of M)ᵀ(row k of M); rows of M are zero past the diagonal. Row i
        // of the lower triangle sums M[k, i]·M[k, ..i] over k ≥ i; then mirrored.
        Array.Clear(a);
        var inverse = a;
        Parallel.For(0, (n + Block - 1) / Block, Cores.Options(cancellation), b =>
        {
            var first = b * Block;
            var end = Math.Min(n, first + Block);
            for (var k = first; k < n; k++)
            {
                var mk = Row(m, n, k);
                for (var i = first; i < Math.Min(end, k + 1); i++)
                {
                    var target = Row(inverse, n, i)[..(i + 1)];
                    TensorPrimitives.MultiplyAdd(mk[..(i + 1)], mk[i], target, target);
                }
            }
        });
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < i; j++)
            {
                inverse[((long)j * n) + i] = inverse[((long)i * n) + j];
            }
        }

        return inverse;
    }

    /// <summary>In-place lower Cholesky factor (left-looking, blocked by rows); the strict upper triangle is left as it was.</summary>
    private static void Cholesky(double[] a, int n, CancellationToken cancellation)
    {
        for (var first = 0; first < n; first += Block)
        {
            cancellation.ThrowIfCancellationRequested();
            var end = Math.Min(n, first + Block);

            // Columns before the block: block rows are independent; each chunk of rows reads row j
            // once for all its rows.
            Parallel.For(0, Chunks(first, end), Cores.Options(), c =>
            {
                var (from, to) = Chunk(first, end, c);
                for (var j = 0; j < first; j++)
                {
                    var lj = Row(a, n, j)[..j];
                    var pivot = a[((long)j * n) + j];
                    for (var i = from; i < to; i++)
                    {
                        var li = Row(a, n, i);
                        li[j] = (li[j] - TensorPrimitives.Dot(li[..j], lj)) / pivot;
                    }
                }
            });

            // Inside the block: in order, each row needs the ones above it.
            for (var i = first; i < end; i++)
            {
                var li = Row(a, n, i);
                for (var j = first; j <= i; j++)
                {
                    var s = li[j] - TensorPrimitives.Dot(li[..j], Row(a, n, j)[..j]);
                    if (j < i)
                    {
                        li[j] = s / a[((long)j * n) + j];
                    }
                    else if (s > 0)
                    {
                        li[i] = Math.Sqrt(s);
                    }
                    else
                    {
                        throw new ArgumentException($"the matrix is not positive definite (pivot {i} is {s})", nameof(a));
                    }
                }
            }
        }
    }

    /// <summary>M = L⁻¹ for the lower factor in <paramref name="l"/>: row i of M = (e_i − Σ_{k&lt;i} L[i,k]·row k of M) / L[i,i].</summary>
    private static double[] LowerInverse(double[] l, int n, CancellationToken cancellation)
    {
        var m = new double[l.Length];
        for (var first = 0; first < n; first += Block)
        {
            cancellation.ThrowIfCancellationRequested();
            var end = Math.Min(n, first + Block);
            Parallel.For(0, Chunks(first, end), Cores.Options(), c =>
            {
                var (from, to) = Chunk(first, end, c);
                for (var k = 0; k < first; k++)
                {
                    var mk = Row(m, n, k)[..(k + 1)];
                    for (var i = from; i < to; i++)
                    {
                        var mi = Row(m, n, i)[..(k + 1)];
                        TensorPrimitives.MultiplyAdd(mk, -l[((long)i * n) + k], mi, mi);
                    }
                }
            });
            for (var i = first; i < end; i++)
            {
                var mi = Row(m, n, i)[..(i + 1)];
                var li = Row(l, n, i);
                for (var k = first; k < i; k++)
                {
                    TensorPrimitives.MultiplyAdd(Row(m, n, k)[..(k + 1)], -li[k], mi[..(k + 1)], mi[..(k + 1)]);
                }

                mi[i] += 1;
                TensorPrimitives.Divide(mi, li[i], mi);
            }
        }

        return m;
    }

    private static int Chunks(int first, int end) => (end - first + ChunkRows - 1) / ChunkRows;

    private static (int From, int To) Chunk(int first, int end, int c) => (first + (c * ChunkRows), Math.Min(end, first + ((c + 1) * ChunkRows)));

    private static Span<double> Row(double[] a, int n, int i) => a.AsSpan((int)((long)i * n), n);
}
