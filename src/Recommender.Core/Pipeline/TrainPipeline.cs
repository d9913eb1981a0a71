using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Diagnostics;
using Recommender.Evaluation;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;
using Recommender.Serving;
using Recommender.Snapshots;

namespace Recommender.Pipeline;

/// <summary>
/// From the three raw files to a complete snapshot: prepare, split, hold out sampled users' latest
/// listens, fit the candidate generators on the rest, train the ranker on some of those users and
/// score every list on the others (validation), refit on everything before the split, write the
/// seed-named files with the validation winner as recommendations.parquet, evaluate on the test
/// period, publish. <paramref name="releaseMemory"/> runs where gigabytes of arrays have just
/// become garbage (the host passes a compacting collection; how the process collects is its call).
/// </summary>
public sealed partial class TrainPipeline(TrainOptions options, ILogger logger, Action? releaseMemory = null)
{
    private readonly List<StageTiming> _timings = [];
    private readonly Stopwatch _stage = new();

    // The ranker's buffers (~140 MB at 4,096 users), one set for every ranking call of the run,
    // one after another: a fresh set per call (validation folds, the replay, each block of users)
    // was large-object garbage the collector let pile up to a gigabyte between full collections.
    private readonly RankingBuffers _rankingBuffers = new();
    private readonly RunProgressFile? _progress = options.ProgressPath is { } progressPath ? new RunProgressFile(progressPath) : null;
    private CancellationToken _cancellation;

    /// <summary>Raw ↔ dense ids of the run, for factors imported by raw id.</summary>
    private ArtifactIds? _ids;

    /// <summary>Track names and all-time popularity for the seed's top_popular columns (the final fit only).</summary>
    private ItemDescriptions? _descriptions;

    /// <summary>The name of the fit whose models are served (the others are validation and label windows).</summary>
    private const string FinalFit = "final";

