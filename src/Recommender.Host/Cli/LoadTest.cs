using System.CommandLine;
using System.Diagnostics;
using Grpc.Net.Client;
using Recommender.V1;
using Recommender.Host.Configuration;

namespace Recommender.Host.Cli;

/// <summary>
/// A bounded load run against a service on this machine: GetRecommendations for random users
/// from concurrent callers, optionally with a RetrainNow in the middle; prints throughput,
/// latency percentiles and failures.
/// </summary>
internal sealed class LoadTest : Verb
{
    private readonly Option<string> _address = CliOption.Text("address", "service address", Endpoints.DefaultGrpcUrl);
    private readonly Option<int> _requests = CliOption.Int("requests", "total requests", 200_000, 1);
    private readonly Option<int> _concurrency = CliOption.Int("concurrency", "concurrent callers", 64, 1, 4096);
    private readonly Option<int> _k = CliOption.Int("k", "items per request", 10, 1);
    private readonly Option<int> _maxUser = CliOption.Int("max-user", "user ids are drawn from [1, max-user]", 1_374_582, 1);
    private readonly Option<string?> _retrainToken = CliOption.OptionalText("retrain-token", "if set, call RetrainNow with this token once a tenth of the requests are done");
    private readonly Option<long> _seed = CliOption.Long("seed", "random seed of the user ids", 1, 0);
    private readonly Option<int?> _probeInterval = CliOption.OptionalInt("probe-interval-ms", "if set, a separate well-behaved caller on its own connection sends one request every N ms (deadline 1 s) and its latencies are reported apart", 1, 60_000);

    public LoadTest()
        : base("loadtest", "measure GetRecommendations throughput and latency against a running service (loopback only)") => Options(_address, _requests, _concurrency, _k, _maxUser, _retrainToken, _seed, _probeInterval);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var address = new Uri(r.GetValue(_address)!);
        if (!address.IsLoopback)
        {
            throw new UsageException("loadtest: --address must be a loopback address");
        }

        var total = r.GetValue(_requests);
        var concurrency = r.GetValue(_concurrency);
        var k = r.GetValue(_k);
        var maxUser = r.GetValue(_maxUser);
        var token = r.GetValue(_retrainToken);
        var seed = (ulong)r.GetValue(_seed);
        var probeInterval = r.GetValue(_probeInterval) ?? 0;
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var client = new RecommendationService.RecommendationServiceClient(channel);
        var latencies = new double[total];
        long next = -1, failures = 0, shed = 0;
        var snapshots = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var failedBy = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var retrainAt = token is null ? long.MaxValue : total / 10;
        string? runId = null;
        var watch = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, concurrency).Select(c => Task.Run(async () =>
        {
            var rng = new Numerics.Rng(seed * 7919 + (ulong)c);
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= total)
                {
                    return;
                }

                if (i == retrainAt)
                {
                    var ops = new OpsService.OpsServiceClient(channel);
                    runId = (await ops.RetrainNowAsync(new RetrainNowRequest(), new Grpc.Core.Metadata { { "authorization", $"Bearer {token}" } })).RunId;
                }

                var start = Stopwatch.GetTimestamp();
                try
                {
                    var reply = await client.GetRecommendationsAsync(new GetRecommendationsRequest { UserId = 1 + rng.Next(maxUser), K = k });
                    if (reply.Items.Count != k)
                    {
                        Interlocked.Increment(ref failures);
                    }

                    snapshots.AddOrUpdate(reply.SnapshotId, 1, (_, n) => n + 1);
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.ResourceExhausted)
                {
                    Interlocked.Increment(ref shed); // the service refused at once: overload, not a failure
                }
                catch (Grpc.Core.RpcException e)
                {
                    Interlocked.Increment(ref failures);
                    failedBy.AddOrUpdate($"{e.StatusCode}: {e.Status.Detail}", 1, (_, n) => n + 1);
                }

                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        })).ToArray();
        using var stopProbe = new CancellationTokenSource();
        var probe = probeInterval > 0 ? Probe(address, k, maxUser, seed, probeInterval, stopProbe.Token) : null;
        await Task.WhenAll(callers);
        var seconds = watch.Elapsed.TotalSeconds;
        await stopProbe.CancelAsync();
        Array.Sort(latencies);
        double P(double q) => latencies[Math.Clamp((int)Math.Ceiling(q * total) - 1, 0, total - 1)];
        ctx.Out.WriteLine($"requests {total}, concurrency {concurrency}, k {k}: {total / seconds:F0} req/s over {seconds:F1} s");
        ctx.Out.WriteLine($"latency ms: p50 {P(0.50):F2}, p90 {P(0.90):F2}, p99 {P(0.99):F2}, max {latencies[^1]:F2}");
        ctx.Out.WriteLine($"failed requests: {failures}, refused with RESOURCE_EXHAUSTED: {shed}");
        foreach (var (what, n) in failedBy.OrderByDescending(kv => kv.Value).Take(5))
        {
            ctx.Out.WriteLine($"  {n} x {what}");
        }

        if (probe is not null)
        {
            var (probeLatencies, probeOk, probeShed, probeFailed) = await probe;
            probeLatencies.Sort();
            double Q(double q) => probeLatencies.Count == 0 ? double.NaN : probeLatencies[Math.Clamp((int)Math.Ceiling(q * probeLatencies.Count) - 1, 0, probeLatencies.Count - 1)];
            ctx.Out.WriteLine($"probe (one request every {probeInterval} ms on its own connection): {probeLatencies.Count} requests, {probeOk} ok, {probeShed} refused, {probeFailed} failed; latency ms p50 {Q(0.50):F2}, p99 {Q(0.99):F2}, max {Q(1):F2}");
        }

        ctx.Out.WriteLine($"answers per snapshot: {string.Join(", ", snapshots.Select(kv => $"{kv.Key}={kv.Value}"))}{(runId is null ? "" : $" (retrain {runId} triggered)")}");
        return failures == 0 ? RecommenderCli.ExitOk : RecommenderCli.ExitFailure;
    }

    /// <summary>A caller that sends at a fixed pace, as a well-behaved client does, while the others overload the service.</summary>
    private static async Task<(List<double> Latencies, int Ok, int Shed, int Failed)> Probe(Uri address, int k, int maxUser, ulong seed, int intervalMs, CancellationToken stop)
    {
        using var channel = GrpcChannel.ForAddress(address);
        var client = new RecommendationService.RecommendationServiceClient(channel);
        var rng = new Numerics.Rng(seed * 104729);
        var latencies = new List<double>();
        int ok = 0, shed = 0, failed = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await client.GetRecommendationsAsync(new GetRecommendationsRequest { UserId = 1 + rng.Next(maxUser), K = k }, deadline: DateTime.UtcNow.AddSeconds(1));
                    ok++;
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.ResourceExhausted)
                {
                    shed++;
                }
                catch (Grpc.Core.RpcException)
                {
                    failed++;
                }

                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }
        catch (OperationCanceledException)
        {
            // the load run ended
        }

        return (latencies, ok, shed, failed);
    }
}
