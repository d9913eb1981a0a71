using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>Personal recommendations from ALS factors: the user's vector against every item (or the IVF lists).</summary>
public sealed class AlsRecommender : IRecommenderModel
{
    /// <summary>Catalogs at most this large are scanned exactly.</summary>
    public const int ExactLimit = 50_000;

    /// <summary>
    /// IVF lists a user's search scans (of √items, 1,000 at full size). At full size on converged
    /// factors, recall@10 against exact search was 0.9979 at 12 probes, 0.9986 at 16 and 0.9989 at
    /// 24, and 12 took 63% of 24's time (`bench --stages topk --probes 12,16,20,24`, docs/benchmarks.md).
    /// </summary>
    public const int DefaultProbes = 12;

    private readonly int _probes;

    public AlsRecommender(AlsModel model, int lists = 0, int probes = DefaultProbes)
    {
        Model = model;
        _probes = probes;
        lists = lists > 0 ? lists : model.Items <= ExactLimit ? 1 : (int)Math.Sqrt(model.Items);
        Index = IvfIndex.Build(model.ItemFactors, model.Factors, lists, model.Parameters.Seed);
        _masks = new ExclusionMasks(model.Items);
    }

    /// <summary>Over an index already built for this model's item factors (a loaded one).</summary>
    public AlsRecommender(AlsModel model, IvfIndex index, int probes = DefaultProbes)
    {
        Model = model;
        Index = index;
        _probes = probes;
        _masks = new ExclusionMasks(model.Items);
    }

    private readonly ExclusionMasks _masks;

    /// <summary>Queries per batch of <see cref="RecommendAll"/> (<see cref="IvfIndex.SearchAll"/>); the lists do not depend on it.</summary>
    public int SearchBatch { get; init; } = IvfIndex.DefaultBatchSize;

    public string Name => "als";
    public AlsModel Model { get; }
    public IvfIndex Index { get; }

    /// <param name="continueFrom">see <see cref="AlsModel.Fit"/>: its factor arrays are taken over.</param>
    public static AlsRecommender Fit(EventLog train, AlsParameters parameters, Action<AlsIteration>? onIteration = null, CancellationToken cancellation = default, AlsModel? continueFrom = null) =>
        new(AlsModel.Fit(InteractionMatrix.FromEvents(train), parameters, onIteration, cancellation, continueFrom));

    /// <summary>
    /// Positions into <paramref name="users"/> ordered by each user's nearest IVF list: scoring
    /// many users in this order keeps the lists they scan in cache (for batch jobs).
    /// </summary>
    public int[] LocalityOrder(ReadOnlySpan<int> users)
    {
        var order = new int[users.Length];
        for (var b = 0; b < order.Length; b++)
        {
            order[b] = b;
        }

        if (Index.IsExact)
        {
            return order;
        }

        var keys = new int[users.Length];
        var copy = users.ToArray();
        Parallel.For(0, keys.Length, Cores.Options(), b => keys[b] = (uint)copy[b] < (uint)Model.Users ? Index.NearestList(Model.UserVector(copy[b])) : -1);
        Array.Sort(keys, order);
        return order;
    }

    /// <summary>
    /// Top-<paramref name="k"/> for every user of <paramref name="users"/> (the same lists as
    /// <see cref="Recommend"/>), in batches of users that share their nearest IVF lists;
    /// <paramref name="sink"/> gets positions into <paramref name="users"/>. Users outside the model get nothing.
    /// </summary>
    public void RecommendAll(int[] users, EventLog history, int k, IvfIndex.ResultSink sink, CancellationToken cancellation = default, Diagnostics.StageProgress? progress = null)
    {
        var order = LocalityOrder(users);
        Index.SearchAll(order.Length, k, _probes, (int o, Span<float> query, out ReadOnlySpan<int> excluded) =>
        {
            var u = users[order[o]];
            excluded = history.ItemsOf(u);
            if ((uint)u >= (uint)Model.Users)
            {
                return false;
            }

            Model.UserVector(u).CopyTo(query);
            return true;
        }, (o, best) => sink(order[o], best), cancellation, progress, SearchBatch);
    }

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination) =>
        user < 0 || user >= Model.Users ? 0 : RecommendFor(Model.UserVector(user), history, k, destination);

    /// <summary>Top-k for any user vector, for example one folded in online.</summary>
    public int RecommendFor(ReadOnlySpan<float> userVector, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var top = new TopK(k);
        var mask = _masks.Rent(history);
        try
        {
            Span<float> listScores = Index.Lists <= 4096 ? stackalloc float[Index.Lists] : new float[Index.Lists];
            Index.Search(userVector, _probes, top, mask, listScores);
        }
        finally
        {
            _masks.Return(mask, history);
        }

        return top.Drain(destination);
    }

    public void Save(string dir, ArtifactIds ids)
    {
        Model.Save(Path.Combine(dir, FileNames.AlsModel));
        Index.Save(Path.Combine(dir, FileNames.AlsIndex));
    }

    /// <summary>The model and its saved index; a snapshot written before the index was saved gets it rebuilt (same seed, same index).</summary>
    /// <param name="memory">where the factors and the index's vectors go; null: ordinary arrays.</param>
    public static AlsRecommender Load(string dir, Data.TableMemory? memory = null)
    {
        var model = AlsModel.Load(Path.Combine(dir, FileNames.AlsModel), memory);
        var index = Path.Combine(dir, FileNames.AlsIndex);
        return File.Exists(index) ? new AlsRecommender(model, IvfIndex.Load(index, model.ItemFactors, model.Factors, memory)) : new AlsRecommender(model);
    }
}
