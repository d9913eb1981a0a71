using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Pipeline;

/// <summary>
/// Settings chosen on the validation window: each candidate setting's model is fitted on the
/// events before the window and scored by NDCG@10 on the tracks the sampled users first heard in
/// it. The test period never takes part.
/// </summary>
public sealed partial class ValidationSearch(TrainOptions options, ILogger logger, CancellationToken cancellation)
{
    /// <summary>
    /// ALS with each (λ, α) of a 3 × 3 grid, scored by NDCG@10 on the validation users (the
    /// options' own settings win ties); then, unless the factors were given, the winner at half the
    /// factors (taken when at least as good) and at double (taken only when better by more than one
    /// standard error): a larger model must earn its memory and time.
    /// </summary>
    public AlsParameters Als(EventLog history, EventLog window, int[] users)
    {
        var listeners = history.ItemUserCounts();
        IReadOnlyList<double> Score(AlsParameters p)
        {
            var perUser = UserNdcgAt10(AlsRecommender.Fit(history, p with { ComputeLoss = false }, cancellation: cancellation), history, window, users, listeners);
            LogAlsChoice(logger, p.Regularization, p.Alpha, p.Factors, perUser.Average());
            return perUser;
        }

        var best = (Parameters: options.Als, Users: (IReadOnlyList<double>)[double.MinValue]);
        var grid = new[] { (options.Als.Regularization, options.Als.Alpha) }
            .Concat(from reg in new[] { 0.1f, 1f, 10f } from alpha in new[] { 1f, 10f, 40f } select (reg, alpha))
            .Distinct();
        foreach (var (reg, alpha) in grid)
        {
            var p = options.Als with { Regularization = reg, Alpha = alpha };
            var scores = Score(p);
            if (scores.Average() > best.Users.Average())
            {
                best = (p, scores);
            }
        }

        if (options.SearchAlsFactors)
        {
            var smaller = best.Parameters with { Factors = Math.Max(8, best.Parameters.Factors / 2) };
            var smallerScores = Score(smaller);
            if (smallerScores.Average() >= best.Users.Average())
            {
                best = (smaller, smallerScores);
            }
            else
            {
                var larger = best.Parameters with { Factors = best.Parameters.Factors * 2 };
                var largerScores = Score(larger);
                if (ValidationReport.ClearlyBetter(largerScores, best.Users))
                {
                    best = (larger, largerScores);
                }
            }
        }

        return best.Parameters;
    }

    /// <summary>
    /// The item-based generator's build: the co-listening cosine, RP3β with each β of
    /// TrainOptions.Rp3BetaChoices, and (when <paramref name="tryEase"/>: the catalog is small enough
    /// for EASE's dense inverse) EASE with each λ of TrainOptions.EaseLambdaChoices, scored by
    /// NDCG@10 on the validation users; the cosine wins ties, then the earlier choice.
    /// </summary>
    public ItemKnnParameters ItemBased(EventLog history, EventLog window, int[] users, bool tryEase)
    {
        var listeners = history.ItemUserCounts();
        var best = (Parameters: options.ItemKnn, Ndcg: double.MinValue);
        var choices = new[] { options.ItemKnn }
            .Concat(TrainOptions.Rp3BetaChoices.Select(b => options.ItemKnn with { Rp3Beta = b }))
            .Concat(tryEase ? TrainOptions.EaseLambdaChoices.Select(l => options.ItemKnn with { EaseLambda = l }) : []);
        foreach (var p in choices)
        {
            var ndcg = NdcgAt10(ItemKnnModel.Fit(history, p, cancellation), history, window, users, listeners);
            LogItemBasedChoice(logger, p.Method, ndcg);
            if (ndcg > best.Ndcg)
            {
                best = (p, ndcg);
            }
        }

        return best.Parameters;
    }

    /// <summary>The popular window (of the choices) whose list scores the best NDCG@10 on the validation users; the first wins ties.</summary>
    public int PopularWindow(EventLog history, EventLog window, int[] users, int cutoff)
    {
        var listeners = history.ItemUserCounts();
        var best = (Days: TrainOptions.PopularWindowChoices[0], Ndcg: double.MinValue);
        foreach (var days in TrainOptions.PopularWindowChoices)
        {
            var ndcg = NdcgAt10(PopularModel.Fit(history, cutoff - days, cutoff), history, window, users, listeners);
            LogPopularWindow(logger, days, ndcg);
            if (ndcg > best.Ndcg)
            {
                best = (days, ndcg);
            }
        }

        return best.Days;
    }

    /// <summary>The ranker settings tried (each at every count of <see cref="RankerTreeCounts"/>), in the order that breaks ties: today's defaults first, then smaller and slower learners.</summary>
    public static IReadOnlyList<RankerParameters> RankerGrid(RankerParameters defaults) =>
    [
        defaults,
        defaults with { Leaves = 3 },
        defaults with { LearningRate = defaults.LearningRate / 2, FeatureFraction = 0.6 },
    ];

    /// <summary>The boosting rounds scored for each setting: prefixes of one fit (early stopping chosen on validation).</summary>
    public static readonly int[] RankerTreeCounts = [10, 25, 50, 100];

