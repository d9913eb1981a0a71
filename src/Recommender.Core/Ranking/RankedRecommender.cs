using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Ranking;

/// <summary>
/// What the ranker's candidates come from: the generators, and the blend's weights (its fused
/// score of ALS, item-based and genre lists is a feature, as each generator's own score is).
/// </summary>
/// <param name="Depths">how deep each generator's list is read.</param>
public readonly record struct CandidateSources(IRecommenderModel Als, IRecommenderModel ItemKnn, IRecommenderModel Genre, SimilarToRecentModel Similar, PopularModel Popular, BlendWeights Blend, CandidateDepths Depths);

/// <summary>
/// The two-stage recommender: candidates from ALS, item-based, genre profile, similar-to-recent and
/// popular (the blend's top is their union's first part), ordered by the gradient-boosted ranker
/// over <see cref="FeatureContext"/> features.
/// </summary>
public sealed class RankedRecommender : IRecommenderModel
{
    /// <summary>A candidate outside the blend's top this-many gets rank BlendCandidates + 1.</summary>
    public const int BlendCandidates = FusionRecommender.DefaultDepth;
    public const string RankerFile = FileNames.Ranker;

    public RankedRecommender(AlsRecommender als, ItemKnnModel itemKnn, GenreProfileModel genre, SimilarToRecentModel similar, PopularModel popular, BlendWeights blend, CandidateDepths depths, FeatureContext features, GradientBoostedRanker ranker)
    {
        if (depths.Validate().FirstOrDefault() is { } problem)
        {
            throw new ArgumentOutOfRangeException(nameof(depths), depths, problem);
        }

        Depths = depths;
        Als = als;
        ItemKnn = itemKnn;
        Genre = genre;
        Similar = similar;
        Popular = popular;
        Blend = blend;
        Features = features;
        Ranker = ranker;
    }

    /// <summary>The ranker over the generators of one fit, the blend's weights and the candidate depths chosen with them.</summary>
    public RankedRecommender(CandidateGenerators generators, BlendWeights blend, CandidateDepths depths, GradientBoostedRanker ranker)
        : this(generators.Als, generators.ItemKnn, generators.Genre, generators.Similar, generators.Popular, blend, depths, generators.Features, ranker)
    {
    }

    public string Name => "ranked";
    public AlsRecommender Als { get; }
    public ItemKnnModel ItemKnn { get; }
    public GenreProfileModel Genre { get; }
    public SimilarToRecentModel Similar { get; }
    public PopularModel Popular { get; }
    public BlendWeights Blend { get; }
    public CandidateDepths Depths { get; }
    public FeatureContext Features { get; }
    public GradientBoostedRanker Ranker { get; }

    /// <summary>The generators this ranker reads; ALS and item-based lists may come from tables computed earlier instead.</summary>
    public CandidateSources Sources(IRecommenderModel? alsLists = null, IRecommenderModel? itemKnnLists = null) =>
        new(alsLists ?? Als, itemKnnLists ?? ItemKnn, Genre, Similar, Popular, Blend, Depths);

    /// <summary>
    /// The union of the generators' lists, each read to its depth in <see cref="CandidateSources.Depths"/>,
    /// with each one's score and rank (rank = depth + 1 when absent), the blend's fused score and rank, and how many generators proposed each track.
    /// </summary>
    public static int Candidates(in CandidateSources sources, int user, ReadOnlySpan<int> history, Span<Candidate> destination) =>
        Candidates(sources, user, history, destination, []);

    /// <summary>The same, adding each generator's ticks to <paramref name="sourceTicks"/> (<see cref="RankingPhaseTimes.SourceNames"/>' order) when it is not empty.</summary>
    internal static int Candidates(in CandidateSources sources, int user, ReadOnlySpan<int> history, Span<Candidate> destination, Span<long> sourceTicks)
    {
        var timed = !sourceTicks.IsEmpty;
        var tick = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        void Lap(Span<long> ticks, int source) // spans cannot be captured: passed in
        {
            if (timed)
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                ticks[source] += now - tick;
                tick = now;
            }
        }

        var depths = sources.Depths;
        Span<ScoredItem> buffer = stackalloc ScoredItem[depths.Deepest]; // at most 200 (CandidateDepths.MaxDepth): 1.6 KB
        // The items alone, beside the candidates: a vectorised search finds a repeat among 200 in a few steps.
        Span<int> items = stackalloc int[depths.Total];
        var count = 0;
        int Slot(Span<Candidate> d, Span<int> seen, int item) // spans cannot be captured: passed in
        {
            var at = seen[..count].IndexOf(item);
            if (at < 0)
            {
                at = count++;
                seen[at] = item;
                d[at] = new Candidate
                {
                    Item = item, AlsRank = depths.Als + 1, ItemKnnRank = depths.ItemKnn + 1, GenreRank = depths.Genre + 1,
                    SimilarRank = depths.Similar + 1, PopularRank = depths.Popular + 1, BlendRank = BlendCandidates + 1,
                };
            }

            d[at].Sources++;
            return at;
        }

