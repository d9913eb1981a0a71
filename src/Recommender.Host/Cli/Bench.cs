using System.CommandLine;
using System.Diagnostics;
using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Pipeline;
using Recommender.Serving;
using Recommender.Host.State;

namespace Recommender.Host.Cli;

/// <summary>
/// Times the dataset-sized stages on one dataset (generate one with `generate`): ALS sweeps, IVF
/// top-k for every user, the similar-tracks table, the item-kNN build, the serving blend over a
/// snapshot. Prints wall time, the rate and bytes allocated per stage, so that docs/benchmarks.md
/// can hold its output. The kernels alone are BenchmarkDotNet's (bench/Recommender.Benchmarks).
/// </summary>
internal sealed partial class Bench : Verb
{
    private static readonly string[] Stages = ["als", "topk", "similar", "itemknn", "serving", "swaps"];
    private readonly Option<string?> _data = CliOption.OptionalText("data", "directory with the three input parquet files (e.g. from generate); for als, topk, similar");
    private readonly Option<string?> _snapshot = CliOption.OptionalText("snapshot", "a snapshot directory written by train; for serving and swaps");
    private readonly Option<int> _swaps = CliOption.Int("swaps", "times the snapshot is loaded again and swapped in; for swaps", 8, 1, 1000);
    private readonly Option<string> _stages = CliOption.Text("stages", $"comma-separated: {string.Join(", ", Stages)}", "als,topk,similar");
    private readonly Option<int> _factors = CliOption.Int("factors", "ALS factors", 64, 1, 1024);
    private readonly Option<int> _iterations = CliOption.Int("iterations", "ALS iterations", 5, 1, 1000);
    private readonly Option<int> _cgSteps = CliOption.Int("cg-steps", "ALS conjugate-gradient steps per row", 3, 1, 32);
    private readonly Option<bool> _float32 = CliOption.Flag("float32-gather", "gather float32 factors instead of the bfloat16 copy");
    private readonly Option<string?> _exportCsr = CliOption.OptionalText("export-csr", "also write the user×track matrix as raw CSR (int32 header users, tracks, nnz; row pointers; columns) for bench/implicit_als.py");
    private readonly Option<int> _sample = CliOption.Int("sample", "users (top-k) and tracks (similar) timed; the rate is per row", 100_000, 1);
    private readonly Option<string> _ivfBatch = CliOption.Text("ivf-batch", "comma-separated queries per IVF batch to time top-k and similar with", RecommenderCli.Text(IvfIndex.DefaultBatchSize));
    private readonly Option<string> _probes = CliOption.Text("probes", "comma-separated IVF lists probed per query to time top-k and similar with (recall@10 against exact search printed for each)", "24");

    public Bench()
        : base("bench", "time ALS sweeps, IVF top-k and similar tracks on a dataset and print the figures") => Options(_data, _snapshot, _swaps, _stages, _factors, _iterations, _cgSteps, _float32, _exportCsr, _sample, _ivfBatch, _probes);

