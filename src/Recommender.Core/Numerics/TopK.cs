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
/// Keeps the k best of a stream of scored items, then emits them best first. Candidates at or
/// above <see cref="Threshold"/> are appended to a buffer of 2k; when it fills, a quickselect keeps
/// the k best and raises the threshold to the k-th score. Appends are what a scan does almost
/// always, so they cost a compare and a store (a heap costs a sift per candidate); the k best
/// under the total order (score, then item) come out the same whatever order they went in.
/// </summary>
public sealed class TopK
{
    private readonly int _k;
    private readonly ScoredItem[] _buffer;
    private int _count;
    private float _threshold = float.NegativeInfinity;

    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        _k = k;
        _buffer = new ScoredItem[k == 0 ? 0 : Math.Max(2 * k, k + 16)];
    }

    /// <summary>k: how many items come out at most.</summary>
    public int Capacity => _k;

    /// <summary>How many items <see cref="Drain"/> would emit now.</summary>
    public int Count => Math.Min(_count, _k);

    /// <summary>
    /// A lower bound of the k-th best score so far (−∞ until k items have been compacted): an item
    /// scoring below it can no longer be among the k best, so scans may skip it without calling Add.
    /// </summary>
    public float Threshold => _threshold;

    public void Clear()
    {
        _count = 0;
        _threshold = float.NegativeInfinity;
    }

    public void Add(int item, float score)
    {
        if (_k == 0 || score < _threshold)
        {
            return;
        }

        if (_count == _buffer.Length)
        {
            KeepBest();
            if (score < _threshold)
            {
                return;
            }
        }

        _buffer[_count++] = new ScoredItem(item, score);
    }

    /// <summary>Writes the kept items best first into <paramref name="destination"/>; returns how many.</summary>
    public int Drain(Span<ScoredItem> destination)
    {
        if (_count > _k)
        {
            KeepBest();
        }

        var n = _count;
        var items = _buffer.AsSpan(0, n);
        items.Sort();
        items.CopyTo(destination);
        Clear();
        return n;
    }

    public ScoredItem[] ToArray()
    {
        var result = new ScoredItem[Count];
        Drain(result);
        return result;
    }

    /// <summary>Moves the k best of the buffer to its front (unordered), drops the rest, raises the threshold.</summary>
    private void KeepBest()
    {
        SelectFirst(_buffer.AsSpan(0, _count), _k);
        _count = _k;
        _threshold = _buffer[_k - 1].Score;
    }

    /// <summary>Quickselect: afterwards a[..k] holds the k smallest of a under CompareTo, a[k−1] the k-th of them.</summary>
    internal static void SelectFirst(Span<ScoredItem> a, int k)
    {
        int lo = 0, hi = a.Length - 1, nth = k - 1;
        while (hi > lo)
        {
            // Median of three as the pivot, parked at hi; then a Lomuto partition.
            var mid = lo + ((hi - lo) >> 1);
            if (a[mid].CompareTo(a[lo]) < 0)
            {
                (a[mid], a[lo]) = (a[lo], a[mid]);
            }

            if (a[hi].CompareTo(a[lo]) < 0)
            {
                (a[hi], a[lo]) = (a[lo], a[hi]);
            }

            if (a[hi].CompareTo(a[mid]) < 0)
            {
                (a[hi], a[mid]) = (a[mid], a[hi]);
            }

            (a[mid], a[hi]) = (a[hi], a[mid]);
            var pivot = a[hi];
            var store = lo;
            for (var i = lo; i < hi; i++)
            {
                if (a[i].CompareTo(pivot) < 0)
                {
                    (a[i], a[store]) = (a[store], a[i]);
                    store++;
                }
            }

            (a[store], a[hi]) = (a[hi], a[store]);
            if (store == nth)
            {
                return;
            }

            if (store < nth)
            {
                lo = store + 1;
            }
            else
            {
                hi = store - 1;
            }
        }
    }
}