        // The blend's parts, scaled as FusionRecommender.Fuse scales them, weighted: the blend reads
        // each part's top DefaultDepth, whatever deeper the candidates go.
        void Fused(Span<Candidate> d, ReadOnlySpan<ScoredItem> list, ReadOnlySpan<int> slots, float weight)
        {
            list = list[..Math.Min(list.Length, FusionRecommender.DefaultDepth)];
            if (list.Length == 0 || weight <= 0)
            {
                return;
            }

            var (hi, lo) = (list[0].Score, list[^1].Score);
            var range = hi - lo;
            for (var r = 0; r < list.Length; r++)
            {
                d[slots[r]].BlendScore += weight * FusionRecommender.Scaled(list[r].Score, lo, range);
            }
        }

        Span<int> at = stackalloc int[depths.Deepest];
        var n = sources.Als.Recommend(user, history, depths.Als, buffer);
        for (var r = 0; r < n; r++)
        {
            at[r] = Slot(destination, items, buffer[r].Item);
            destination[at[r]].AlsScore = buffer[r].Score;
            destination[at[r]].AlsRank = r + 1;
        }

        Fused(destination, buffer[..n], at, 1f);
        Lap(sourceTicks, 0);
        n = sources.ItemKnn.Recommend(user, history, depths.ItemKnn, buffer);
        for (var r = 0; r < n; r++)
        {
            at[r] = Slot(destination, items, buffer[r].Item);
            destination[at[r]].ItemKnnScore = buffer[r].Score;
            destination[at[r]].ItemKnnRank = r + 1;
        }

        Fused(destination, buffer[..n], at, sources.Blend.ItemBased);
        Lap(sourceTicks, 1);
        n = sources.Genre.Recommend(user, history, depths.Genre, buffer);
        for (var r = 0; r < n; r++)
        {
            at[r] = Slot(destination, items, buffer[r].Item);
            destination[at[r]].GenreScore = buffer[r].Score;
            destination[at[r]].GenreRank = r + 1;
        }

        Fused(destination, buffer[..n], at, sources.Blend.Genre);
        Lap(sourceTicks, 2);
        n = sources.Similar.Recommend(user, history, depths.Similar, buffer);
        for (var r = 0; r < n; r++)
        {
            var s = Slot(destination, items, buffer[r].Item);
            destination[s].SimilarScore = buffer[r].Score;
            destination[s].SimilarRank = r + 1;
        }

        Lap(sourceTicks, 3);
        n = sources.Popular.Recommend(user, history, depths.Popular, buffer);
        for (var r = 0; r < n; r++)
        {
            destination[Slot(destination, items, buffer[r].Item)].PopularRank = r + 1;
        }

