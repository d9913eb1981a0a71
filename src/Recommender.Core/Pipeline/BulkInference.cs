using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Diagnostics;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Pipeline;

/// <summary>Lists for many users at once, spread over the cores: the tables the snapshot and the evaluation are made of.</summary>
public static partial class BulkInference
{
    /// <summary>Top-k of <paramref name="model"/> for every user of <paramref name="users"/> (ALS in IVF locality order), as one packed table.</summary>
    /// <param name="recycled">a table nothing reads any more whose arrays the new one takes over (<see cref="ScoredListsBuilder"/>).</param>
    public static RecommendationTable RecommendAll(EventLog train, int[] users, IRecommenderModel model, int k, CancellationToken cancellation, StageProgress? progress = null, RecommendationTable? recycled = null)
    {
        var table = new ScoredListsBuilder(train.NumUsers, users, k, recycled);
        if (model is AlsRecommender als)
        {
            als.RecommendAll(users, train, k, table.Set, cancellation, progress);
            return new RecommendationTable(table);
        }

        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, users.Length, 1024), Cores.Options(cancellation), range =>
        {
            var buffer = new ScoredItem[k];
            for (var b = range.Item1; b < range.Item2; b++)
            {
                var u = users[b];
                var n = model.Recommend(u, train.ItemsOf(u), k, buffer);
                table.Set(b, buffer.AsSpan(0, n));
            }

            progress?.Add(range.Item2 - range.Item1);
        });
        return new RecommendationTable(table);
    }

    /// <summary>The ranked list for every user of <paramref name="users"/>, in batches (the ranker scores a batch at once).</summary>
    /// <param name="itemKnnLists">item-kNN lists computed earlier for some of the users (the rest are summed); null sums them all.</param>
    /// <param name="buffers">the ranker's buffers, reused from call to call (null: a fresh set).</param>
    public static RecommendationTable RankAll(EventLog train, int[] users, RankedRecommender ranked, PrecomputedLists alsLists, int k, ILogger logger, CancellationToken cancellation, PrecomputedLists? itemKnnLists = null, RankingBuffers? buffers = null)
    {
        var times = new RankingPhaseTimes();
        var table = Rank(train, users, ranked, alsLists, k, cancellation, itemKnnLists, new StageProgress(logger, "ranking every user", users.Length), times, buffers ?? new RankingBuffers());
        LogRankingPhases(logger, users.Length, times);
        return table;
    }

    /// <summary><see cref="RankAll"/> for one block of a longer run: progress and phase times add up over the blocks.</summary>
    internal static RecommendationTable Rank(EventLog train, int[] users, RankedRecommender ranked, PrecomputedLists alsLists, int k, CancellationToken cancellation, PrecomputedLists? itemKnnLists, StageProgress? progress, RankingPhaseTimes times, RankingBuffers buffers, RecommendationTable? recycled = null)
    {
        var table = new ScoredListsBuilder(train.NumUsers, users, k, recycled);
        const int Batch = RankedRecommender.BatchUsers;
        for (var start = 0; start < users.Length; start += Batch)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = users.AsSpan(start, Math.Min(Batch, users.Length - start)).ToArray();
            var results = ranked.RecommendBatch(batch, train.ItemsOf, k, buffers, alsLists, times, itemKnnLists);
            for (var b = 0; b < batch.Length; b++)
            {
                table.Set(start + b, results[b]);
            }

            progress?.Add(batch.Length);
        }

        return new RecommendationTable(table);
    }

    /// <summary>Where ranking's time went: candidates (with each generator's thread time), features, scoring.</summary>
    internal static void LogRankingPhases(ILogger logger, int users, RankingPhaseTimes times) =>
        LogRankingPhases(logger, users, times.Rows, times.Candidates.TotalSeconds, times.Features.TotalSeconds, times.Scoring.TotalSeconds,
            string.Join(", ", RankingPhaseTimes.SourceNames.Select((name, s) => $"{name} {times.Source(s).TotalSeconds:F1} s")));

    [LoggerMessage(Level = LogLevel.Information, Message = "ranking {Users:N0} users, {Rows:N0} candidates: generating them {CandidateSeconds:F1} s (thread time: {SourceSeconds}), features {FeatureSeconds:F1} s, scoring {ScoringSeconds:F1} s")]
    private static partial void LogRankingPhases(ILogger logger, int users, long rows, double candidateSeconds, double featureSeconds, double scoringSeconds, string sourceSeconds);
}
