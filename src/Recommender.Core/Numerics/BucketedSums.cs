using System.Runtime.CompilerServices;

namespace Recommender.Numerics;

/// <summary>
/// Sums a stream of (index, value) pairs into a dense item-sized array bucket by bucket. A 1M-item
/// float array is 4 MB, beyond L2: adding pairs in their arrival order waited on a cache miss for
/// nearly every pair. Here the pairs are counted per bucket of 8,192 indexes, placed in bucket
/// order by a stable counting sort, then added bucket by bucket, each bucket's 32 KB of the array
/// staying in L1. The sort is stable, so every entry receives its terms in arrival order: the
/// sums are the same floats as the direct adds. Use: <see cref="Count"/> every pair, <see cref="Seal"/>,
/// <see cref="Place"/> the same pairs in the same order, <see cref="AddTo"/>; <see cref="Clear"/> before the next stream.
/// </summary>
public sealed class BucketedSums
{
    /// <summary>log2 of the indexes per bucket: 8,192 floats = 32 KB.</summary>
    public const int Shift = 13;

    private readonly int[] _next;
    private readonly int[] _items;
    private readonly float[] _values;
    private int _total;

    /// <param name="length">the dense array's length (indexes are below it).</param>
    /// <param name="capacity">the most pairs one stream may hold.</param>
    public BucketedSums(int length, int capacity)
    {
        _next = new int[(length >> Shift) + 2];
        _items = new int[capacity];
        _values = new float[capacity];
    }

    public int Capacity => _items.Length;

    /// <summary>Pairs counted since the last <see cref="Clear"/>.</summary>
    public int Total => _total;

    public void Clear()
    {
        _next.AsSpan().Clear();
        _total = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Count(int index)
    {
        _next[(index >> Shift) + 1]++;
        _total++;
    }

    /// <summary>After counting, before placing: turns the counts into each bucket's first slot.</summary>
    public void Seal()
    {
        if (_total > Capacity)
        {
            throw new InvalidOperationException($"{_total} pairs counted for room for {Capacity}");
        }

        for (var b = 1; b < _next.Length; b++)
        {
            _next[b] += _next[b - 1];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Place(int index, float value)
    {
        var at = _next[index >> Shift]++;
        _items[at] = index;
        _values[at] = value;
    }

    /// <summary>Adds every placed pair into <paramref name="acc"/> through <see cref="ScatterAdd"/> (values must be positive); returns the new touched count.</summary>
    public int AddTo(float[] acc, int[] touched, int count)
    {
        for (var p = 0; p < _total; p++)
        {
            ScatterAdd.Add(acc, touched, ref count, _items[p], _values[p]);
        }

        return count;
    }
}
