namespace Recommender.Evaluation;

/// <summary>Averages over evaluated users of the standard top-k metrics.</summary>
public sealed record MetricSet(int K, int Users, double Precision, double Recall, double Ndcg, double Map, double Coverage, double Novelty);

/// <summary>
/// Top-k ranking metrics with binary relevance. Users without relevant items are not evaluated.
/// precision@k = hits/k; recall@k = hits/|relevant|; NDCG@k = Σ hit/log2(rank+1) over the ideal DCG
/// of min(k, |relevant|) hits; MAP@k = Σ over hit ranks of precision@rank / min(k, |relevant|);
/// coverage = distinct recommended items / catalog size; novelty = mean −log2(listeners(i)/users)
/// of recommended items (an item nobody listened to counts as one listener).
/// </summary>
public sealed class MetricsAccumulator
{
    private readonly int _k;
    private readonly int[] _itemListeners;
    private readonly int _trainUsers;
    private readonly bool[] _recommended;
    private double _precision, _recall, _ndcg, _map, _novelty;
    private long _noveltyCount;
    private int _users;

    private readonly List<double>? _userNdcg;

    /// <param name="keepUserNdcg">keep each user's NDCG (in the order added) for paired comparisons; the validation does, the full-size test period does not.</param>
    public MetricsAccumulator(int k, int[] itemListeners, int trainUsers, bool keepUserNdcg = false)
    {
        _userNdcg = keepUserNdcg ? [] : null;
        _k = k;
        _itemListeners = itemListeners;
        _trainUsers = Math.Max(1, trainUsers);
        _recommended = new bool[itemListeners.Length];
    }

    /// <param name="recommended">The user's list, best first (only the first k count).</param>
    /// <param name="relevant">The user's held-out items, sorted ascending.</param>
    public void Add(ReadOnlySpan<int> recommended, ReadOnlySpan<int> relevant)
    {
        if (relevant.Length == 0)
        {
            return;
        }

        var n = Math.Min(_k, recommended.Length);
        int hits = 0;
        double dcg = 0, ap = 0;
        for (var r = 0; r < n; r++)
        {
            var item = recommended[r];
            _recommended[item] = true;
            _novelty += -Math.Log2(Math.Max(1, _itemListeners[item]) / (double)_trainUsers);
            _noveltyCount++;
            if (relevant.BinarySearch(item) >= 0)
            {
                hits++;
                dcg += 1 / Math.Log2(r + 2);
                ap += hits / (double)(r + 1);
            }
        }

        double idcg = 0;
        var ideal = Math.Min(_k, relevant.Length);
        for (var r = 0; r < ideal; r++)
        {
            idcg += 1 / Math.Log2(r + 2);
        }

        _users++;
        _precision += hits / (double)_k;
        _recall += hits / (double)relevant.Length;
        _ndcg += dcg / idcg;
        _userNdcg?.Add(dcg / idcg);
        _map += ap / ideal;
    }

    /// <summary>Each user's NDCG in the order added (empty unless kept).</summary>
    public IReadOnlyList<double> UserNdcg => _userNdcg ?? [];

    public MetricSet Result()
    {
        var u = Math.Max(1, _users);
        return new MetricSet(_k, _users, _precision / u, _recall / u, _ndcg / u, _map / u,
            _recommended.Count(x => x) / (double)Math.Max(1, _recommended.Length),
            _noveltyCount == 0 ? 0 : _novelty / _noveltyCount);
    }
}
