using System.Numerics.Tensors;

namespace Recommender.Numerics;

/// <summary>Small dense kernels over row-major float factor matrices, built on TensorPrimitives.</summary>
public static class DenseKernels
{
    /// <summary>dest = M·v for a row-major square matrix M of size f×f.</summary>
    public static void MatVec(ReadOnlySpan<float> matrix, ReadOnlySpan<float> v, Span<float> dest)
    {
        var f = v.Length;
        for (var j = 0; j < f; j++)
        {
            dest[j] = TensorPrimitives.Dot(matrix.Slice(j * f, f), v);
        }
    }

    /// <summary>
    /// Gram matrix FᵀF of the rows of <paramref name="factors"/> (n×f) plus <paramref name="ridge"/> on
    /// the diagonal. Rows are summed in fixed chunks and the chunks in a fixed order, so the
    /// result does not depend on the thread count.
    /// </summary>
    public static float[] Gram(ReadOnlyMemory<float> factors, int f, float ridge)
    {
        var n = factors.Length / f;
        const int Chunk = 16_384;
        var chunks = (n + Chunk - 1) / Chunk;
        var partial = new double[chunks][];
        Parallel.For(0, chunks, Cores.Options(), c =>
        {
            var acc = new float[f * f];
            var end = Math.Min(n, (c + 1) * Chunk);
            for (var r = c * Chunk; r < end; r++)
            {
                var row = factors.Span.Slice(r * f, f);
                for (var j = 0; j < f; j++)
                {
                    // acc[j,:] += row[j] * row
                    var target = acc.AsSpan(j * f, f);
                    TensorPrimitives.MultiplyAdd(row, row[j], target, target);
                }
            }

            partial[c] = Array.ConvertAll(acc, x => (double)x);
        });
        var sum = new double[f * f];
        foreach (var p in partial)
        {
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += p[i];
            }
        }

        var gram = Array.ConvertAll(sum, x => (float)x);
        for (var j = 0; j < f; j++)
        {
            gram[(j * f) + j] += ridge;
        }

        return gram;
    }

    /// <summary>Scales every row of an n×f matrix to unit length (zero rows stay zero).</summary>
    public static float[] NormalizeRows(ReadOnlyMemory<float> factors, int f)
    {
        var result = new float[factors.Length];
        Parallel.For(0, factors.Length / f, Cores.Options(), r =>
        {
            var row = factors.Span.Slice(r * f, f);
            var norm = TensorPrimitives.Norm(row);
            if (norm > 0)
            {
                TensorPrimitives.Divide(row, norm, result.AsSpan(r * f, f));
            }
        });
        return result;
    }
}