    public TrainResult Run(CancellationToken cancellation = default)
    {
        _cancellation = cancellation;
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors));
        }

        var store = new SnapshotStore(options.OutRoot);
        // Read (and refused if bad) before a snapshot folder exists. Handed over in a box that the
        // split empties: the whole event log (2.7 GB at full size) is garbage once it is split.
        var input = ReadInput();
        var (id, dir) = store.Begin();
        try
        {
            var result = Build(input, id, dir);
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

    /// <summary>
    /// The read input in a box. A method of its own, never inlined: read in Run's body, the JIT kept
    /// the read log in a temporary of Run's frame for the whole run, beside the box the split empties
    /// (its track_seq array, 4 bytes per event, stayed reachable to the end: a heap dump's gcroot).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private StrongBox<PreparedData?> ReadInput() =>
        new(Stage("prepare: read and check", () => DataPreparation.Load(options.DataDir, logger, options.DropDuplicates,
            options.OnlineEventsPath is { } online ? Serving.OnlineEventLog.ReadAll(online).ToList() : null, options.TrainWindowDays, releaseMemory)));

    /// <summary>The input once split: what the stages after the split need of it.</summary>
    private sealed record SplitInput(TrackCatalog Catalog, ArtifactIds Ids, SplitPlan Plan, EventLog Train, EventLog? Test, long Events, int Users, int Items);

    /// <summary>
    /// Writes the reports, items.parquet, events.parquet and user_history.bin (every event), then
    /// splits. In a method of its own, taking the input out of its box: when it returns, only the
    /// fit events and the test period are reachable, not the whole log beside them.
    /// </summary>
    private SplitInput PrepareAndSplit(StrongBox<PreparedData?> input, string dir)
    {
        var data = input.Value ?? throw new InvalidOperationException("the prepared input was already split");
        input.Value = null;
        var events = data.Events;
        var ids = new ArtifactIds(events.Users, data.Catalog.Items);
        _descriptions = new ItemDescriptions(data.Catalog, data.NumUsersNorm);
        Stage("prepare: reports, items.parquet, events.parquet", () => DataPreparation.Write(data, dir, logger));
        releaseMemory?.Invoke(); // the read's user column and the writes' row-group buffers
        Stage("write user_history.bin, listen_days.bin", () => Cores.SideBySide(
        [
            () => UserHistory.Save(Path.Combine(dir, UserHistory.FileName), events),
            () => UserHistory.SaveDays(Path.Combine(dir, UserHistory.DaysFileName), events),
        ]));
        var plan = SplitPlan.Choose(events, options.SplitDate, options.AllEvents);
        LogPlan(logger, EdaReport.DateOf(plan.FirstDay), plan.SplitDay is { } s ? EdaReport.DateOf(s).ToString("yyyy-MM-dd") : "none (all events)",
            events.IsDayOrdered ? "views on the log (every user's listens run in day order)" : "copies (some user's listens are out of day order)");
        var train = options.AllEvents ? events.WithoutSeqs() : Stage("split: events before the split", () => events.Slice(plan.FirstDay, plan.FitEndDay));
        var test = plan.SplitDay is { } split ? Stage("split: events of the test period", () => events.Slice(split, plan.LastDay + 1)) : null;
        return new SplitInput(data.Catalog, ids, plan, train, test, events.NumEvents, events.NumUsers, events.NumItems);
    }

    private TrainResult Build(StrongBox<PreparedData?> input, string id, string dir)
    {
        var split = PrepareAndSplit(input, dir);
        var (catalog, ids, plan, train, test) = (split.Catalog, split.Ids, split.Plan, split.Train, split.Test);
        _ids = ids;

        // Stage A, in a method of its own so that nothing of it outlives it: the once-run Build
        // method is not optimised by the JIT, and its locals would stay reachable to the end.
        var stageA = TrainRankerAndValidate(train, catalog);
        var (ranker, validation, chosen) = (stageA.Ranker, stageA.Validation, stageA.Chosen);
        var servedList = validation.ServedList;
        releaseMemory?.Invoke(); // stage A's event copies and models are garbage now
        LogServed(logger, validation.Served, validation.NdcgAt10(validation.Served), validation.BestSingle, validation.NdcgAt10(validation.BestSingle));

        // Stage B: everything before the split (or all events) for what is served and evaluated,
        // with stage A's settings; the ALS fit continues from stage A's (taking its arrays over).
        var generators = FitGenerators(train, catalog, plan.FitEndDay, FinalFit, chosen, stageA.TakeWarmStart());
        var (als, itemKnn, similar, popular, features, genre) = generators;
        var ranked = new RankedRecommender(generators, validation.Blend, chosen.Depths, ranker);
        var historyUsers = Enumerable.Range(0, train.NumUsers).Where(u => train.CountOf(u) > 0).ToArray();

        // The evaluation's item-kNN lists, before the served list: ranking every user then reads
        // them for the sampled users instead of summing them a second time (the same lists).
        var evaluationSample = test is null ? null : Stage("evaluate: item-knn lists of the warm sample", () => EvaluationSample(train, test, itemKnn, ItemKnnListDepth(chosen.Depths)));
        var itemKnnLists = evaluationSample is { } sample ? new PrecomputedLists(sample.ItemKnn, ItemKnnListDepth(chosen.Depths), itemKnn) : null;

        // Every user's lists go to their files a block at a time; only the evaluated users' stay.
        int[] evaluated = test is null ? [] : [.. evaluationSample!.Users.Union(ReplayReport.SampleUsers(test, options.ReplayOnlineListens, options.ReplayMaxUsers, TestReplaySeed)).Where(u => train.CountOf(u) > 0).Order()];
        var (personal, served) = Stage($"als top-k and served list ({validation.Served}) for every user, written {options.UserListBlock:N0} users at a time",
            () => WriteUserLists(dir, ids, servedList, train, historyUsers, ranked, genre, validation.Blend, itemKnnLists, evaluated));
        releaseMemory?.Invoke(); // ranking's per-block lists and the items' feature rows it read
        // The files side by side, one per core: parquet encodes a file on one thread.
        Stage("write similar, popular, features, models", () => Cores.SideBySide(
        [
            .. ranked.SaveParts(dir, ids),
            () =>
            {
                ids.Users.Save(Path.Combine(dir, FileNames.UserIds));
                ids.Items.Save(Path.Combine(dir, FileNames.ItemIds));
                FeatureTables.Write(dir, train, features, ids);
            },
        ]));
        releaseMemory?.Invoke(); // the writes' column buffers

        EvaluationReport? evaluation = null;
        ReplayReport? replay = null;
        var recall = Stage("ivf: recall against exact search", () => IvfRecallCheck.Measure(train, historyUsers, als, similar, options.RecallSampleUsers, options.Als.Seed));
        if (test is not null)
        {
            evaluation = Stage("evaluate: warm and cold users", () => Evaluate(train, test, evaluationSample!, popular, personal, itemKnn, similar, genre, ranked, served, validation)) with { IvfRecall = recall };
            var sources = new BlendSources(served, similar, als, DenseKernels.Gram(als.Model.ItemFactors, als.Model.Factors, als.Model.Parameters.Regularization), popular, split.Items);
            replay = Stage("evaluate: replay of the serving blend", () => ReplayReport.Run(train, test, sources, options.ReplayOnlineListens, options.ReplayMaxUsers, TestReplaySeed, _cancellation));
        }

        WriteMetrics(dir, validation, stageA.RankerReport, stageA.CandidateRecall, stageA.Replay, replay, evaluation, recall);
        Manifest(id, dir, split, validation, chosen, stageA.Replay, evaluation).Write(dir); // last: it lists every file written before it
        return new TrainResult(id, dir, evaluation, validation, _timings);
    }

    /// <summary>The seed of the test period's replay sample (<see cref="ReplayReport.SampleUsers"/>).</summary>
    private ulong TestReplaySeed => options.Als.Seed + 11;

    /// <summary>
    /// The ALS top-k (personal_als.parquet) and the served list (recommendations.parquet) of every
    /// user with history, <see cref="TrainOptions.UserListBlock"/> users at a time, each block written as it is
    /// done: neither table is ever held whole (1.6 GB at full size). The lists of
    /// <paramref name="evaluated"/> (ascending) are kept and returned for the evaluation.
    /// </summary>
    private (RecommendationTable Personal, RecommendationTable Served) WriteUserLists(string dir, ArtifactIds ids, CandidateList servedList, EventLog train, int[] historyUsers, RankedRecommender ranked, GenreProfileModel genre, BlendWeights blendWeights, PrecomputedLists? itemKnnLists, int[] evaluated)
    {
        var keptPersonal = new ScoredListsBuilder(train.NumUsers, evaluated, options.PersonalK);
        var keptServed = new ScoredListsBuilder(train.NumUsers, evaluated, options.RecommendationsK);
        using var personalFile = RecommendationTable.Writer(Path.Combine(dir, FileNames.PersonalAls), ids.Users, ids.Items);
        using var servedFile = RecommendationTable.Writer(Path.Combine(dir, FileNames.Recommendations), ids.Users, ids.Items);
        var progress = new StageProgress(logger, "lists for every user", historyUsers.Length, observer: _progress is null ? null : _progress.Units);
        var times = new RankingPhaseTimes();
        var (alsTime, servedTime, writeTime) = (new Stopwatch(), new Stopwatch(), new Stopwatch());
        var kept = 0;
        RecommendationTable? personal = null, served = null;
        for (var start = 0; start < historyUsers.Length; start += options.UserListBlock)
        {
            var block = historyUsers[start..Math.Min(historyUsers.Length, start + options.UserListBlock)];
            alsTime.Start();
            // Each block takes over the arrays of the block before it, written and read no more.
            personal = BulkInference.RecommendAll(train, block, ranked.Als, options.PersonalK, _cancellation, recycled: personal);
            alsTime.Stop();

            // The ranked and blended lists read ALS from the block's top-k: its prefixes are the same searches' results.
            servedTime.Start();
            var alsLists = new PrecomputedLists(personal, options.PersonalK, ranked.Als);
            served = servedList == CandidateList.Ranked
                ? BulkInference.Rank(train, block, ranked, alsLists, options.RecommendationsK, _cancellation, itemKnnLists, null, times, _rankingBuffers, recycled: served)
                : ServedTable(servedList, train, block, ranked, alsLists, FusionRecommender.Blend(alsLists, (IRecommenderModel?)itemKnnLists ?? ranked.ItemKnn, genre, blendWeights), genre, served);
            servedTime.Stop();

            writeTime.Start();
            personalFile.Append(personal, block);
            servedFile.Append(served, block);
            writeTime.Stop();
            for (; kept < evaluated.Length && evaluated[kept] <= block[^1]; kept++)
            {
                keptPersonal.Set(kept, personal, evaluated[kept]);
                keptServed.Set(kept, served, evaluated[kept]);
            }

            progress.Add(block.Length);
        }

        writeTime.Start();
        personalFile.Commit();
        servedFile.Commit();
        writeTime.Stop();
        LogUserLists(logger, historyUsers.Length, alsTime.Elapsed.TotalSeconds, servedTime.Elapsed.TotalSeconds, writeTime.Elapsed.TotalSeconds);
        if (servedList == CandidateList.Ranked)
        {
            BulkInference.LogRankingPhases(logger, historyUsers.Length, times);
        }

        return (new RecommendationTable(keptPersonal), new RecommendationTable(keptServed));
    }

    /// <summary>The list validation chose (not the ranked one), for <paramref name="users"/>; the blend reads ALS from the block's top-k table.</summary>
#pragma warning disable CS8524 // unnamed enum values: every named list has its arm, so adding a list without one fails the build (CS8509)
    private RecommendationTable ServedTable(CandidateList served, EventLog train, int[] users, RankedRecommender ranked, PrecomputedLists alsLists, IRecommenderModel blend, GenreProfileModel genre, RecommendationTable? recycled) => served switch
    {
        CandidateList.Ranked => throw new UnreachableException("ranked lists are ranked in WriteUserLists, with their phase times"),
        CandidateList.Als => BulkInference.RecommendAll(train, users, ranked.Als, options.RecommendationsK, _cancellation, recycled: recycled),
        CandidateList.ItemKnn => BulkInference.RecommendAll(train, users, ranked.ItemKnn, options.RecommendationsK, _cancellation, recycled: recycled),
        CandidateList.Similar => BulkInference.RecommendAll(train, users, ranked.Similar, options.RecommendationsK, _cancellation, recycled: recycled),
        CandidateList.Genre => BulkInference.RecommendAll(train, users, genre, options.RecommendationsK, _cancellation, recycled: recycled),
        CandidateList.Blend => BulkInference.RecommendAll(train, users, blend, options.RecommendationsK, _cancellation, recycled: recycled),
        CandidateList.Popular => BulkInference.RecommendAll(train, users, ranked.Popular, options.RecommendationsK, _cancellation, recycled: recycled),
    };
#pragma warning restore CS8524

    /// <param name="validationReplay">where the online strategies were chosen.</param>
    /// <param name="replay">the same replay on the test period: an evaluation, reported beside it.</param>
    private static void WriteMetrics(string dir, ValidationReport validation, RankerReport ranker, CandidateRecallReport candidateRecall, ReplayReport validationReplay, ReplayReport? replay, EvaluationReport? evaluation, IvfRecall recall)
    {
        if (evaluation is not null && replay is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.Metrics), JsonSerializer.Serialize(new { served = validation.Served, validation, ranker, candidate_recall = candidateRecall, validation_replay = validationReplay, replay, test = evaluation }, DataPreparation.Json));
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.MetricsMarkdown), validation.ToMarkdown() + ranker.ToMarkdown() + candidateRecall.ToMarkdown() + validationReplay.ToMarkdown() + replay.ToMarkdown() + evaluation.ToMarkdown());
        }
        else
        {
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.Metrics), JsonSerializer.Serialize(new { served = validation.Served, validation, ranker, candidate_recall = candidateRecall, validation_replay = validationReplay, test = (object?)null, reason = "--all-events: no held-out period", ivf_recall = recall }, DataPreparation.Json));
            AtomicFile.WriteAllText(Path.Combine(dir, FileNames.MetricsMarkdown), validation.ToMarkdown() + ranker.ToMarkdown() + candidateRecall.ToMarkdown() + validationReplay.ToMarkdown());
        }
    }

    /// <summary>The manifest of a finished snapshot: what was trained on, with which settings, what is served, every file's checksum.</summary>
    private SnapshotManifest Manifest(string id, string dir, SplitInput input, ValidationReport validation, ChosenSettings chosen, ReplayReport stageReplay, EvaluationReport? evaluation) => new()
    {
        SnapshotId = id,
        CreatedUtc = DateTime.UtcNow,
        Inputs = [.. new[] { FileNames.Tracks, FileNames.Catalog, FileNames.Interactions }.Select(f => new SnapshotInput(Path.GetFullPath(Path.Combine(options.DataDir, f)), new FileInfo(Path.Combine(options.DataDir, f)).Length))],
        Events = input.Events,
        Users = input.Users,
        Items = input.Items,
        Split = new SnapshotSplit(
            EdaReport.DateOf(input.Plan.FirstDay),
            input.Plan.SplitDay is { } sd ? EdaReport.DateOf(sd) : null,
            EdaReport.DateOf(input.Plan.LastDay),
            options.AllEvents,
            $"the days holding the last {options.ValidationFraction:P0} of the fit events, models fitted before them; the ranker cross-fitted on its users in five folds"),
        ServedList = validation.Served,
        Blend = new SnapshotBlend(stageReplay.BestWarm.ToString(), stageReplay.BestCold.ToString(), "replay of the validation window (metrics.md); the test period's replay is reported beside it, not used"),
        ValidationNdcgAt10 = ValidationReport.Candidates.Where(validation.Sources.ContainsKey).ToDictionary(c => c, validation.NdcgAt10),
        TestServedNdcgAt10 = evaluation?.WarmAt("served", 10).Ndcg,
        Parameters = JsonSerializer.SerializeToNode(new { chosen.Als, options.AlsWarmIterations, chosen.ItemKnn, ItemBased = chosen.ItemKnn.Method, options.Genre, Blend = validation.Blend, Ranker = chosen.Ranker ?? options.Ranker, CandidateDepths = chosen.Depths, PopularWindowDays = chosen.PopularDays, options.PersonalK, options.RecommendationsK, options.SimilarK, options.MaxRankerUsers, options.ValidationFraction }, DataPreparation.Json)!.AsObject(),
        RankerFeatures = FeatureContext.FeatureNames,
        Timings = [.. _timings.Select(t => new SnapshotTiming(t.Stage, t.Seconds, t.PeakWorkingSetMb))],
        Files = SnapshotIntegrity.Describe(dir), // last: every file is written
    };

    /// <summary>
    /// Stage A: generators fitted before the validation window; labels are the tracks users first
    /// heard in it, as the test period's are after the split. The ranker is cross-fitted: each fold
    /// of the window's users is ranked by a ranker trained on the other folds, so every list is
    /// scored on users no model learned from; the ranker that is kept learns from all of them.
    /// </summary>
    private StageAResult TrainRankerAndValidate(EventLog train, TrackCatalog catalog)
    {
        var (first, last) = train.DayRange();
        var windowStart = Math.Clamp(SplitPlan.QuantileDay(train, first, last + 1, 1 - options.ValidationFraction), first + 1, last);
        var window = Stage("validation window: events", () => train.Slice(windowStart, last + 1));
        var history = Stage("validation window: events before it", () => train.Slice(first, windowStart));
        var users = SampleUsers(history, window);
        var search = new ValidationSearch(options, logger, _cancellation);
        LogSample(logger, EdaReport.DateOf(windowStart), users.Length);
        var popularDays = options.PopularWindowDays ?? Stage("popular: window chosen on validation", () => search.PopularWindow(history, window, users, windowStart));
        var als = options.SearchAls && history.NumEvents <= options.AlsSearchMaxEvents
            ? Stage("als: regularisation and alpha chosen on validation", () => search.Als(history, window, users))
            : options.Als;

        // Like ALS's grid, only where more fits are cheap; EASE only where its dense inverse fits.
        var itemKnn = options.ItemKnn;
        if (options.SearchItemBased && options.ItemKnn.EaseLambda is null && options.ItemKnn.Rp3Beta is null && history.NumEvents <= options.AlsSearchMaxEvents)
        {
            var tryEase = history.ItemUserCounts().Count(c => c > 0) <= options.ItemKnn.EaseMaxItems;
            itemKnn = Stage("item-based: cosine, RP3beta or EASE chosen on validation", () => search.ItemBased(history, window, users, tryEase));
        }

        var chosen = new ChosenSettings(popularDays, als, itemKnn);

        // The sampled users need ALS neighbours of their recent tracks only, not of all tracks; so do
        // the replay's users, and of their first listens in the window too (its online events).
        var replayUsers = ReplayUsers(window);
        var recentItems = SimilarToRecentModel.RecentItems(history, users)
            .Concat(SimilarToRecentModel.RecentItems(history, replayUsers))
            .Concat(replayUsers.SelectMany(u => window.ItemsOf(u)[..options.ReplayOnlineListens].ToArray()))
            .Distinct().Order().ToArray();
        var latest = new LabelWindow(0, history, window, users, FitGenerators(history, catalog, windowStart, "validation", chosen, null, recentItems));
        List<LabelWindow> windows = [latest, .. EarlierWindows(train, catalog, users.Length, chosen)];

        // The blend's weights first: its fused score is one of the ranker's features.
        var blend = Stage($"validation: the blend's weights on {windows.Count} window(s)", () => ValidationPass.ChooseBlend(windows, Folds, FoldOf));
        // Then how deep the ranker reads each generator: the union reaching the most validation positives within the budget.
        var recall = Stage("validation: candidate recall and depths", () => CandidateRecallReport.Measure(latest, blend, CandidateRecallUsers, options.PersonalK));
        var depths = recall.Depths;
        var rows = windows.SelectMany(w => Stage($"{WindowName(w.Index)}: ranker candidates and features", () => RankerRows(w, blend, depths))).ToArray();

        // Cross-fitted by user: fold f's users (in every window) are ranked by a ranker that never
        // saw their rows, so every list is scored on users no model learned from.
        var (rankerSettings, trials) = options.SearchRanker && rows.Sum(r => r.Labels.Length) <= options.RankerSearchMaxRows
            ? Stage("ranker: leaves, learning rate, feature fraction and trees chosen on validation", () => search.Ranker(windows, blend, depths, rows, Folds, FoldOf, ShuffleSeed))
            : (options.Ranker, []);
        // The fold rankers and the kept one (on every window's users) side by side: each fit is single-threaded.
        var rankers = Stage($"ranker: {Folds} cross-fitted LambdaRank models and one on every window's users", () =>
        {
            var fitted = new GradientBoostedRanker[Folds + 1];
            Parallel.For(0, fitted.Length, Cores.Options(_cancellation), f => fitted[f] = FitRanker(rows, f < Folds ? u => FoldOf(u) != f : null, rankerSettings));
            return fitted;
        });
        var (foldRankers, ranker) = (rankers[..Folds], rankers[Folds]);
        var validation = Stage($"validation: score every list on {windows.Count} window(s)", () => ValidationPass.Score(windows, blend, depths, foldRankers, FoldOf, _rankingBuffers));
        var replay = Stage("validation: replay of the serving blend", () => ValidationReplay(latest, validation, depths, foldRankers));
        return new StageAResult(ranker, validation, chosen with { Ranker = rankerSettings, Depths = depths }, latest.Models.Als.Model, replay, recall, RankerReport.Of(ranker, rankerSettings, trials));
    }

    /// <summary>What stage A chose on validation; every later fit takes it as a parameter.</summary>
    /// <param name="PopularDays">the top-popular window: the option, else chosen on validation.</param>
    /// <param name="Als">the ALS settings: the options', or the validation grid's winner.</param>
    /// <param name="ItemKnn">the item-based build: the options', or the cosine, RP3β or EASE chosen on validation.</param>
    private sealed record ChosenSettings(int PopularDays, AlsParameters Als, ItemKnnParameters ItemKnn)
    {
        /// <summary>The ranker's settings: the options', or the validation search's (set once the ranker is trained).</summary>
        public RankerParameters? Ranker { get; init; }

        /// <summary>How deep the ranker reads each generator, chosen on validation (set once chosen).</summary>
        public CandidateDepths Depths { get; init; } = CandidateDepths.Default;
    }

    /// <summary>Stage A's outcome: the ranker, the validation report, the chosen settings and the validation fit's ALS model.</summary>
    private sealed class StageAResult(GradientBoostedRanker ranker, ValidationReport validation, ChosenSettings chosen, AlsModel warmStart, ReplayReport replay, CandidateRecallReport recall, RankerReport rankerReport)
    {
        /// <summary>The kept ranker's settings, how validation chose them, and its feature importance.</summary>
        public RankerReport RankerReport { get; } = rankerReport;

        /// <summary>How many validation positives each generator and the ranker's candidates reach.</summary>
        public CandidateRecallReport CandidateRecall { get; } = recall;

        private AlsModel? _warmStart = warmStart;

        public GradientBoostedRanker Ranker { get; } = ranker;

        /// <summary>The online blend replayed on the validation window: its best strategies are what the service uses.</summary>
        public ReplayReport Replay { get; } = replay;
        public ValidationReport Validation { get; } = validation;
        public ChosenSettings Chosen { get; } = chosen;

        /// <summary>The validation fit's ALS model, handed over once: the final fit takes its arrays over.</summary>
        public AlsModel? TakeWarmStart() => Interlocked.Exchange(ref _warmStart, null);
    }

    /// <summary>
    /// The serving blend replayed on the latest validation window, where the online strategies are
    /// chosen (nothing after the split is read): each sampled user's first listens in the window are
    /// the online events, the personal list is validation's winner from the models fitted before the
    /// window (ranked by the fold ranker that never saw the user), scored on the rest of the window.
    /// </summary>
    private ReplayReport ValidationReplay(LabelWindow latest, ValidationReport validation, CandidateDepths depths, GradientBoostedRanker[] foldRankers)
    {
        var (history, window, models) = (latest.History, latest.Labels, latest.Models);
        var warm = ReplayUsers(window).Where(u => history.CountOf(u) > 0).ToArray();
        var similar = models.Similar; // fitted with the neighbours of the tracks the replay asks about (ReplayUsers)
        var k = options.RecommendationsK;
        var lists = new ScoredItem[warm.Length][];
        if (validation.ServedList == CandidateList.Ranked)
        {
            for (var f = 0; f < foldRankers.Length; f++)
            {
                var fold = warm.Where(u => FoldOf(u) == f).ToArray();
                var ranked = new RankedRecommender(models, validation.Blend, depths, foldRankers[f]).RecommendInBatches(fold, history.ItemsOf, k, _rankingBuffers);
                for (var i = 0; i < fold.Length; i++)
                {
                    lists[Array.BinarySearch(warm, fold[i])] = ranked[i];
                }
            }
        }
        else
        {
#pragma warning disable CS8524 // unnamed enum values: every named list has its arm (CS8509 fails the build for a new one)
            IRecommenderModel model = validation.ServedList switch
            {
                CandidateList.Popular => models.Popular,
                CandidateList.Als => models.Als,
                CandidateList.ItemKnn => models.ItemKnn,
                CandidateList.Genre => models.Genre,
                CandidateList.Similar => similar,
                CandidateList.Blend => FusionRecommender.Blend(models.Als, models.ItemKnn, models.Genre, validation.Blend),
                CandidateList.Ranked => throw new UnreachableException(),
            };
#pragma warning restore CS8524
            Parallel.For(0, warm.Length, Cores.Options(), i =>
            {
                var buffer = new ScoredItem[k];
                lists[i] = buffer[..model.Recommend(warm[i], history.ItemsOf(warm[i]), k, buffer)];
            });
        }

        var builder = new ScoredListsBuilder(history.NumUsers, warm, k);
        for (var i = 0; i < warm.Length; i++)
        {
            builder.Set(i, lists[i]);
        }

        var als = models.Als.Model;
        var sources = new BlendSources(new RecommendationTable(builder), similar, models.Als, DenseKernels.Gram(als.ItemFactors, als.Factors, als.Parameters.Regularization), models.Popular, history.NumItems);
        return ReplayReport.Run(history, window, sources, options.ReplayOnlineListens, options.ReplayMaxUsers, ReplaySeed, _cancellation, ReplayReport.ValidationWindow);
    }

    private ulong ReplaySeed => options.Als.Seed + 13;

    /// <summary>The users the validation replay samples from the window (<see cref="ReplayReport.SampleUsers"/>, the same seed).</summary>
    private int[] ReplayUsers(EventLog window) => ReplayReport.SampleUsers(window, options.ReplayOnlineListens, options.ReplayMaxUsers, ReplaySeed);

    /// <summary>Warm users of the validation window whose candidate recall is measured (an even stride through them).</summary>
    private const int CandidateRecallUsers = 5000;

    /// <summary>
    /// How many cross-fitting folds <see cref="FoldOf"/> makes. Five rather than two: each fold's
    /// ranker then learns from 80% of the users instead of half, closer to the kept ranker that
    /// learns from all of them, so validation judges (and the search tunes) nearly the model that
    /// is served. On lastfm-dev (three split dates × three seeds) the gate then served the ranker in
    /// 6 of 9 runs instead of 3, and the served test NDCG@10 rose on average (docs/benchmarks.md).
    /// </summary>
    private const int Folds = 5;

    private static string WindowName(int index) => index == 0 ? "validation" : $"label window {index + 1}";

    /// <summary>A user's cross-fitting fold: a seeded hash of the user, 0 .. Folds − 1.</summary>
    private int FoldOf(int user) => (int)(((((ulong)(uint)user + options.Als.Seed) * 0x9E3779B97F4A7C15UL) >> 40) * Folds >> 24);

    /// <param name="warmStart">the validation fit (on a prefix of the same events) that the final fit continues from: a few iterations instead of a full fit from noise.</param>
    private CandidateGenerators FitGenerators(EventLog train, TrackCatalog catalog, int cutoff, string name, ChosenSettings chosen, AlsModel? warmStart, int[]? similarQueryItems = null)
    {
        if (name == FinalFit && options.AlsFactorsDir is { } imported)
        {
            return FitOthers(train, catalog, cutoff, name, chosen, similarQueryItems, Stage($"als ({name}): factors imported from {imported}", () => ImportFactors(imported, chosen.Als)));
        }

        var parameters = warmStart is null || options.AlsWarmIterations is not { } warm ? chosen.Als : chosen.Als with { Iterations = warm };
        var how = parameters == chosen.Als ? "fit" : $"fit, continued from the validation fit";
        if (warmStart is null)
        {
            // The interaction matrix, the run's largest arrays, comes next: on a heap without the
            // earlier stages' garbage. A fit continued from validation follows stage A's collection.
            releaseMemory?.Invoke();
        }
        var als = Stage($"als ({name}): {how}", () => AlsRecommender.Fit(train, parameters, it => LogIteration(logger, name, it.Iteration, parameters.Iterations, it.Loss, it.Seconds, it.Seconds / it.Iteration * (parameters.Iterations - it.Iteration)), _cancellation, parameters == chosen.Als ? null : warmStart));
        return FitOthers(train, catalog, cutoff, name, chosen, similarQueryItems, als);
    }

    /// <summary>Spark MLlib ALSModel.save output in place of the final fit (see <see cref="SparkAlsFactors"/>).</summary>
    private AlsRecommender ImportFactors(string dir, AlsParameters als)
    {
        var (model, report) = SparkAlsFactors.Load(dir, _ids!, als);
        LogImported(logger, dir, report.Factors, report.UsersMatched, report.UsersUnknown, report.ItemsMatched, report.ItemsUnknown);
        return new AlsRecommender(model);
    }

    private CandidateGenerators FitOthers(EventLog train, TrackCatalog catalog, int cutoff, string name, ChosenSettings chosen, int[]? similarQueryItems, AlsRecommender als)
    {
        releaseMemory?.Invoke(); // the interaction matrix (two CSR copies) is garbage now
        var knn = chosen.ItemKnn;
        var window = ItemKnnModel.WindowWithinBudget(train, knn.MaxUserItems, knn.PairBudget);
        var itemKnn = Stage($"item-knn ({name}): {knn.Method} over each user's latest {window} tracks, {ItemKnnModel.CoListeningUpdates(train, window):N0} updates", () => ItemKnnModel.Fit(train, knn, _cancellation));
        releaseMemory?.Invoke(); // the build's item → users lists and slot arrays are garbage now
        var scope = similarQueryItems is null ? string.Empty : " of the sampled users' recent tracks";

        // The unit-length item factors once, for the cosine index and the ranker's features: a
        // second 256 MB copy at full size raised the peak working set of the validation fits.
        var normalized = DenseKernels.NormalizeRows(als.Model.ItemFactors, als.Model.Factors);
        var similar = Stage($"similar ({name}): ALS cosine{scope} + sequential neighbours", () => SimilarToRecentModel.Fit(train, als.Model, options.SimilarK, similarQueryItems, _cancellation,
            new StageProgress(logger, $"similar ({name})", similarQueryItems?.Length ?? train.NumItems, observer: _progress is null ? null : _progress.Units), normalized));
        var popular = Stage($"popular ({name})", () => PopularModel.Fit(train, cutoff - chosen.PopularDays, cutoff, descriptions: name == FinalFit ? _descriptions : null));
        var features = Stage($"features ({name})", () => new FeatureContext(train, catalog, cutoff, als.Model, chosen.PopularDays, normalized));
        var genre = Stage($"genre profile ({name})", () => GenreProfileModel.Fit(train, catalog.Genres, options.Genre));
        releaseMemory?.Invoke(); // the similar-tracks index and the features' counting arrays: without it they sat in gen 2 until the next full collection
        return new CandidateGenerators(als, itemKnn, similar, popular, features, genre);
    }

    /// <summary>
    /// Small data gives few users in one window: earlier windows of the same size (each with
    /// generators fitted before it) add ranker rows until MaxRankerUsers or MaxLabelWindows. Their
    /// users train the ranker only; validation stays on the latest window.
    /// </summary>
    private List<LabelWindow> EarlierWindows(EventLog train, TrackCatalog catalog, int usersSoFar, ChosenSettings chosen)
    {
        // Counted in sampled users, not in users with a positive: at full size the first window
        // already samples MaxRankerUsers, and another window would cost another ALS fit.
        var windows = new List<LabelWindow>();
        var (first, last) = train.DayRange();
        var end = Math.Clamp(SplitPlan.QuantileDay(train, first, last + 1, 1 - options.ValidationFraction), first + 1, last);
        for (var w = 1; w < options.MaxLabelWindows && usersSoFar < options.MaxRankerUsers; w++)
        {
            var start = SplitPlan.QuantileDay(train, first, last + 1, 1 - ((w + 1) * options.ValidationFraction));
            if (start <= first + 1 || start >= end)
            {
                break;
            }

            var name = WindowName(w);
            var labels = Stage($"{name}: events", () => train.Slice(start, end));
            var history = Stage($"{name}: events before it", () => train.Slice(first, start));
            var users = SampleUsers(history, labels).Take(options.MaxRankerUsers - usersSoFar).ToArray();
            windows.Add(new LabelWindow(w, history, labels, users, FitGenerators(history, catalog, start, name, chosen, null, SimilarToRecentModel.RecentItems(history, users))));
            usersSoFar += users.Length;
            end = start;
        }

        return windows;
    }

    /// <summary>Users with history before the window and listens in it: a seeded sample of at most MaxRankerUsers, in shuffled order.</summary>
    private int[] SampleUsers(EventLog before, EventLog window)
    {
        var eligible = Enumerable.Range(0, before.NumUsers).Where(u => before.CountOf(u) > 0 && window.CountOf(u) > 0).ToArray();
        return Sampling.Shuffle(eligible, new Rng(options.Als.Seed + 7)).Take(options.MaxRankerUsers).ToArray();
    }

    private RankerGroup[] RankerRows(LabelWindow lw, BlendWeights blend, CandidateDepths depths)
    {
        var rows = RankerTraining.Groups(lw, blend, depths, options.RankerNegatives, options.RankerHardNegatives, options.Als.Seed, _cancellation);
        LogRankerData(logger, rows.Length, rows.Sum(r => r.Labels.Length), (long)rows.Sum(r => r.Labels.Sum()));
        if (rows.Length == 0)
        {
            throw new InvalidOperationException("no user has a listen in the validation window among its candidates: the ranker has nothing to learn from (is the data too small?)");
        }

        return rows;
    }

    /// <summary>LambdaRank on the rows of the users <paramref name="include"/> accepts, in every window (null: all of them).</summary>
    private GradientBoostedRanker FitRanker(RankerGroup[] all, Func<int, bool>? include, RankerParameters settings) =>
        RankerTraining.Fit(include is null ? all : all.Where(r => include(r.User)).ToArray(), settings, ShuffleSeed);

    /// <summary>The seed of the shuffled labels the gate's test trains on; null: the real labels.</summary>
    private ulong? ShuffleSeed => options.ShuffleRankerLabels ? options.Als.Seed + 13 : null;

    /// <summary>The test period: the lists not already computed for every user are computed for the sampled warm users, then scored (Evaluation.TestPeriodEvaluation).</summary>
    /// <summary>The warm users the evaluation scores (a seeded sample past EvaluationMaxUsers) and their item-kNN lists, as deep as the blend and the ranker's candidates read them.</summary>
    private sealed record WarmSample(int AllWarm, int[] Users, RecommendationTable ItemKnn);

    /// <summary>How deep the evaluation's item-kNN lists go: as deep as the blend and the ranker's candidates read them.</summary>
    private static int ItemKnnListDepth(CandidateDepths depths) => Math.Max(FusionRecommender.DefaultDepth, depths.ItemKnn);

    private WarmSample EvaluationSample(EventLog train, EventLog test, ItemKnnModel itemKnn, int depth)
    {
        var allWarm = Enumerable.Range(0, test.NumUsers).Where(u => test.CountOf(u) > 0 && train.CountOf(u) > 0).ToArray();
        // A seeded sample in index order (allWarm is copied: Shuffle works in place).
        var warmUsers = allWarm.Length <= options.EvaluationMaxUsers ? allWarm : Sampling.Shuffle([.. allWarm], new Rng(options.Als.Seed + 13)).Take(options.EvaluationMaxUsers).Order().ToArray();
        return new WarmSample(allWarm.Length, warmUsers, BulkInference.RecommendAll(train, warmUsers, itemKnn, depth, _cancellation));
    }

    private EvaluationReport Evaluate(EventLog train, EventLog test, WarmSample sample, PopularModel popular, RecommendationTable personal, ItemKnnModel itemKnn, SimilarToRecentModel similar, GenreProfileModel genre, RankedRecommender ranked, RecommendationTable served, ValidationReport validation)
    {
        var servedList = validation.ServedList;
        var warmUsers = sample.Users;
        var scored = new bool[test.NumUsers];
        foreach (var u in warmUsers)
        {
            scored[u] = true;
        }

        // The lists not already computed for every user, for the warm test users only.
        var itemKnnLists = new PrecomputedLists(sample.ItemKnn, ItemKnnListDepth(ranked.Depths), itemKnn);
        var rankedTable = servedList == CandidateList.Ranked ? served : BulkInference.RankAll(train, warmUsers, ranked, new PrecomputedLists(personal, options.PersonalK, ranked.Als), options.RecommendationsK, logger, _cancellation, itemKnnLists, _rankingBuffers);
        // Its first 10 are the itemknn list.
        var itemKnnTable = sample.ItemKnn;
        var blendFromTables = FusionRecommender.Blend(new PrecomputedLists(personal, options.PersonalK, ranked.Als), new PrecomputedLists(itemKnnTable, ItemKnnListDepth(ranked.Depths), itemKnn), genre, validation.Blend);
        var blendTable = servedList == CandidateList.Blend ? served : BulkInference.RecommendAll(train, warmUsers, blendFromTables, 10, _cancellation);
        var tables = new Dictionary<string, RecommendationTable>
        {
            ["als"] = personal,
            ["itemknn"] = itemKnnTable,
            ["blend"] = blendTable,
            ["ranked"] = rankedTable,
            ["served"] = served,
        };
        return TestPeriodEvaluation.Score(train, test, sample.AllWarm, scored, popular, similar, genre, tables);
    }

    private T Stage<T>(string name, Func<T> work)
    {
        _cancellation.ThrowIfCancellationRequested();
        LogStageStart(logger, name);
        _progress?.StageStarted(name);
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
        // What the stage's native code (the Parquet reader, LightGBM) freed goes back to the system
        // instead of staying in glibc's arenas under the next stages' peaks.
        NativeHeap.Trim();
        using var process = Process.GetCurrentProcess();
        var timing = new StageTiming(name, Math.Round(_stage.Elapsed.TotalSeconds, 2), process.PeakWorkingSet64 / (1024 * 1024));
        var workingSetMb = process.WorkingSet64 / (1024 * 1024);
        _timings.Add(timing);
        _progress?.StageFinished(name);
        // The GC's view beside the process's: live heap after the last collection and committed
        // memory show whether a peak is data the stage holds or memory the GC has not given back.
        var gc = GC.GetGCMemoryInfo();
        LogStageEnd(logger, name, timing.Seconds, workingSetMb, timing.PeakWorkingSetMb, gc.HeapSizeBytes >> 20, gc.TotalCommittedBytes >> 20);
        if (options.MeasureLiveHeap)
        {
            // After the stage's own figures: the collection must not lower the working set they report.
            LogLiveHeap(logger, name, GC.GetTotalMemory(forceFullCollection: true) >> 20);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "als factors imported from {Dir}: {Factors} factors; users: {UsersMatched:N0} matched, {UsersUnknown:N0} not in the data; tracks: {ItemsMatched:N0} matched, {ItemsUnknown:N0} not in the data")]
    private static partial void LogImported(ILogger logger, string dir, int factors, int usersMatched, int usersUnknown, int itemsMatched, int itemsUnknown);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: {Stage} ...")]
    private static partial void LogStageStart(ILogger logger, string stage);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: {Stage} done in {Seconds:F1} s (working set {WorkingSetMb} MB, peak {PeakMb} MB; GC heap {HeapMb} MB, committed {CommittedMb} MB)")]
    private static partial void LogStageEnd(ILogger logger, string stage, double seconds, long workingSetMb, long peakMb, long heapMb, long committedMb);

    [LoggerMessage(Level = LogLevel.Information, Message = "lists for {Users:N0} users: als top-k {AlsSeconds:F1} s, the served list {ServedSeconds:F1} s, writing {WriteSeconds:F1} s")]
    private static partial void LogUserLists(ILogger logger, int users, double alsSeconds, double servedSeconds, double writeSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: {Stage}: live heap {LiveMb} MB")]
    private static partial void LogLiveHeap(ILogger logger, string stage, long liveMb);

    [LoggerMessage(Level = LogLevel.Information, Message = "validation window from {WindowStart}: {Users} users with history before it and listens in it")]
    private static partial void LogSample(ILogger logger, DateOnly windowStart, int users);

    [LoggerMessage(Level = LogLevel.Information, Message = "train: data from {First}, split {Split}; the splits are {Kind}")]
    private static partial void LogPlan(ILogger logger, DateOnly first, string split, string kind);

    [LoggerMessage(Level = LogLevel.Information, Message = "validation: serving {Served} (NDCG@10 {Ndcg:F4}); best single generator {BestSingle} ({SingleNdcg:F4})")]
    private static partial void LogServed(ILogger logger, string served, double ndcg, string bestSingle, double singleNdcg);

    [LoggerMessage(Level = LogLevel.Information, Message = "als ({Name}): iteration {Iteration}/{Iterations}, loss {Loss:E4}, {Seconds:F1} s, about {SecondsLeft:F0} s left")]
    private static partial void LogIteration(ILogger logger, string name, int iteration, int iterations, double loss, double seconds, double secondsLeft);

    [LoggerMessage(Level = LogLevel.Information, Message = "ranker: {Users} users, {Rows} rows, {Positives} positives")]
    private static partial void LogRankerData(ILogger logger, int users, int rows, long positives);


    [LoggerMessage(Level = LogLevel.Information, Message = "train: snapshot {Id} published at {Dir}")]
    private static partial void LogPublished(ILogger logger, string id, string dir);
}
