using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Ranking;

/// <summary>
/// The two-stage recommender: candidates from ALS, item-kNN, similar-to-recent and popular,
/// ordered by the gradient-boosted ranker over <see cref="FeatureContext"/> features.
/// </summary>
public sealed class RankedRecommender : IRecommenderModel
{
    public const int AlsCandidates = 50;
    public const int ItemKnnCandidates = 50;
    public const int SimilarCandidates = 30;
    public const int PopularCandidates = 20;
    public const int MaxCandidates = AlsCandidates + ItemKnnCandidates + SimilarCandidates + PopularCandidates;
    public const string RankerFile = FileNames.Ranker;

    public RankedRecommender(AlsRecommender als, ItemKnnModel itemKnn, SimilarToRecentModel similar, PopularModel popular, FeatureContext features, GradientBoostedRanker ranker)
    {
        Als = als;
        ItemKnn = itemKnn;
        Similar = similar;
        Popular = popular;
        Features = features;
        Ranker = ranker;
    }

    public string Name => "ranked";
    public AlsRecommender Als { get; }
    public ItemKnnModel ItemKnn { get; }
    public SimilarToRecentModel Similar { get; }
    public PopularModel Popular { get; }
    public FeatureContext Features { get; }
    public GradientBoostedRanker Ranker { get; }

    /// <summary>The union of the four generators' lists, with each one's score and rank (rank = list length + 1 when absent).</summary>
    public static int Candidates(IRecommenderModel als, IRecommenderModel itemKnn, SimilarToRecentModel similar, PopularModel popular, int user, ReadOnlySpan<int> history, Span<Candidate> destination)
    {
        Span<ScoredItem> buffer = stackalloc ScoredItem[Math.Max(AlsCandidates, ItemKnnCandidates)];
        // The items alone, beside the candidates: a vectorised search finds a repeat among 150 in a few steps.
        Span<int> items = stackalloc int[MaxCandidates];
        var count = 0;
        int Slot(Span<Candidate> d, Span<int> seen, int item) // spans cannot be captured: passed in
        {
            var at = seen[..count].IndexOf(item);
            if (at < 0)
            {
                at = count++;
                seen[at] = item;
                d[at] = new Candidate { Item = item, AlsRank = AlsCandidates + 1, ItemKnnRank = ItemKnnCandidates + 1, SimilarRank = SimilarCandidates + 1, PopularRank = PopularCandidates + 1 };
            }

            return at;
        }

        var n = als.Recommend(user, history, AlsCandidates, buffer);
        for (var r = 0; r < n; r++)
        {
            var at = Slot(destination, items, buffer[r].Item);
            destination[at].AlsScore = buffer[r].Score;
            destination[at].AlsRank = r + 1;
        }

        n = itemKnn.Recommend(user, history, ItemKnnCandidates, buffer);
        for (var r = 0; r < n; r++)
        {
            var at = Slot(destination, items, buffer[r].Item);
            destination[at].ItemKnnScore = buffer[r].Score;
            destination[at].ItemKnnRank = r + 1;
        }

        n = similar.Recommend(user, history, SimilarCandidates, buffer);
        for (var r = 0; r < n; r++)
        {
            var at = Slot(destination, items, buffer[r].Item);
            destination[at].SimilarScore = buffer[r].Score;
            destination[at].SimilarRank = r + 1;
        }

        n = popular.Recommend(user, history, PopularCandidates, buffer);
        for (var r = 0; r < n; r++)
        {
            destination[Slot(destination, items, buffer[r].Item)].PopularRank = r + 1;
        }

        return count;
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
        var alsSource = alsLists ?? Als;
        var itemKnnSource = itemKnnLists ?? ItemKnn;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        buffers.Reserve(users.Length);
        var (slots, counts, offsets, features) = (buffers.Slots, buffers.Counts, buffers.Offsets, buffers.Features);
        Parallel.For(0, users.Length, Cores.Options(), b =>
        {
            counts[b] = Candidates(alsSource, itemKnnSource, Similar, Popular, users[b], historyOf(users[b]), slots.AsSpan(b * MaxCandidates, MaxCandidates));
        });
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
            Features.Compute(u, vector, historyOf(u), slots.AsSpan(b * MaxCandidates, counts[b]), features.AsSpan(offsets[b] * FeatureContext.FeatureCount, counts[b] * FeatureContext.FeatureCount));
        });
        var scoringStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var scores = buffers.Scores;
        Ranker.Score(features, rows, scores);
        times?.Add(started, featuresStarted, scoringStarted, System.Diagnostics.Stopwatch.GetTimestamp(), rows);
        var results = new ScoredItem[users.Length][];
        Parallel.For(0, users.Length, Cores.Options(), b =>
        {
            var top = new TopK(k);
            var candidates = slots.AsSpan(b * MaxCandidates, counts[b]);
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
        () =>
        {
            Als.Save(dir, ids);
            Popular.Save(dir, ids);
            Ranker.Save(Path.Combine(dir, RankerFile));
            Features.Save(Path.Combine(dir, FileNames.RankerFeatures));
        },
    ];

    /// <summary>Loads the learned state, the feature counts with it: the loaded model ranks as the saved one.</summary>
    public static RankedRecommender Load(string dir, ArtifactIds ids, ItemKnnParameters itemKnn)
    {
        var als = AlsRecommender.Load(dir);
        return new RankedRecommender(als, ItemKnnModel.Load(dir, ids, itemKnn), SimilarToRecentModel.Load(dir, ids), PopularModel.Load(dir, ids),
            FeatureContext.Load(Path.Combine(dir, FileNames.RankerFeatures), als.Model), GradientBoostedRanker.Load(Path.Combine(dir, RankerFile)));
    }
}
