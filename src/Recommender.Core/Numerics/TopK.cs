namespace Recommender.Numerics;

/// <summary>An item and its score; ordering puts higher scores first, ties to the lower item.</summary>
public readonly record struct ScoredItem(int Item, float Score) : IComparable<ScoredItem>
{
    /// <summary>Negative when this ranks before <paramref name="other"/>.</summary>
    public int CompareTo(ScoredItem other)
    {
        var byScore = other.Score.CompareTo(Score);
        return byScore != 0 ? byScore : Item.CompareTo(other.Item);
    }
}

/// <summary>
/// Keeps the k best of a stream of scored items in a binary min-heap (the worst kept item at
/// the root), then emits them best first. O(n log k), no allocation per candidate.
/// </summary>
public sealed class TopK
{
    private readonly ScoredItem[] _heap;

    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        _heap = new ScoredItem[k];
    }

    public int Capacity => _heap.Length;
    public int Count { get; private set; }

    /// <summary>The score an item must beat to enter once the heap is full.</summary>
    public float Threshold => Count < _heap.Length ? float.NegativeInfinity : _heap[0].Score;

    public void Clear() => Count = 0;

    public void Add(int item, float score)
    {
        var candidate = new ScoredItem(item, score);
        if (Count < _heap.Length)
        {
            _heap[Count] = candidate;
            SiftUp(Count++);
        }
        else if (_heap.Length > 0 && candidate.CompareTo(_heap[0]) < 0)
        {
            _heap[0] = candidate;
            SiftDown(0);
        }
    }

    /// <summary>Writes the kept items best first into <paramref name="destination"/>; returns how many.</summary>
    public int Drain(Span<ScoredItem> destination)
    {
        var n = Count;
        var items = _heap.AsSpan(0, n);
        items.Sort();
        items.CopyTo(destination);
        Count = 0;
        return n;
    }

    public ScoredItem[] ToArray()
    {
        var result = new ScoredItem[Count];
        Drain(result);
        return result;
    }

    // The heap orders by "worse first": a is above b when a ranks after b.
    private bool Worse(int a, int b) => _heap[a].CompareTo(_heap[b]) > 0;

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Worse(i, parent))
            {
                break;
            }

            (_heap[i], _heap[parent]) = (_heap[parent], _heap[i]);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            if (left >= Count)
            {
                break;
            }

            var worst = left + 1 < Count && Worse(left + 1, left) ? left + 1 : left;
            if (!Worse(worst, i))
            {
                break;
            }

            (_heap[i], _heap[worst]) = (_heap[worst], _heap[i]);
            i = worst;
        }
    }
}