        Lap(sourceTicks, 4);
        RankBlend(destination[..count], items[..count]);
        Lap(sourceTicks, 5);
        return count;
    }

    /// <summary>
    /// The blend's rank of each candidate it scores, as its fused top-k orders them (score, then the
    /// lower track first); the rest keep BlendCandidates + 1. <paramref name="items"/>[c] is candidate c's track.
    /// </summary>
    private static void RankBlend(Span<Candidate> candidates, ReadOnlySpan<int> items)
    {
        Span<ScoredItem> fused = stackalloc ScoredItem[candidates.Length];
        var n = 0;
        for (var c = 0; c < candidates.Length; c++)
        {
            if (candidates[c].BlendScore > 0)
            {
                fused[n++] = new ScoredItem(candidates[c].Item, candidates[c].BlendScore);
            }
        }

        fused = fused[..n];
        fused.Sort();
        for (var r = 0; r < Math.Min(n, BlendCandidates); r++)
        {
            candidates[items.IndexOf(fused[r].Item)].BlendRank = r + 1;
        }
    }

    /// <summary>Users per <see cref="RecommendBatch"/> call when many are ranked: ~140 MB of buffers (feature rows 95 MB, candidate slots 43 MB), reused from batch to batch.</summary>
    public const int BatchUsers = 4096;

    /// <summary>
    /// <see cref="RecommendBatch"/> over any number of users, <see cref="BatchUsers"/> at a time with
    /// one set of buffers: a validation fold ranked in one call made ~310 MB of
    /// buffers per call, garbage the next call added to (the stage-A heap bump, docs/benchmarks.md).
    /// </summary>
    /// <param name="buffers">buffers to reuse (a run's calls one after another share one set: ~140 MB each at 4,096 users); null: a fresh set.</param>
    public ScoredItem[][] RecommendInBatches(int[] users, Func<int, ReadOnlySpan<int>> historyOf, int k, RankingBuffers? buffers = null)
    {
        var results = new ScoredItem[users.Length][];
        buffers ??= new RankingBuffers();
        for (var start = 0; start < users.Length; start += BatchUsers)
        {
            var batch = users.AsSpan(start, Math.Min(BatchUsers, users.Length - start)).ToArray();
            RecommendBatch(batch, historyOf, k, buffers).CopyTo(results, start);
        }

        return results;
    }

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var copy = history.ToArray();
        var results = RecommendBatch([user], _ => copy, k, new RankingBuffers());
        results[0].AsSpan().CopyTo(destination);
        return results[0].Length;
    }

    /// <summary>Ranks many users at once: each phase (candidates, features, scoring) runs over the whole batch, spread over the cores.</summary>
    /// <param name="historyOf">user → the tracks heard (excluded from the candidates).</param>
    /// <param name="buffers">the batch's arrays, reused from one call to the next by the same caller.</param>
    /// <param name="alsLists">the ALS candidates from lists computed earlier in the run (<see cref="PrecomputedLists"/>); null searches <see cref="Als"/>.</param>
    /// <param name="times">when given, the wall time of each phase is added to it.</param>
    /// <param name="itemKnnLists">the item-kNN candidates from lists computed earlier in the run, as <paramref name="alsLists"/>; null sums <see cref="ItemKnn"/>.</param>
    public ScoredItem[][] RecommendBatch(int[] users, Func<int, ReadOnlySpan<int>> historyOf, int k, RankingBuffers buffers, IRecommenderModel? alsLists = null, RankingPhaseTimes? times = null, IRecommenderModel? itemKnnLists = null)
    {
        var sources = Sources(alsLists, itemKnnLists);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var perUser = Depths.Total;
        buffers.Reserve(users.Length, perUser);
        var (slots, counts, offsets, features) = (buffers.Slots, buffers.Counts, buffers.Offsets, buffers.Features);
        if (times is null)
        {
            Parallel.For(0, users.Length, Cores.Options(), b =>
            {
                counts[b] = Candidates(sources, users[b], historyOf(users[b]), slots.AsSpan(b * perUser, perUser));
            });
        }
        else
        {
            Parallel.For(0, users.Length, Cores.Options(), () => new long[RankingPhaseTimes.SourceNames.Length], (b, _, ticks) =>
            {
                counts[b] = Candidates(sources, users[b], historyOf(users[b]), slots.AsSpan(b * perUser, perUser), ticks);
                return ticks;
            }, ticks => times.AddSources(ticks));
        }
        offsets[0] = 0;
        for (var b = 0; b < users.Length; b++)
        {
            offsets[b + 1] = offsets[b] + counts[b];
        }

        var rows = offsets[users.Length];
        var featuresStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        Parallel.For(0, users.Length, Cores.Options(), b =>
        {
            var u = users[b];
            var vector = u >= 0 && u < Als.Model.Users ? Als.Model.UserVector(u) : [];
            Features.Compute(u, vector, historyOf(u), slots.AsSpan(b * perUser, counts[b]), features.AsSpan(offsets[b] * FeatureContext.FeatureCount, counts[b] * FeatureContext.FeatureCount));
        });
        var scoringStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var scores = buffers.Scores;
        Ranker.Score(features, rows, scores);
        times?.Add(started, featuresStarted, scoringStarted, System.Diagnostics.Stopwatch.GetTimestamp(), rows);
        var results = new ScoredItem[users.Length][];
        Parallel.For(0, users.Length, Cores.Options(), b =>
        {
            var top = new TopK(k);
            var candidates = slots.AsSpan(b * perUser, counts[b]);
            for (var c = 0; c < candidates.Length; c++)
            {
                top.Add(candidates[c].Item, scores[offsets[b] + c]);
            }

            results[b] = top.ToArray();
        });
        return results;
    }

    public void Save(string dir, ArtifactIds ids)
    {
        foreach (var part in SaveParts(dir, ids))
        {
            part();
        }
    }

    /// <summary>What <see cref="Save"/> writes, as independent writes a caller may run side by side (each file is encoded on one thread).</summary>
    public Action[] SaveParts(string dir, ArtifactIds ids) =>
    [
        () => ItemKnn.Save(dir, ids),
        () => Similar.Save(dir, ids),
        () => Genre.Save(dir, ids),
        () =>
        {
            Als.Save(dir, ids);
            Popular.Save(dir, ids);
            Ranker.Save(Path.Combine(dir, RankerFile));
            Features.Save(Path.Combine(dir, FileNames.RankerFeatures));
        },
    ];

    /// <summary>Loads the learned state, the feature counts with it: the loaded model ranks as the saved one.</summary>
    public static RankedRecommender Load(string dir, ArtifactIds ids, ItemKnnParameters itemKnn, GenreProfileParameters genre, BlendWeights blend, CandidateDepths depths)
    {
        var als = AlsRecommender.Load(dir);
        return new RankedRecommender(als, ItemKnnModel.Load(dir, ids, itemKnn), GenreProfileModel.Load(dir, genre), SimilarToRecentModel.Load(dir, ids), PopularModel.Load(dir, ids), blend, depths,
            FeatureContext.Load(Path.Combine(dir, FileNames.RankerFeatures), als.Model), GradientBoostedRanker.Load(Path.Combine(dir, RankerFile)));
    }
}
