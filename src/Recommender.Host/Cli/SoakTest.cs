using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.V1;

namespace Recommender.Host.Cli;

/// <summary>
/// A long run of the service as production sees it: a `serve` child process on loopback under a
/// steady mixed load (recommendations, similar tracks, listens) with a RetrainNow at the start of
/// every cycle, sampled every few seconds (RSS, GC heap, open files, threads, latency, errors,
/// swaps). It writes soak.csv, soak.md and two charts, and exits 1 if a pass criterion fails.
/// </summary>
internal sealed partial class SoakTest : Verb
{
    private readonly Option<string> _artifacts = CliOption.Text("artifacts", "snapshot root the service serves and its retrains write", "out");
    private readonly Option<string> _data = CliOption.Text("data", "input data the retrains read", "data");
    private readonly Option<string> _out = CliOption.Text("out", "where soak.csv, soak.md and the charts go", "soak");
    private readonly Option<int> _minutes = CliOption.Int("minutes", "length of the run", 60, 1, 24 * 60);
    private readonly Option<int> _retrainEvery = CliOption.Int("retrain-every-seconds", "a RetrainNow at the start of every cycle of this length", 300, 10);
    private readonly Option<int> _warmup = CliOption.Int("warmup-seconds", "the first cycles' time the criteria compare against (a whole number of cycles)", 300, 0);
    private readonly Option<int> _sample = CliOption.Int("sample-seconds", "one sample every this-many seconds", 10, 1, 3600);
    private readonly Option<int> _rate = CliOption.Int("rate", "requests per second, all kinds together (70% recommendations, 15% similar tracks, 15% listens)", 200, 1, 100_000);
    private readonly Option<int> _maxUser = CliOption.Int("max-user", "user ids are drawn from [1, max-user]", 100_000, 1);
    private readonly Option<int> _port = CliOption.Int("port", "the gRPC port of the served process (the JSON routes take the next one)", 5290, 1024, 65534);
    private readonly Option<long> _seed = CliOption.Long("seed", "random seed of the requests", 1, 0);

    public SoakTest()
        : base("soak", "run a service under steady mixed load with periodic retrains and check memory, handles, threads and latency stay flat") =>
        Options(_artifacts, _data, _out, _minutes, _retrainEvery, _warmup, _sample, _rate, _maxUser, _port, _seed);

    internal sealed record Sample(double Minutes, double RssMb, double GcHeapMb, double GcCommittedMb, int Handles, int Threads, long Requests, long Errors, double P50, double P99, string SnapshotId, int Swaps, int Retrains, string RetrainState)
    {
        /// <summary>What else happened in the window, to explain a slow one: see <see cref="WindowCauses"/>.</summary>
        public WindowCauses Causes { get; init; } = WindowCauses.None;
    }

    /// <summary>
    /// A window's p99 per kind of call and its slowest call, the time the service and this process
    /// (the load generator) spent paused in collections, and the box's stolen and I/O-wait CPU time
    /// and dirty page cache: a slow window is then the service's, the caller's, or the machine's.
    /// </summary>
    internal sealed record WindowCauses(double P99Recommendations, double P99Similar, double P99Listen, double MaxMs, double ServiceGcPauseMs, double SoakGcPauseMs, double StealMs, double IowaitMs, double DirtyMb)
    {
        public static readonly WindowCauses None = new(double.NaN, double.NaN, double.NaN, double.NaN, 0, 0, 0, 0, 0);
    }

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var outDir = r.GetValue(_out)!;
        Directory.CreateDirectory(outDir);
        var duration = TimeSpan.FromMinutes(r.GetValue(_minutes));
        var cycle = TimeSpan.FromSeconds(r.GetValue(_retrainEvery));
        var warmup = TimeSpan.FromSeconds(r.GetValue(_warmup));
        var every = TimeSpan.FromSeconds(r.GetValue(_sample));
        var port = r.GetValue(_port);
        var grpc = $"http://127.0.0.1:{port}";
        var http = $"http://127.0.0.1:{port + 1}";
        const string token = OpsOptionsValidator.DevelopmentToken;