    public override Task<int> RunAsync(ParseResult o, CliContext ctx)
    {
        var stages = o.GetValue(_stages)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = stages.Except(Stages).ToArray();
        if (unknown.Length > 0)
        {
            throw new UsageException($"bench: unknown stage(s) {string.Join(", ", unknown)} in --stages; known: {string.Join(", ", Stages)}");
        }

        var sample = o.GetValue(_sample);
        if (stages.Contains("serving"))
        {
            Serving(ctx, o.GetValue(_snapshot) ?? throw new UsageException("bench: --snapshot is required for the serving stage"), sample);
        }

        if (stages.Contains("swaps"))
        {
            Swaps(ctx, o.GetValue(_snapshot) ?? throw new UsageException("bench: --snapshot is required for the swaps stage"), o.GetValue(_swaps));
        }

        stages = stages.Except(["serving", "swaps"]).ToArray();
        if (stages.Length == 0)
        {
            return Task.FromResult(RecommenderCli.ExitOk);
        }

        var dataDir = o.GetValue(_data) ?? throw new UsageException("bench: --data is required for the als, topk, similar and itemknn stages");

        var parameters = new AlsParameters { Factors = o.GetValue(_factors), Iterations = o.GetValue(_iterations), CgSteps = o.GetValue(_cgSteps), ComputeLoss = false, Bfloat16Gather = !o.GetValue(_float32) };
        var logger = ctx.Logger("bench");
        var data = DataPreparation.Load(dataDir, logger);
        var events = data.Events;
        var matrix = InteractionMatrix.FromEvents(events);
        ctx.Out.WriteLine($"data: {events.NumUsers:N0} users, {events.NumItems:N0} tracks, {matrix.NonZeros:N0} non-zeros; {Cores.Count} cores, {parameters.Factors} factors, {parameters.CgSteps} CG steps, {(parameters.Bfloat16Gather ? "bfloat16" : "float32")} gathers");
        if (o.GetValue(_exportCsr) is { } csrPath)
        {
            ExportCsr(matrix, csrPath);
            ctx.Out.WriteLine($"wrote {Path.GetFullPath(csrPath)}");
        }

        ctx.Out.WriteLine("| stage | wall time | rate | allocated |");
        ctx.Out.WriteLine("|---|---:|---:|---:|");
        var users = Enumerable.Range(0, events.NumUsers).Where(u => events.CountOf(u) > 0).ToArray();
        var step = Math.Max(1, users.Length / sample);
        var sampledUsers = users.Where((_, i) => i % step == 0).Take(sample).ToArray();
        if (stages.Contains("itemknn"))
        {
            ItemKnn(ctx, events, users.Length, sampledUsers);
            stages = stages.Except(["itemknn"]).ToArray();
        }

        AlsModel? model = null;
        if (stages.Length > 0)
        {
            var perIteration = new List<double>();
            var (m, seconds, bytes) = Measure(() => AlsModel.Fit(matrix, parameters, it => perIteration.Add(it.Seconds)));
            model = m;
            var each = perIteration.Zip(perIteration.Prepend(0), (now, before) => now - before).ToArray();
            if (stages.Contains("als"))
            {
                Row(ctx, $"ALS fit, {parameters.Iterations} iterations (both sweeps)", seconds, $"{each.Average():F2} s/iteration (min {each.Min():F2}; each: {string.Join(", ", each.Select(s => s.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))})", bytes);
            }
        }

        matrix = null;
        Heap.CompactLargeObjects();
        var batchSizes = o.GetValue(_ivfBatch)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(b => int.TryParse(b, out var v) && v > 0 ? v : throw new UsageException($"bench: --ivf-batch takes positive integers (got '{b}')")).ToArray();
        var probeCounts = o.GetValue(_probes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(b => int.TryParse(b, out var v) && v > 0 ? v : throw new UsageException($"bench: --probes takes positive integers (got '{b}')")).ToArray();
        if (stages.Contains("topk"))
        {
            var recallUsers = sampledUsers.Where((_, i) => i % Math.Max(1, sampledUsers.Length / 2000) == 0).ToArray();
            var truth = BulkInference.RecommendAll(events, recallUsers, new AlsRecommender(model!, lists: 1), 10, CancellationToken.None);
            var (index, indexSeconds, indexBytes) = Measure(() => new AlsRecommender(model!).Index);
            var sizes = index.ListSizes();
            Row(ctx, $"IVF index ({index.Lists:N0} lists; sizes {sizes.Min:N0} / {sizes.Median:N0} / {sizes.Max:N0}, an item's list {sizes.ItemWeightedMean:N0} on average)", indexSeconds, "", indexBytes);
            foreach (var probes in probeCounts)
            {
                foreach (var batch in batchSizes)
                {
                    var als = new AlsRecommender(model!, index, probes) { SearchBatch = batch };
                    var (_, seconds, bytes) = Measure(() => BulkInference.RecommendAll(events, sampledUsers, als, 100, CancellationToken.None));
                    var recall = Recall(BulkInference.RecommendAll(events, recallUsers, als, 10, CancellationToken.None), truth, recallUsers);
                    Row(ctx, $"ALS top-100 (IVF, {probes} probes, batches of {batch}), {sampledUsers.Length:N0} users", seconds, $"{sampledUsers.Length / seconds:N0} users/s; all {users.Length:N0}: {users.Length / (sampledUsers.Length / seconds):N0} s; recall@10 {recall:F4}", bytes);
                }
            }
        }

        if (stages.Contains("similar"))
        {
            var itemStep = Math.Max(1, events.NumItems / sample);
            var items = Enumerable.Range(0, events.NumItems).Where(i => i % itemStep == 0).Take(sample).ToArray();
            var normalized = DenseKernels.NormalizeRows(model!.ItemFactors, model.Factors);
            var recallItems = items.Where((_, i) => i % Math.Max(1, items.Length / 2000) == 0).ToArray();
            var exact = NeighborTable.FromIndex(IvfIndex.Build(normalized, model.Factors, 1, 0), normalized, model.Factors, model.Items, 11, 1, recallItems);
            var ((index, _), indexSeconds, indexBytes) = Measure(() => NeighborTable.CosineIndex(model));
            var sizes = index.ListSizes();
            Row(ctx, $"cosine IVF index ({index.Lists:N0} lists; sizes {sizes.Min:N0} / {sizes.Median:N0} / {sizes.Max:N0}, an item's list {sizes.ItemWeightedMean:N0} on average)", indexSeconds, "", indexBytes);
            foreach (var probes in probeCounts)
            {
                foreach (var batch in batchSizes)
                {
                    var (table, seconds, bytes) = Measure(() => NeighborTable.FromIndex(index, normalized, model.Factors, model.Items, 20, probes, items, batchSize: batch));
                    var recall = recallItems.Average(i =>
                    {
                        var truth = exact.NeighborsOf(i).ToArray().Where(j => j != i).Take(10).ToArray();
                        return table.NeighborsOf(i)[..Math.Min(10, table.NeighborsOf(i).Length)].ToArray().Intersect(truth).Count() / (double)Math.Max(1, truth.Length);
                    });
                    Row(ctx, $"similar tracks (IVF cosine, 20 neighbours, {probes} probes, batches of {batch}), {items.Length:N0} tracks", seconds, $"{items.Length / seconds:N0} tracks/s; all {events.NumItems:N0}: {events.NumItems / (items.Length / seconds):N0} s; recall@10 {recall:F4}", bytes);
                }
            }
        }

        LogDone(logger, Environment.WorkingSet >> 20);
        return Task.FromResult(RecommenderCli.ExitOk);
    }

    /// <summary>
    /// Item-kNN as the pipeline runs it (cosine, the window within the default pair budget): the
    /// table's build over every event, then the recommendation sum (scatter-adds over each sampled
    /// user's latest tracks' neighbours) for the sampled users.
    /// </summary>
    private static void ItemKnn(CliContext ctx, Data.EventLog events, int allUsers, int[] sampledUsers)
    {
        var parameters = new ItemKnnParameters();
        var window = ItemKnnModel.WindowWithinBudget(events, parameters.MaxUserItems, parameters.PairBudget);
        var updates = ItemKnnModel.CoListeningUpdates(events, window);
        var (model, seconds, bytes) = Measure(() => ItemKnnModel.Fit(events, parameters));
        Row(ctx, $"item-kNN table (cosine, window {window}, {updates:N0} updates)", seconds, $"{updates / seconds / 1e6:N0} M updates/s", bytes);
        var (_, recommendSeconds, recommendBytes) = Measure(() => BulkInference.RecommendAll(events, sampledUsers, model, 50, CancellationToken.None));
        Row(ctx, $"item-kNN top-50, {sampledUsers.Length:N0} users", recommendSeconds, $"{sampledUsers.Length / recommendSeconds:N0} users/s; all {allUsers:N0}: {allUsers / (sampledUsers.Length / recommendSeconds):N0} s", recommendBytes);
    }

    /// <summary>
    /// The serving path below gRPC (<see cref="Blender"/> over a loaded snapshot) on one thread:
    /// mean and p99 latency and bytes allocated per request, for warm users without and with online
    /// listens and for unknown users with online listens (the fold-in path).
    /// </summary>
    /// <summary>
    /// What the service does at every swap, without requests: load the snapshot again beside the
    /// serving one, swap, and run the collection after a swap (Heap.ReleaseReplaced); prints its
    /// pause and the heap, fragmentation and RSS it leaves.
    /// </summary>
    private static void Swaps(CliContext ctx, string dir, int swaps)
    {
        var holder = new SnapshotHolder();
        var loaded = Stopwatch.StartNew();
        _ = SwapIn(holder, dir);
        Heap.CompactLargeObjects();
        ctx.Out.WriteLine($"swaps: snapshot {Path.GetFileName(dir)} loaded in {loaded.Elapsed.TotalSeconds:F1} s; GC heap {GC.GetGCMemoryInfo().HeapSizeBytes >> 20} MB, RSS {Environment.WorkingSet >> 20} MB");
        ctx.Out.WriteLine("| swap | load | allocated on the GC heap by the load | paused during the load | collection after the swap | replaced snapshot | tables unmapped | GC heap | fragmented | committed | RSS |");
        ctx.Out.WriteLine("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
        for (var k = 1; k <= swaps; k++)
        {
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var paused = GC.GetTotalPauseDuration();
            loaded.Restart();
            var replaced = SwapIn(holder, dir);
            var load = loaded.Elapsed.TotalSeconds;
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            var loadPause = (GC.GetTotalPauseDuration() - paused).TotalMilliseconds;
            var r = Heap.ReleaseReplaced(replaced);
            ctx.Out.WriteLine($"| {k} | {load:F1} s | {allocated >> 20} MB | {loadPause:F0} ms | {r.PauseMs:F0} ms | {(r.ReplacedFreed ? "freed" : "still referenced")} | {r.TableBytes >> 20} MB | {r.HeapBytes >> 20} MB | {GC.GetGCMemoryInfo().FragmentedBytes >> 20} MB | {r.CommittedBytes >> 20} MB | {Environment.WorkingSet >> 20} MB |");
        }
    }

    private static ServingSnapshot? SwapIn(SnapshotHolder holder, string dir) => holder.Replace(ServingSnapshot.Load(dir, tablesOutsideGcHeap: true));

    private static void Serving(CliContext ctx, string dir, int sample)
    {
        var snapshot = ServingSnapshot.Load(dir);
        var step = Math.Max(1, snapshot.Users.Count / sample);
        var users = Enumerable.Range(0, snapshot.Users.Count).Where(u => u % step == 0 && snapshot.HistoryOf(u).Length >= 5).Take(sample).ToArray();
        ctx.Out.WriteLine($"serving: snapshot {snapshot.Id}, {users.Length:N0} users, k = 10, one thread");
        ctx.Out.WriteLine("| request | mean | p99 | allocated per request |");
        ctx.Out.WriteLine("|---|---:|---:|---:|");
        var online = users.Select(u => snapshot.HistoryOf(u)[^5..].ToArray()).ToArray();
        (string Name, Func<int, long> Id, Func<int, int[]> Online)[] cases =
        [
            ("warm user, no online listens", b => snapshot.Users.RawId(users[b]), _ => []),
            ("warm user, 5 online listens", b => snapshot.Users.RawId(users[b]), b => online[b]),
            ("unknown user, 5 online listens (fold-in)", _ => -1, b => online[b]),
        ];
        var latencies = new double[users.Length];
        var destination = new BlendedItem[10];
        foreach (var (name, id, listens) in cases)
        {
            for (var b = 0; b < Math.Min(1000, users.Length); b++)
            {
                Blender.Recommend(snapshot, id(b), listens(b), BlendChoice.Default, destination); // warm-up: tiered JIT
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var b = 0; b < users.Length; b++)
            {
                var started = Stopwatch.GetTimestamp();
                Blender.Recommend(snapshot, id(b), listens(b), BlendChoice.Default, destination);
                latencies[b] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }

            var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Math.Max(1, users.Length);
            Array.Sort(latencies);
            ctx.Out.WriteLine($"| {name} | {latencies.Average():F1} µs | {latencies[(int)(0.99 * (latencies.Length - 1))]:F1} µs | {bytes:N0} B |");
        }
    }

    private static void ExportCsr(InteractionMatrix matrix, string path) => AtomicFile.Write(path, temp =>
    {
        using var w = new BinaryWriter(File.Create(temp));
        w.Write(matrix.Users);
        w.Write(matrix.Items);
        w.Write(matrix.NonZeros);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(matrix.UserItems.RowPointers.AsSpan()));
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(matrix.UserItems.ColumnIndices.AsSpan(0, matrix.NonZeros)));
    });

    /// <summary>Mean share of each user's exact top-10 that the approximate list holds.</summary>
    private static double Recall(RecommendationTable approximate, RecommendationTable exact, int[] users) =>
        users.Average(u =>
        {
            var truth = exact.ItemsOf(u).ToArray();
            return approximate.ItemsOf(u).ToArray().Intersect(truth).Count() / (double)Math.Max(1, truth.Length);
        });

    private static (T Result, double Seconds, long Bytes) Measure<T>(Func<T> run)
    {
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        var result = run();
        return (result, watch.Elapsed.TotalSeconds, GC.GetTotalAllocatedBytes(precise: true) - before);
    }

    private static void Row(CliContext ctx, string stage, double seconds, string rate, long bytes) =>
        ctx.Out.WriteLine($"| {stage} | {seconds:F1} s | {rate} | {bytes / (1024.0 * 1024):N1} MB |");

    [LoggerMessage(Level = LogLevel.Information, Message = "bench finished, working set {WorkingSetMb} MB")]
    private static partial void LogDone(ILogger logger, long workingSetMb);
}
