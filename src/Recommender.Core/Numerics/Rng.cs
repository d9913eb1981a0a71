namespace Recommender.Numerics;

/// <summary>
/// xoshiro256** seeded through SplitMix64: fast, and the same seed gives the same stream on
/// every platform and runtime (System.Random makes no such promise across versions).
/// </summary>
public struct Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>A generator for one independent stream (for example one chunk of users).</summary>
    public static Rng ForStream(ulong seed, ulong stream) => new(seed * 0x9E3779B97F4A7C15UL ^ (stream + 0x632BE59BD9B4E019UL) * 0xBF58476D1CE4E5B9UL);

    public ulong NextULong()
    {
        var result = BitRotate(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitRotate(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n).</summary>
    public int Next(int n) => (int)((NextULong() >> 33) * (ulong)n >> 31);

    /// <summary>Uniform in [min, max).</summary>
    public int Next(int min, int max) => min + Next(max - min);

    /// <summary>
    /// Fills <paramref name="target"/> with NextGaussian() × scale, the values one sequential
    /// stream gives, on every core: a cheap pass records the state at the start of each block
    /// (a Gaussian is exactly two raw draws), then the blocks' Box-Muller math runs in parallel.
    /// </summary>
    public void FillGaussian(Span<float> target, float scale)
    {
        const int Block = 1 << 18;
        var blocks = (target.Length + Block - 1) / Block;
        var starts = new Rng[blocks];
        for (var b = 0; b < blocks; b++)
        {
            starts[b] = this;
            for (var i = Math.Min(Block, target.Length - (b * Block)); i > 0; i--)
            {
                NextULong();
                NextULong();
            }
        }

        unsafe
        {
            fixed (float* all = target)
            {
                var length = target.Length;
                var at = (nint)all;
                Parallel.For(0, blocks, Cores.Options(), b =>
                {
                    var block = new Span<float>((float*)at + ((long)b * Block), Math.Min(Block, length - (b * Block)));
                    var rng = starts[b];
                    foreach (ref var x in block)
                    {
                        x = (float)rng.NextGaussian() * scale;
                    }
                });
            }
        }
    }

    public double NextGaussian()
    {
        // Box-Muller; the second value is dropped to keep the stream simple.
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong BitRotate(ulong x, int k) => (x << k) | (x >> (64 - k));
}

/// <summary>Draws an index with probability proportional to its weight (cumulative sums + binary search).</summary>
public static class WeightedChoice
{
    /// <summary>Turns weights into running sums in place.</summary>
    public static void Accumulate(Span<double> weights)
    {
        var sum = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            sum += weights[i];
            weights[i] = sum;
        }
    }

    /// <summary>Index i with cumulative[i-1] &lt;= u·total &lt; cumulative[i].</summary>
    public static int Pick(ReadOnlySpan<double> cumulative, ref Rng rng)
    {
        var target = rng.NextDouble() * cumulative[^1];
        int lo = 0, hi = cumulative.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >> 1;
            if (cumulative[mid] > target)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }
}
