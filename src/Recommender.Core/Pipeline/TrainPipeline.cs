using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Pipeline;

public sealed record StageTiming(string Stage, double Seconds, long PeakWorkingSetMb);

public sealed record TrainResult(string SnapshotId, string SnapshotDir, EvaluationReport? Evaluation, IReadOnlyList<StageTiming> Timings);

/// <summary>
/// From the three raw files to a complete snapshot: prepare, split, fit the candidate generators
/// before the label window, train the ranker on it, refit on everything before the split, write
/// the seed-named files, evaluate on the test period, publish.
/// </summary>
public sealed partial class TrainPipeline(TrainOptions options, ILogger logger)
{
    private readonly List<StageTiming> _timings = [];
    private readonly Stopwatch _stage = new();
    private CancellationToken _cancellation;

    public TrainResult Run(CancellationToken cancellation = default)
    {
        _cancellation = cancellation;
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors));
        }

        var store = new SnapshotStore(options.OutRoot);
        var data = Stage("prepare: read and check", () => DataPreparation.Load(options.DataDir, logger, options.DropDuplicates,
            options.OnlineEventsPath is { } online ? Serving.OnlineEventLog.ReadAll(online).ToList() : null));
        var (id, dir) = store.Begin();
        try
        {
            var result = Build(data, id, dir);
            var final = store.Commit(id, dir);
            LogPublished(logger, id, final);
            return result with { SnapshotDir = final };
        }
        catch
        {
            SnapshotStore.Abort(dir);
            throw;
        }
    }

    private TrainResult Build(PreparedData data, string id, string dir)
    {
        var events = data.Events;
        var ids = new ArtifactIds(events.Users, data.Catalog.Items);
        Stage("prepare: reports, items.parquet, events.parquet", () => DataPreparation.Write(data, dir, logger));
        var plan = SplitPlan.Choose(events, options.SplitDate, options.AllEvents);
        LogPlan(logger, EdaReport.DateOf(plan.FirstDay), EdaReport.DateOf(plan.LabelFromDay), plan.SplitDay is { } s ? EdaReport.DateOf(s).ToString("yyyy-MM-dd") : "none (all events)");

        // Stage A, in a method of its own so that nothing of it outlives it: the once-run Build
        // method is not optimised by the JIT, and its locals would stay reachable to the end.
        var ranker = TrainRankerOnLabelWindow(events, data.Catalog, plan);
        Memory.CompactLargeObjects(); // the label-window slice and models are garbage now

        // Stage B: everything before the split (or all events) for what is served and evaluated.
        var train = options.AllEvents ? events : Stage("split: events before the split", () => events.Slice(plan.FirstDay, plan.FitEndDay));
        var (als, similar, popular, features) = FitGenerators(train, data.Catalog, plan.FitEndDay, "final");
        var ranked = new RankedRecommender(als, similar, popular, features, ranker);
        var historyUsers = Enumerable.Range(0, train.NumUsers).Where(u => train.CountOf(u) > 0).ToArray();

        var personal = Stage("als: top-k for every user", () => RecommendAll(train, historyUsers, als, options.PersonalK, _cancellation));
        Stage("write personal_als.parquet", () => personal.Save(Path.Combine(dir, FileNames.PersonalAls), ids.Users, ids.Items));
        var recommendations = Stage("ranker: recommendations for every user", () => RankAll(train, historyUsers, ranked));
        Stage("write recommendations, similar, popular, features, models", () =>
        {
            recommendations.Save(Path.Combine(dir, FileNames.Recommendations), ids.Users, ids.Items);
            ranked.Save(dir, ids);
            ids.Users.Save(Path.Combine(dir, FileNames.UserIds));
            ids.Items.Save(Path.Combine(dir, FileNames.ItemIds));
            FeatureTables.Write(dir, train, features, ids);
            UserHistory.Save(Path.Combine(dir, UserHistory.FileName), events);
        });

        EvaluationReport? evaluation = null;
        var recall = Stage("ivf: recall against exact search", () => MeasureRecall(train, historyUsers, als, similar));
        if (plan.SplitDay is { } split)
        {
            var test = events.Slice(split, plan.LastDay + 1);
            evaluation = Stage("evaluate: warm and cold users", () => Evaluate(train, test, popular, personal, similar, recommendations));
            evaluation = evaluation with { IvfRecall = recall };
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.Metrics), JsonSerializer.Serialize(evaluation, DataPreparation.Json));
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.MetricsMarkdown), evaluation.ToMarkdown());
        }
        else
        {
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.Metrics), JsonSerializer.Serialize(new { evaluated = false, reason = "--all-events: no held-out period", ivf_recall = recall }, DataPreparation.Json));
        }

        var manifest = new
        {
            snapshot_id = id,
            created_utc = DateTime.UtcNow,
            inputs = new[] { FileNames.Tracks, FileNames.Catalog, FileNames.Interactions }.Select(f => new { file = Path.GetFullPath(Path.Combine(options.DataDir, f)), bytes = new FileInfo(Path.Combine(options.DataDir, f)).Length }),
            events = events.NumEvents,
            users = events.NumUsers,
            items = events.NumItems,
            split = new
            {
                first_day = EdaReport.DateOf(plan.FirstDay),
                label_window_start = EdaReport.DateOf(plan.LabelFromDay),
                split_day = plan.SplitDay is { } sd ? EdaReport.DateOf(sd).ToString("yyyy-MM-dd") : null,
                last_day = EdaReport.DateOf(plan.LastDay),
                all_events = options.AllEvents,
            },
            parameters = new { options.Als, options.Ranker, options.PopularWindowDays, options.PersonalK, options.RecommendationsK, options.SimilarK, options.MaxRankerUsers },
            ranker_features = FeatureContext.FeatureNames,
            timings = _timings,
            files = SnapshotIntegrity.Describe(dir), // last: every file is written
        };
        AtomicFile.WriteAllText(Path.Combine(dir, FileNames.Manifest), JsonSerializer.Serialize(manifest, DataPreparation.Json));
        return new TrainResult(id, dir, evaluation, _timings);
    }

    /// <summary>Stage A: generators fitted before the label window; the ranker learns from the window.</summary>
    private GradientBoostedRanker TrainRankerOnLabelWindow(EventLog events, TrackCatalog catalog, SplitPlan plan)
    {
        var history = Stage("split: events before the label window", () => events.Slice(plan.FirstDay, plan.LabelFromDay));
        var labels = events.Slice(plan.LabelFromDay, plan.FitEndDay);
        var users = SampleRankerUsers(history, labels);

        // The ranker's users need ALS neighbours of their recent tracks only, not of all tracks.
        var recentItems = SimilarToRecentModel.RecentItems(history, users);
        var (als, similar, popular, features) = FitGenerators(history, catalog, plan.LabelFromDay, "label-window", recentItems);
        return Stage("ranker: candidates, features, LambdaRank", () => TrainRanker(history, labels, users, als, similar, popular, features));
    }

    private (AlsRecommender Als, SimilarToRecentModel Similar, PopularModel Popular, FeatureContext Features) FitGenerators(EventLog train, TrackCatalog catalog, int cutoff, string name, int[]? similarQueryItems = null)
    {
        var als = Stage($"als ({name}): fit", () => AlsRecommender.Fit(train, options.Als, it => LogIteration(logger, name, it.Iteration, it.Loss, it.Seconds), _cancellation));
        Memory.CompactLargeObjects(); // the interaction matrix (two CSR copies) is garbage now
        var scope = similarQueryItems is null ? string.Empty : " of the ranker users' recent tracks";
        var similar = Stage($"similar ({name}): ALS cosine{scope} + sequential neighbours", () => SimilarToRecentModel.Fit(train, als.Model, options.SimilarK, similarQueryItems, _cancellation));
        var popular = Stage($"popular ({name})", () => PopularModel.Fit(train, cutoff - options.PopularWindowDays, cutoff));
        var features = Stage($"features ({name})", () => new FeatureContext(train, catalog, cutoff, als.Model, options.PopularWindowDays));
        return (als, similar, popular, features);
    }

    /// <summary>Users with a history before the window and listens in it: a seeded sample of them, ascending.</summary>
    private int[] SampleRankerUsers(EventLog history, EventLog labels)
    {
        var eligible = Enumerable.Range(0, history.NumUsers).Where(u => labels.CountOf(u) > 0).ToArray();
        var rng = new Rng(options.Als.Seed + 7);
        for (var i = eligible.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (eligible[i], eligible[j]) = (eligible[j], eligible[i]);
        }

        return eligible.Take(options.MaxRankerUsers).Order().ToArray();
    }

    private GradientBoostedRanker TrainRanker(EventLog history, EventLog labels, int[] users, AlsRecommender als, SimilarToRecentModel similar, PopularModel popular, FeatureContext features)
    {
        var perUser = new (float[] Features, float[] Labels)?[users.Length];
        Parallel.For(0, users.Length, b =>
        {
            var u = users[b];
            var candidates = new Candidate[RankedRecommender.MaxCandidates];
            var n = RankedRecommender.Candidates(als, similar, popular, u, history.ItemsOf(u), candidates);
            var truth = labels.ItemsOf(u).ToArray();
            Array.Sort(truth);
            var y = new float[n];
            var positives = 0;
            for (var c = 0; c < n; c++)
            {
                y[c] = truth.AsSpan().BinarySearch(candidates[c].Item) >= 0 ? 1 : 0;
                positives += (int)y[c];
            }

            if (positives == 0 || positives == n)
            {
                return; // a group with one label value teaches LambdaRank nothing
            }

            var x = new float[n * FeatureContext.FeatureCount];
            features.Compute(u, als.Model.UserVector(u), history.ItemsOf(u), candidates.AsSpan(0, n), x);
            perUser[b] = (x, y);
        });

        var rows = perUser.Sum(p => p?.Labels.Length ?? 0);
        var allFeatures = new float[rows * FeatureContext.FeatureCount];
        var allLabels = new float[rows];
        var groups = new uint[rows];
        var at = 0;
        for (var b = 0; b < users.Length; b++)
        {
            if (perUser[b] is not { } p)
            {
                continue;
            }

            p.Features.CopyTo(allFeatures, at * FeatureContext.FeatureCount);
            p.Labels.CopyTo(allLabels, at);
            groups.AsSpan(at, p.Labels.Length).Fill((uint)users[b]);
            at += p.Labels.Length;
        }

        LogRankerData(logger, perUser.Count(p => p is not null), rows, (long)allLabels.Sum());
        if (rows == 0)
        {
            throw new InvalidOperationException("no user has a listen in the label window among its candidates: the ranker has nothing to learn from (is the data too small?)");
        }

        return GradientBoostedRanker.Fit(allFeatures, allLabels, groups, options.Ranker);
    }

    private static RecommendationTable RecommendAll(EventLog train, int[] users, IRecommenderModel model, int k, CancellationToken cancellation)
    {
        var table = new ScoredListsBuilder(train.NumUsers, users, k);
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, users.Length, 1024), new ParallelOptions { CancellationToken = cancellation }, range =>
        {
            var buffer = new ScoredItem[k];
            for (var b = range.Item1; b < range.Item2; b++)
            {
                var u = users[b];
                var n = model.Recommend(u, train.ItemsOf(u), k, buffer);
                table.Set(b, buffer.AsSpan(0, n));
            }
        });
        return new RecommendationTable(table);
    }

    private RecommendationTable RankAll(EventLog train, int[] users, RankedRecommender ranked)
    {
        var table = new ScoredListsBuilder(train.NumUsers, users, options.RecommendationsK);
        const int Batch = 4096;
        for (var start = 0; start < users.Length; start += Batch)
        {
            _cancellation.ThrowIfCancellationRequested();
            var batch = users.AsSpan(start, Math.Min(Batch, users.Length - start)).ToArray();
            var results = ranked.RecommendBatch(batch, batch.Select(u => train.ItemsOf(u).ToArray()).ToArray(), options.RecommendationsK);
            for (var b = 0; b < batch.Length; b++)
            {
                table.Set(start + b, results[b]);
            }

            if ((start / Batch) % 50 == 0)
            {
                LogRankProgress(logger, Math.Min(users.Length, start + Batch), users.Length);
            }
        }

        return new RecommendationTable(table);
    }

    private IvfRecall MeasureRecall(EventLog train, int[] users, AlsRecommender als, SimilarToRecentModel similar)
    {
        if (als.Index.IsExact)
        {
            return new IvfRecall(true, 1, 1, 0);
        }

        const int K = 10;
        var rng = new Rng(options.Als.Seed + 11);
        var sample = Enumerable.Range(0, Math.Min(options.RecallSampleUsers, users.Length)).Select(_ => users[rng.Next(users.Length)]).Distinct().ToArray();
        var exact = new AlsRecommender(als.Model, lists: 1);
        double userHits = 0;
        foreach (var u in sample)
        {
            var a = new ScoredItem[K];
            var b = new ScoredItem[K];
            var na = als.Recommend(u, train.ItemsOf(u), K, a);
            var nb = exact.Recommend(u, train.ItemsOf(u), K, b);
            userHits += a[..na].Select(s => s.Item).Intersect(b[..nb].Select(s => s.Item)).Count() / (double)Math.Max(1, nb);
        }

        // Similar items: the served table against an exact cosine scan, for sampled items only.
        var f = als.Model.Factors;
        var normalized = DenseKernels.NormalizeRows(als.Model.ItemFactors, f);
        var exactIndex = IvfIndex.Build(normalized, f, 1, 0);
        var items = Enumerable.Range(0, sample.Length).Select(_ => rng.Next(als.Model.Items)).Distinct().ToArray();
        double itemHits = 0;
        var top = new TopK(K + 1);
        var buffer = new ScoredItem[K + 1];
        foreach (var i in items)
        {
            top.Clear();
            exactIndex.Search(normalized.AsSpan(i * f, f), 1, top, [], new float[1]);
            var n = top.Drain(buffer);
            var truth = buffer[..n].Select(s => s.Item).Where(j => j != i).Take(K).ToArray();
            var served = similar.Similar.NeighborsOf(i);
            itemHits += served[..Math.Min(K, served.Length)].ToArray().Intersect(truth).Count() / (double)Math.Max(1, truth.Length);
        }

        return new IvfRecall(false, userHits / Math.Max(1, sample.Length), itemHits / Math.Max(1, items.Length), sample.Length);
    }

    private static EvaluationReport Evaluate(EventLog train, EventLog test, PopularModel popular, RecommendationTable personal, SimilarToRecentModel similar, RecommendationTable ranked)
    {
        var listeners = train.ItemUserCounts();
        var trainUsers = Enumerable.Range(0, train.NumUsers).Count(u => train.CountOf(u) > 0);
        int[] ks = [5, 10];
        string[] sources = ["popular", "als", "similar", "ranked"];
        var warm = sources.ToDictionary(s => s, _ => ks.Select(k => new MetricsAccumulator(k, listeners, trainUsers)).ToArray());
        var cold = sources.ToDictionary(s => s, _ => ks.Select(k => new MetricsAccumulator(k, listeners, trainUsers)).ToArray());
        int warmUsers = 0, coldUsers = 0;
        var popularList = new ScoredItem[10];
        var similarList = new ScoredItem[10];
        for (var u = 0; u < test.NumUsers; u++)
        {
            if (test.CountOf(u) == 0)
            {
                continue;
            }

            var truth = test.ItemsOf(u).ToArray();
            Array.Sort(truth);
            var history = train.ItemsOf(u);
            var np = popular.Recommend(u, history, 10, popularList);
            var pop = popularList[..np].Select(s => s.Item).ToArray();
            if (history.Length == 0)
            {
                // Cold: nothing personal exists; every source serves popular.
                coldUsers++;
                foreach (var source in sources)
                {
                    foreach (var acc in cold[source])
                    {
                        acc.Add(pop, truth);
                    }
                }

                continue;
            }

            warmUsers++;
            var ns = similar.Recommend(u, history, 10, similarList);
            var lists = new Dictionary<string, int[]>
            {
                ["popular"] = pop,
                ["als"] = personal.ItemsOf(u).ToArray(),
                ["similar"] = similarList[..ns].Select(s => s.Item).ToArray(),
                ["ranked"] = ranked.ItemsOf(u).ToArray(),
            };
            foreach (var source in sources)
            {
                foreach (var acc in warm[source])
                {
                    acc.Add(lists[source], truth);
                }
            }
        }

        return new EvaluationReport(
            warmUsers,
            coldUsers,
            warm.ToDictionary(kv => kv.Key, kv => kv.Value.Select(a => a.Result()).ToArray()),
            cold.ToDictionary(kv => kv.Key, kv => kv.Value.Select(a => a.Result()).ToArray()),
            null);
    }

    private T Stage<T>(string name, Func<T> work)
    {
        _cancellation.ThrowIfCancellationRequested();
        LogStageStart(logger, name);
        _stage.Restart();
        var result = work();
        Record(name);
        return result;
    }

    private void Stage(string name, Action work) => Stage(name, () =>
    {
        work();
        return 0;
    });

    private void Record(string name)
    {
        using var process = Process.GetCurrentProcess();
        var timing = new StageTiming(name, Math.Round(_stage.Elapsed.TotalSeconds, 2), process.PeakWorkingSet64 / (1024 * 1024));
        _timings.Add(timing);
        LogStageEnd(logger, name, timing.Seconds, timing.PeakWorkingSetMb);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "train: {Stage} ...")]
    private static partial void LogStageStart(ILogger logger, string stage);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: {Stage} done in {Seconds:F1} s (peak working set {PeakMb} MB)")]
    private static partial void LogStageEnd(ILogger logger, string stage, double seconds, long peakMb);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: data from {First}, ranker labels from {LabelFrom}, split {Split}")]
    private static partial void LogPlan(ILogger logger, DateOnly first, DateOnly labelFrom, string split);

    [LoggerMessage(Level = LogLevel.Information, Message = "als ({Name}): iteration {Iteration}, loss {Loss:E4}, {Seconds:F1} s")]
    private static partial void LogIteration(ILogger logger, string name, int iteration, double loss, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "ranker: {Users} users, {Rows} rows, {Positives} positives")]
    private static partial void LogRankerData(ILogger logger, int users, int rows, long positives);

    [LoggerMessage(Level = LogLevel.Information, Message = "ranker: scored {Done}/{Total} users")]
    private static partial void LogRankProgress(ILogger logger, int done, int total);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: snapshot {Id} published at {Dir}")]
    private static partial void LogPublished(ILogger logger, string id, string dir);
}