        using var serve = StartServe(r.GetValue(_artifacts)!, r.GetValue(_data)!, Path.Combine(outDir, "listens.log"), grpc, http, Path.Combine(outDir, "serve.log"));
        try
        {
            using var channel = GrpcChannel.ForAddress(grpc, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
            var service = new RecommendationService.RecommendationServiceClient(channel);
            var ops = new OpsService.OpsServiceClient(channel);
            var auth = new Metadata { { "authorization", $"Bearer {token}" } };
            var tracks = await WaitUntilServing(service, serve, TimeSpan.FromMinutes(5));
            using var scrape = new HttpClient { BaseAddress = new Uri(http) };

            var window = new LatencyWindow();
            using var stop = new CancellationTokenSource();
            var load = Load(service, tracks, r.GetValue(_rate), r.GetValue(_maxUser), (ulong)r.GetValue(_seed), window, stop.Token);
            var (lastMetrics, lastBox, lastSoakPause) = (await ServiceMetrics(scrape), BoxCounters.Read(), GC.GetTotalPauseDuration());
            var samples = new List<Sample>();
            var watch = Stopwatch.StartNew();
            var nextRetrain = TimeSpan.Zero;
            int retrains = 0, swaps = 0;
            string? snapshot = null;
            ctx.Out.WriteLine($"soak: {duration.TotalMinutes:F0} min, a RetrainNow every {cycle.TotalSeconds:F0} s, {r.GetValue(_rate)} req/s; service pid {serve.Id}");
            using var timer = new PeriodicTimer(every);
            while (watch.Elapsed < duration && await timer.WaitForNextTickAsync())
            {
                if (serve.HasExited)
                {
                    throw new InvalidOperationException($"soak: the service exited with code {serve.ExitCode}; see {Path.Combine(outDir, "serve.log")}");
                }

                var status = await ops.GetStatusAsync(new GetStatusRequest(), auth);
                if (watch.Elapsed >= nextRetrain)
                {
                    try
                    {
                        await ops.RetrainNowAsync(new RetrainNowRequest(), auth);
                        retrains++;
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
                    {
                        LogRetrainStillRunning(ctx, e.Status.Detail); // the last cycle's run has not ended: a slow retrain, reported as such
                    }

                    nextRetrain += cycle;
                }

                if (snapshot is not null && status.SnapshotId != snapshot)
                {
                    swaps++;
                }

                snapshot = status.SnapshotId;
                var taken = window.Take();
                var proc = ProcStatus(serve.Id);
                var metrics = await ServiceMetrics(scrape);
                var box = BoxCounters.Read();
                var soakPause = GC.GetTotalPauseDuration();
                var causes = new WindowCauses(taken.P99ByKind[0], taken.P99ByKind[1], taken.P99ByKind[2], taken.MaxMs,
                    (metrics.GcPauseSeconds - lastMetrics.GcPauseSeconds) * 1000, (soakPause - lastSoakPause).TotalMilliseconds,
                    (box.StealTicks - lastBox.StealTicks) * BoxCounters.MsPerTick, (box.IowaitTicks - lastBox.IowaitTicks) * BoxCounters.MsPerTick, box.DirtyMb);
                (lastMetrics, lastBox, lastSoakPause) = (metrics, box, soakPause);
                var sample = new Sample(watch.Elapsed.TotalMinutes, proc.RssKb / 1024.0, metrics.HeapMb, metrics.CommittedMb, OpenFiles(serve.Id), proc.Threads, taken.Requests, taken.Errors, taken.P50, taken.P99, snapshot, swaps, retrains, status.LastRunState) { Causes = causes };
                samples.Add(sample);
                ctx.Out.WriteLine(Row(sample));
            }

            await stop.CancelAsync();
            await load;
            var verdict = Judge(samples, warmup, cycle);
            Write(outDir, samples, verdict, duration, cycle, warmup, r.GetValue(_rate));
            foreach (var line in verdict.Lines)
            {
                ctx.Out.WriteLine(line);
            }

            return verdict.Passed ? RecommenderCli.ExitOk : RecommenderCli.ExitFailure;
        }
        finally
        {
            _ = NativeSignals.Kill(serve.Id, NativeSignals.SigTerm);
            if (!serve.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                serve.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>This executable's `serve` verb, as an operator would start it (the development token, loopback addresses).</summary>
    private static Process StartServe(string artifacts, string data, string onlineLog, string grpc, string http, string logPath)
    {
        // This build's executable beside this assembly (the apphost), else the assembly through dotnet.
        var assembly = typeof(SoakTest).Assembly.Location;
        var apphost = Path.Combine(Path.GetDirectoryName(assembly)!, "Recommender.Host");
        var self = File.Exists(apphost) ? apphost : "dotnet";
        var start = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (!File.Exists(apphost))
        {
            start.ArgumentList.Add(assembly);
        }

        foreach (var a in new[] { "serve", "--artifacts", artifacts, "--data", data, "--online-log", onlineLog, "--urls", grpc, "--http-urls", http, "--environment", "Development" })
        {
            start.ArgumentList.Add(a);
        }

        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"soak: cannot start {self}");
        process.OutputDataReceived += (_, e) => { lock (log) { if (e.Data is not null) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { lock (log) { if (e.Data is not null) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<long[]> WaitUntilServing(RecommendationService.RecommendationServiceClient service, Process serve, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                var popular = await service.GetPopularAsync(new GetPopularRequest { K = 100 }, deadline: DateTime.UtcNow.AddSeconds(5));
                return [.. popular.Items.Select(i => i.TrackId)];
            }
            catch (RpcException) when (DateTime.UtcNow < deadline && !serve.HasExited)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>Open-loop callers: each keeps its own schedule, so a slow answer does not lower the offered load.</summary>
    private static Task Load(RecommendationService.RecommendationServiceClient service, long[] tracks, int rate, int maxUser, ulong seed, LatencyWindow window, CancellationToken stop)
    {
        const int Callers = 16;
        var interval = TimeSpan.FromSeconds(Callers / (double)rate);
        return Task.WhenAll(Enumerable.Range(0, Callers).Select(c => Task.Run(async () =>
        {
            var rng = new Numerics.Rng(seed * 7919 + (ulong)c);
            var next = Stopwatch.GetTimestamp();
            while (!stop.IsCancellationRequested)
            {
                var start = Stopwatch.GetTimestamp();
                var ok = true;
                var pick = rng.Next(100);
                try
                {
                    var user = 1 + rng.Next(maxUser);
                    var track = tracks[rng.Next(tracks.Length)];
                    var deadline = DateTime.UtcNow.AddSeconds(5);
                    if (pick < 70)
                    {
                        await service.GetRecommendationsAsync(new GetRecommendationsRequest { UserId = user, K = 10 }, deadline: deadline, cancellationToken: stop);
                    }
                    else if (pick < 85)
                    {
                        await service.GetSimilarTracksAsync(new GetSimilarTracksRequest { TrackId = track, K = 10 }, deadline: deadline, cancellationToken: stop);
                    }
                    else
                    {
                        await service.LogListenAsync(new LogListenRequest { UserId = user, TrackId = track }, deadline: deadline, cancellationToken: stop);
                    }
                }
                catch (RpcException) when (!stop.IsCancellationRequested)
                {
                    ok = false;
                }
                catch (RpcException)
                {
                    return; // cancelled at the end of the run
                }

                window.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds, ok, pick < 70 ? 0 : pick < 85 ? 1 : 2);
                next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }, CancellationToken.None)));
    }

    /// <summary>Latencies of the calls that ended since the last sample, all kinds together and per kind (0 recommendations, 1 similar tracks, 2 listens).</summary>
    private sealed class LatencyWindow
    {
        private const int Kinds = 3;
        private readonly object _gate = new();
        private List<double>[] _latencies = NewLists();
        private long _errors;

        public void Add(double ms, bool ok, int kind)
        {
            lock (_gate)
            {
                _latencies[kind].Add(ms);
                _errors += ok ? 0 : 1;
            }
        }

        public (long Requests, long Errors, double P50, double P99, double[] P99ByKind, double MaxMs) Take()
        {
            List<double>[] taken;
            long errors;
            lock (_gate)
            {
                (taken, _latencies) = (_latencies, NewLists());
                (errors, _errors) = (_errors, 0);
            }

            var all = taken.SelectMany(l => l).Order().ToList();
            return (all.Count, errors, Quantile(all, 0.50), Quantile(all, 0.99), [.. taken.Select(l => Quantile([.. l.Order()], 0.99))], all.Count == 0 ? double.NaN : all[^1]);
        }

        private static List<double>[] NewLists() => [.. Enumerable.Range(0, Kinds).Select(_ => new List<double>())];

        private static double Quantile(List<double> sorted, double q) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The box's CPU time stolen by the hypervisor and waiting for I/O (/proc/stat, in ticks), and its dirty and under-writeback page cache (/proc/meminfo).</summary>
    private readonly record struct BoxCounters(long StealTicks, long IowaitTicks, double DirtyMb)
    {
        /// <summary>USER_HZ is 100 on every Linux the runtime supports.</summary>
        public const double MsPerTick = 10;

        public static BoxCounters Read()
        {
            // cpu  user nice system idle iowait irq softirq steal ...
            var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Field(int i) => cpu.Length > i ? long.Parse(cpu[i], CultureInfo.InvariantCulture) : 0;
            double dirtyKb = 0;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("Dirty:", StringComparison.Ordinal) || line.StartsWith("Writeback:", StringComparison.Ordinal))
                {
                    dirtyKb += double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }

            return new BoxCounters(Field(8), Field(5), dirtyKb / 1024);
        }
    }

    private static (long RssKb, int Threads) ProcStatus(int pid)
    {
        long rss = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (rss, threads);
    }

    private static int OpenFiles(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>
    /// The GC heap as the last collection left it, summed over generations, the memory the GC held
    /// committed then, and the service's total time paused in collections (the runtime's meter on
    /// /metrics): RSS minus the committed memory is what the runtime and native code (the parquet
    /// reader) hold outside the GC.
    /// </summary>
    private static async Task<(double HeapMb, double CommittedMb, double GcPauseSeconds)> ServiceMetrics(HttpClient scrape)
    {
        var lines = (await scrape.GetStringAsync(new Uri("/metrics", UriKind.Relative))).Split('\n');
        return (Sum("dotnet_gc_last_collection_heap_size_bytes") / (1 << 20), Sum("dotnet_gc_last_collection_memory_committed_size_bytes") / (1 << 20), Sum("dotnet_gc_pause_time_seconds_total"));

        double Sum(string metric) => lines
            .Where(l => l.StartsWith(metric, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    private static string Row(Sample s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Minutes,6:F2} min  rss {s.RssMb,7:F0} MB  gc heap {s.GcHeapMb,6:F0} MB  committed {s.GcCommittedMb,6:F0} MB  fds {s.Handles,4}  threads {s.Threads,3}  req {s.Requests,6}  err {s.Errors}  p50 {s.P50,6:F2} ms  p99 {s.P99,7:F2} ms (max {s.Causes.MaxMs:F0}; gc pause {s.Causes.ServiceGcPauseMs:F0} ms, steal {s.Causes.StealMs:F0} ms)  swaps {s.Swaps}  retrains {s.Retrains} ({s.RetrainState})");

    internal sealed record Verdict(bool Passed, IReadOnlyList<string> Lines);

    /// <summary>
    /// The pass criteria, on the samples after the warm-up: RSS at the end of every cycle (its steady
    /// state: a swap holds two snapshots for a moment) within ±10% of the first such sample; open
    /// files and threads at the end within a small margin of their value after the warm-up; no
    /// failed request; every later cycle's p99 within 2× of the warm-up's.
    /// </summary>
    internal static Verdict Judge(IReadOnlyList<Sample> samples, TimeSpan warmup, TimeSpan cycle)
    {
        var lines = new List<string>();
        var passed = true;
        void Check(bool ok, string what)
        {
            passed &= ok;
            lines.Add($"{(ok ? "pass" : "FAIL")}: {what}");
        }

        var after = samples.Where(s => s.Minutes * 60 > warmup.TotalSeconds).ToList();
        if (after.Count < 2)
        {
            Check(false, "too few samples after the warm-up to judge");
            return new Verdict(passed, lines);
        }

        // The last sample of each cycle: the steady state before the next retrain starts.
        var cycleEnds = after.GroupBy(s => (int)(s.Minutes * 60 / cycle.TotalSeconds)).Select(g => g.Last()).ToList();
        var baseRss = cycleEnds[0].RssMb;
        var worst = cycleEnds.Max(s => Math.Abs(s.RssMb - baseRss) / baseRss);
        Check(worst <= 0.10, string.Create(CultureInfo.InvariantCulture, $"RSS at each cycle's end within ±10% of the first after warm-up ({baseRss:F0} MB): worst {worst:P1} ({string.Join(", ", cycleEnds.Select(s => $"{s.RssMb:F0}"))} MB)"));
        var first = after[0];
        var last = after[^1];
        Check(last.Handles <= first.Handles + 20, $"open files flat: {first.Handles} after warm-up, {last.Handles} at the end, at most {after.Max(s => s.Handles)}");
        Check(last.Threads <= first.Threads + 10, $"threads flat: {first.Threads} after warm-up, {last.Threads} at the end, at most {after.Max(s => s.Threads)}");
        var errors = samples.Sum(s => s.Errors);
        Check(errors == 0, $"failed requests: {errors} of {samples.Sum(s => s.Requests):N0}");
        var warmP99 = samples.Where(s => s.Minutes * 60 <= warmup.TotalSeconds && !double.IsNaN(s.P99)).Select(s => s.P99).DefaultIfEmpty(double.NaN).Max();
        var worstP99 = after.Where(s => !double.IsNaN(s.P99)).GroupBy(s => (int)(s.Minutes * 60 / cycle.TotalSeconds)).Max(g => g.Max(s => s.P99));
        Check(double.IsNaN(warmP99) || worstP99 <= 2 * warmP99, string.Create(CultureInfo.InvariantCulture, $"p99 of every 10 s window after warm-up within 2x the warm-up's worst ({warmP99:F1} ms): worst {worstP99:F1} ms"));
        var swaps = samples[^1].Swaps;
        Check(swaps >= samples[^1].Retrains - 1, $"snapshots swapped in: {swaps} of {samples[^1].Retrains} retrains started");
        return new Verdict(passed, lines);
    }

    private static void Write(string dir, List<Sample> samples, Verdict verdict, TimeSpan duration, TimeSpan cycle, TimeSpan warmup, int rate)
    {
        var csv = new StringBuilder("minutes,rss_mb,gc_heap_mb,gc_committed_mb,open_files,threads,requests,errors,p50_ms,p99_ms,snapshot,swaps,retrains,retrain_state,"
            + "p99_recommendations_ms,p99_similar_ms,p99_listen_ms,max_ms,service_gc_pause_ms,soak_gc_pause_ms,steal_ms,iowait_ms,dirty_mb\n");
        foreach (var s in samples)
        {
            var c = s.Causes;
            csv.AppendLine(CultureInfo.InvariantCulture, $"{s.Minutes:F3},{s.RssMb:F1},{s.GcHeapMb:F1},{s.GcCommittedMb:F1},{s.Handles},{s.Threads},{s.Requests},{s.Errors},{s.P50:F3},{s.P99:F3},{s.SnapshotId},{s.Swaps},{s.Retrains},{s.RetrainState},"
                + $"{c.P99Recommendations:F3},{c.P99Similar:F3},{c.P99Listen:F3},{c.MaxMs:F3},{c.ServiceGcPauseMs:F1},{c.SoakGcPauseMs:F1},{c.StealMs:F0},{c.IowaitMs:F0},{c.DirtyMb:F1}");
        }

        Data.AtomicFile.WriteAllText(Path.Combine(dir, "soak.csv"), csv.ToString());
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Soak: {duration.TotalMinutes:F0} minutes, {rate} requests/s, a RetrainNow every {cycle.TotalSeconds:F0} s, warm-up {warmup.TotalSeconds:F0} s").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{samples.Sum(s => s.Requests):N0} requests, {samples.Sum(s => s.Errors)} failed; {samples[^1].Swaps} swaps; **{(verdict.Passed ? "passed" : "failed")}**").AppendLine();
        foreach (var line in verdict.Lines)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        }

        if (SwapCollections(Path.Combine(dir, "serve.log")) is { Count: > 0 } swaps)
        {
            var pauses = swaps.Select(c => c.PauseMs).Order().ToArray();
            md.AppendLine().AppendLine(CultureInfo.InvariantCulture,
                $"The collection after each swap (serve.log): {string.Join(", ", swaps.Select(c => $"{c.PauseMs:F0}"))} ms (median {pauses[pauses.Length / 2]:F0}); the replaced snapshot freed by it in {swaps.Count(c => c.Freed)} of {swaps.Count}.");
        }

        md.AppendLine().AppendLine("The slowest windows, with what else happened in them (the service's and the load generator's collection pauses, the CPU time the hypervisor stole, I/O wait, dirty page cache):").AppendLine();
        md.AppendLine("| minute | p99 ms | recommendations / similar / listens p99 ms | slowest call ms | service GC pause ms | load generator GC pause ms | steal ms | iowait ms | dirty MB | retrain |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in SlowestWindows(samples, 5))
        {
            var c = s.Causes;
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Minutes:F1} | {s.P99:F1} | {c.P99Recommendations:F1} / {c.P99Similar:F1} / {c.P99Listen:F1} | {c.MaxMs:F0} | {c.ServiceGcPauseMs:F0} | {c.SoakGcPauseMs:F0} | {c.StealMs:F0} | {c.IowaitMs:F0} | {c.DirtyMb:F0} | {s.RetrainState} |");
        }

        Data.AtomicFile.WriteAllText(Path.Combine(dir, "soak.md"), md.ToString());
        var minutes = samples.Select(s => s.Minutes).ToArray();
        Pipeline.Charts.Lines(Path.Combine(dir, "soak-memory.png"), "Service memory under soak", "minutes", "MB",
            [("RSS", minutes, samples.Select(s => s.RssMb).ToArray()), ("GC heap", minutes, samples.Select(s => s.GcHeapMb).ToArray()), ("GC committed", minutes, samples.Select(s => s.GcCommittedMb).ToArray())]);
        Pipeline.Charts.Lines(Path.Combine(dir, "soak-latency.png"), "Latency per 10 s window", "minutes", "ms",
            [("p50", minutes, samples.Select(s => s.P50).ToArray()), ("p99", minutes, samples.Select(s => s.P99).ToArray())]);
        Pipeline.Charts.Lines(Path.Combine(dir, "soak-handles.png"), "Open files and threads", "minutes", "count",
            [("open files", minutes, samples.Select(s => (double)s.Handles).ToArray()), ("threads", minutes, samples.Select(s => (double)s.Threads).ToArray())]);
    }

    /// <summary>The windows with the highest p99, slowest first.</summary>
    internal static IEnumerable<Sample> SlowestWindows(IEnumerable<Sample> samples, int count) =>
        samples.Where(s => !double.IsNaN(s.P99)).OrderByDescending(s => s.P99).ThenBy(s => s.Minutes).Take(count);

    /// <summary>Each swap's collection as the service logged it (Heap.ReleaseReplaced): its pause and whether the replaced snapshot was freed.</summary>
    internal static List<(double PauseMs, bool Freed)> SwapCollections(string serveLog)
    {
        var found = new List<(double, bool)>();
        if (!File.Exists(serveLog))
        {
            return found;
        }

        using var stream = new FileStream(serveLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); // the service still writes it
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (SwapCollection().Match(line) is { Success: true } m)
            {
                found.Add((double.Parse(m.Groups["ms"].Value, CultureInfo.InvariantCulture), m.Groups["outcome"].Value == "freed"));
            }
        }

        return found;
    }

    [GeneratedRegex(@"the replaced snapshot (?<outcome>freed|still referenced) by a (?<ms>\d+) ms collection")]
    private static partial Regex SwapCollection();

    private static void LogRetrainStillRunning(CliContext ctx, string detail) => ctx.Out.WriteLine($"soak: a retrain was still running at the cycle's start: {detail}");
}