    /// <summary>
    /// The ranker's settings chosen on validation by cross-fitting: for each setting of
    /// <see cref="RankerGrid"/>, one ranker per fold learns from the other folds' rows; every
    /// window's user is ranked (all candidates) by the fold's trees cut at each of
    /// <see cref="RankerTreeCounts"/>, and the best pooled NDCG@10 wins (the earlier setting and
    /// fewer trees win ties). The lists are those <see cref="ValidationPass.Score"/> scores.
    /// </summary>
    public (RankerParameters Best, RankerTrial[] Trials) Ranker(IReadOnlyList<LabelWindow> windows, BlendWeights blend, CandidateDepths depths, RankerGroup[] rows, int folds, Func<int, int> foldOf, ulong? shuffleLabelsSeed)
    {
        const int F = FeatureContext.FeatureCount;
        var users = windows.SelectMany(w => w.Users.Select(u => (Window: w, User: u))).ToArray();
        var items = new int[users.Length][];
        var features = new float[users.Length][];
        Parallel.For(0, users.Length, Cores.Options(cancellation), i =>
        {
            var (w, u) = users[i];
            var candidates = new Candidate[depths.Total];
            var history = w.History.ItemsOf(u);
            var n = RankedRecommender.Candidates(w.Models.Sources(blend, depths), u, history, candidates);
            items[i] = candidates[..n].Select(c => c.Item).ToArray();
            features[i] = new float[n * F];
            w.Models.Features.Compute(u, w.Models.Als.Model.UserVector(u), history, candidates.AsSpan(0, n), features[i]);
        });
        var truths = users.Select(x => ValidationPass.Truth(x.Window, x.User)).ToArray();
        var listeners = windows[0].History.ItemUserCounts();
        var historyUsers = Enumerable.Range(0, windows[0].History.NumUsers).Count(u => windows[0].History.CountOf(u) > 0);
        var best = (Parameters: options.Ranker, Ndcg: double.MinValue);
        var trials = new List<RankerTrial>();
        // Every (setting, fold) fit at once, one per core: each LightGBM fit is single-threaded (bit-for-bit repeatable).
        var grid = RankerGrid(options.Ranker);
        var fits = new TreeEnsemble[grid.Count * folds];
        Parallel.For(0, fits.Length, Cores.Options(cancellation), j =>
        {
            var (setting, f) = (grid[j / folds], j % folds);
            fits[j] = RankerTraining.Fit(rows.Where(r => foldOf(r.User) != f).ToArray(), setting with { Trees = RankerTreeCounts[^1] }, shuffleLabelsSeed).Trees;
        });
        for (var s = 0; s < grid.Count; s++)
        {
            var setting = grid[s];
            foreach (var trees in RankerTreeCounts)
            {
                var cut = fits.Skip(s * folds).Take(folds).Select(t => t.Prefix(trees)).ToArray();
                var lists = new int[users.Length][];
                Parallel.For(0, users.Length, Cores.Options(cancellation), i =>
                {
                    var scores = new float[items[i].Length];
                    cut[foldOf(users[i].User)].Score(features[i], scores);
                    var top = new TopK(10);
                    for (var c = 0; c < scores.Length; c++)
                    {
                        top.Add(items[i][c], scores[c]);
                    }

                    lists[i] = top.ToArray().Select(x => x.Item).ToArray();
                });
                var acc = new MetricsAccumulator(10, listeners, historyUsers);
                for (var i = 0; i < users.Length; i++)
                {
                    acc.Add(lists[i], truths[i]); // in user order: the same sum on any core count
                }

                var ndcg = acc.Result().Ndcg;
                LogRankerChoice(logger, setting.Leaves, setting.LearningRate, setting.FeatureFraction, trees, ndcg);
                trials.Add(new RankerTrial(setting.Leaves, setting.LearningRate, setting.FeatureFraction, trees, ndcg));
                if (ndcg > best.Ndcg)
                {
                    best = (setting with { Trees = trees }, ndcg);
                }
            }
        }

        return (best.Parameters, [.. trials]);
    }

    /// <summary>NDCG@10 of a model's lists for the users, against the tracks they first heard in the window.</summary>
    public static double NdcgAt10(IRecommenderModel model, EventLog history, EventLog window, int[] users, int[] listeners) =>
        UserNdcgAt10(model, history, window, users, listeners).Average();

    /// <summary>Each user's NDCG@10 (users with nothing to predict left out), in the order of <paramref name="users"/>.</summary>
    public static IReadOnlyList<double> UserNdcgAt10(IRecommenderModel model, EventLog history, EventLog window, int[] users, int[] listeners)
    {
        var acc = new MetricsAccumulator(10, listeners, users.Length, keepUserNdcg: true);
        var buffer = new ScoredItem[10];
        foreach (var u in users)
        {
            var n = model.Recommend(u, history.ItemsOf(u), 10, buffer);
            var truth = window.ItemsOf(u).ToArray();
            Array.Sort(truth);
            acc.Add(buffer[..n].Select(x => x.Item).ToArray(), truth);
        }

        return acc.UserNdcg.Count == 0 ? [0.0] : acc.UserNdcg;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "validation: ALS with regularization {Regularization}, alpha {Alpha}, {Factors} factors: NDCG@10 {Ndcg:F4}")]
    private static partial void LogAlsChoice(ILogger logger, float regularization, float alpha, int factors, double ndcg);

    [LoggerMessage(Level = LogLevel.Information, Message = "validation: ranker with {Leaves} leaves, learning rate {LearningRate}, feature fraction {FeatureFraction}, {Trees} trees: NDCG@10 {Ndcg:F4}")]
    private static partial void LogRankerChoice(ILogger logger, int leaves, double learningRate, double featureFraction, int trees, double ndcg);

    [LoggerMessage(Level = LogLevel.Information, Message = "validation: item-based {Method}: NDCG@10 {Ndcg:F4}")]
    private static partial void LogItemBasedChoice(ILogger logger, string method, double ndcg);

    [LoggerMessage(Level = LogLevel.Information, Message = "validation: popular over {Days} days, NDCG@10 {Ndcg:F4}")]
    private static partial void LogPopularWindow(ILogger logger, int days, double ndcg);
}
