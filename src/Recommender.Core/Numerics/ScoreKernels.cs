using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recommender.Numerics;

/// <summary>
/// Scores a block of consecutive rows against one query: the inner loop of IVF list scans.
/// TensorPrimitives.Dot per row pays a call and a reduction setup for every 64-float row;
/// this scores eight rows per step and reduces their sums together.
/// </summary>
public static unsafe class ScoreKernels
{
    /// <summary>
    /// scores[r] = rows[r·f .. r·f+f) · query for r in [0, scores.Length). A row's score does not
    /// depend on where the block starts (rows left over after the eight-row steps are summed in
    /// the same order), so batched and one-at-a-time scans give bit-identical scores.
    /// </summary>
    public static void DotRows(ReadOnlySpan<float> rows, int f, ReadOnlySpan<float> query, Span<float> scores)
    {
        if (query.Length != f || (long)scores.Length * f > rows.Length)
        {
            throw new ArgumentException($"query has {query.Length} floats for width {f}, or {rows.Length} floats hold fewer than {scores.Length} rows");
        }

        if (!Avx.IsSupported || !Fma.IsSupported || f % 8 != 0)
        {
            for (var r = 0; r < scores.Length; r++)
            {
                scores[r] = TensorPrimitives.Dot(rows.Slice(r * f, f), query);
            }

            return;
        }

        fixed (float* pr = rows)
        fixed (float* pq = query)
        fixed (float* ps = scores)
        {
            var n = scores.Length;
            var r = 0;
            for (; r + 8 <= n; r += 8)
            {
                Avx.Store(ps + r, EightSums(pr + ((long)r * f), pq, f));
            }

            for (; r < n; r++)
            {
                var a = pr + ((long)r * f);
                Vector256<float> s = default;
                for (var j = 0; j < f; j += 8)
                {
                    s = Fma.MultiplyAdd(Avx.LoadVector256(a + j), Avx.LoadVector256(pq + j), s);
                }

                ps[r] = ReduceLikeTree(s);
            }
        }
    }

    /// <summary>
    /// <see cref="DotRows"/>, and in <paramref name="above"/> bit r set when !(scores[r] &lt; threshold)
    /// (a NaN score too): the compare runs on the eight sums while they are still in a register, so a
    /// scan visits only the rows that can enter its heap instead of testing all of them.
    /// </summary>
    /// <param name="above">at least scores.Length / 64 words (rounded up); cleared here.</param>
    public static void DotRowsAbove(ReadOnlySpan<float> rows, int f, ReadOnlySpan<float> query, Span<float> scores, float threshold, Span<ulong> above)
    {
        if (query.Length != f || (long)scores.Length * f > rows.Length || above.Length * 64L < scores.Length)
        {
            throw new ArgumentException($"query has {query.Length} floats for width {f}, {rows.Length} floats hold fewer than {scores.Length} rows, or {above.Length} mask words are too few");
        }

        above[..((scores.Length + 63) / 64)].Clear();
        var r = 0;
        if (Avx.IsSupported && Fma.IsSupported && f % 8 == 0)
        {
            var limit = Vector256.Create(threshold);
            fixed (float* pr = rows)
            fixed (float* pq = query)
            fixed (float* ps = scores)
            {
                for (; r + 8 <= scores.Length; r += 8)
                {
                    var sums = EightSums(pr + ((long)r * f), pq, f); // the same sums as DotRows
                    Avx.Store(ps + r, sums);
                    var bits = (uint)Avx.MoveMask(Avx.CompareNotLessThan(sums, limit)); // not-less-than: true for NaN
                    above[r >> 6] |= (ulong)bits << (r & 63);
                }
            }
        }

        // The rows left (or all of them without AVX): DotRows gives the same sums for them.
        if (r < scores.Length)
        {
            DotRows(rows[(r * f)..], f, query, scores[r..]);
            for (; r < scores.Length; r++)
            {
                if (!(scores[r] < threshold))
                {
                    above[r >> 6] |= 1UL << (r & 63);
                }
            }
        }
    }

    /// <summary>
    /// The rows <see cref="DotRowsAbove"/> marked among the first <paramref name="rows"/>, ascending:
    /// <c>foreach (var r in MarkedRows(above, rows))</c>. Words past the rows' own are never read
    /// (they may hold an earlier, longer block's bits).
    /// </summary>
    public static MarkedRowEnumerator MarkedRows(ReadOnlySpan<ulong> above, int rows) => new(above[..((rows + 63) >> 6)]);

    /// <summary>Walks the set bits of a mask, word by word, lowest first.</summary>
    public ref struct MarkedRowEnumerator
    {
        private readonly ReadOnlySpan<ulong> _words;
        private int _word;
        private ulong _bits;

        internal MarkedRowEnumerator(ReadOnlySpan<ulong> words)
        {
            _words = words;
            _word = -1;
            _bits = 0;
            Current = -1;
        }

        public int Current { get; private set; }

        public readonly MarkedRowEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_bits == 0)
            {
                if (++_word >= _words.Length)
                {
                    return false;
                }

                _bits = _words[_word];
            }

            Current = (_word * 64) + System.Numerics.BitOperations.TrailingZeroCount(_bits);
            _bits &= _bits - 1;
            return true;
        }
    }

    /// <summary>
    /// The scores of the eight rows from <paramref name="a"/> (f floats each, f a multiple of 8):
    /// eight accumulators, then one horizontal-add tree gives the eight sums as a single vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> EightSums(float* a, float* pq, int f)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (var j = 0; j < f; j += 8)
        {
            var q = Avx.LoadVector256(pq + j);
            s0 = Fma.MultiplyAdd(Avx.LoadVector256(a + j), q, s0);
            s1 = Fma.MultiplyAdd(Avx.LoadVector256(a + f + j), q, s1);
            s2 = Fma.MultiplyAdd(Avx.LoadVector256(a + (2 * f) + j), q, s2);
            s3 = Fma.MultiplyAdd(Avx.LoadVector256(a + (3 * f) + j), q, s3);
            s4 = Fma.MultiplyAdd(Avx.LoadVector256(a + (4 * f) + j), q, s4);
            s5 = Fma.MultiplyAdd(Avx.LoadVector256(a + (5 * f) + j), q, s5);
            s6 = Fma.MultiplyAdd(Avx.LoadVector256(a + (6 * f) + j), q, s6);
            s7 = Fma.MultiplyAdd(Avx.LoadVector256(a + (7 * f) + j), q, s7);
        }

        var h0 = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        var h1 = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));
        return Avx.Add(Avx.Permute2x128(h0, h1, 0x20), Avx.Permute2x128(h0, h1, 0x31));
    }

    /// <summary>((s0+s1)+(s2+s3)) + ((s4+s5)+(s6+s7)): the order the eight-row tree sums one row in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReduceLikeTree(Vector256<float> s)
    {
        var h = Avx.HorizontalAdd(s, s);
        h = Avx.HorizontalAdd(h, h);
        return h.ToScalar() + h.GetElement(4);
    }
}
