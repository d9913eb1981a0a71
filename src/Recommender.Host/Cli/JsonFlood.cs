using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Recommender.Host.Configuration;

namespace Recommender.Host.Cli;

/// <summary>
/// GET requests on the JSON routes from one chosen loopback source address, either as fast as
/// the callers can (a flood) or paced (a light caller, --interval-ms): with two of these, one at
/// nice 10, the per-address limits are measured from outside as a client across a network sees them.
/// </summary>
internal sealed class JsonFlood : Verb
{
    private readonly Option<string> _address = CliOption.Text("address", "the JSON address", Endpoints.DefaultHttpUrl);
    private readonly Option<string> _from = CliOption.Text("from", "the loopback source address the requests leave from (any 127.x.y.z)", "127.0.0.2");
    private readonly Option<int> _seconds = CliOption.Int("seconds", "how long to send", 30, 1, 3600);
    private readonly Option<int> _concurrency = CliOption.Int("concurrency", "concurrent callers (each on its own connection)", 64, 1, 4096);
    private readonly Option<int?> _interval = CliOption.OptionalInt("interval-ms", "if set, each caller sends one request every N ms instead of as fast as it can", 1, 60_000);
    private readonly Option<int> _maxUser = CliOption.Int("max-user", "user ids are drawn from [1, max-user]", 100_000, 1);

    public JsonFlood()
        : base("jsonflood", "send GET /v1/users/{id}/recommendations from one loopback source address and report answers and latency (loopback only)") =>
        Options(_address, _from, _seconds, _concurrency, _interval, _maxUser);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var address = new Uri(r.GetValue(_address)!);
        var from = IPAddress.Parse(r.GetValue(_from)!);
        if (!address.IsLoopback || !IPAddress.IsLoopback(from))
        {
            throw new UsageException("jsonflood: --address and --from must be loopback addresses");
        }

        var duration = TimeSpan.FromSeconds(r.GetValue(_seconds));
        var interval = r.GetValue(_interval) is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
        var maxUser = r.GetValue(_maxUser);
        var latencies = new List<double>[r.GetValue(_concurrency)];
        var codes = new System.Collections.Concurrent.ConcurrentDictionary<int, long>();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, latencies.Length).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = [];
            using var http = new HttpClient(From(from)) { BaseAddress = address };
            var rng = new Numerics.Rng(7919 + (ulong)c);
            var next = Stopwatch.GetTimestamp();
            while (watch.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                int code;
                try
                {
                    using var response = await http.GetAsync(new Uri($"/v1/users/{1 + rng.Next(maxUser)}/recommendations?k=10", UriKind.Relative));
                    await response.Content.ReadAsByteArrayAsync();
                    code = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    code = 0; // no answer at all
                }

                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                codes.AddOrUpdate(code, 1, (_, n) => n + 1);
                if (interval is { } pace)
                {
                    next += (long)(pace.TotalSeconds * Stopwatch.Frequency);
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }
                }
            }
        })));
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Q(double q) => all.Length == 0 ? double.NaN : all[Math.Clamp((int)Math.Ceiling(q * all.Length) - 1, 0, all.Length - 1)];
        var seconds = watch.Elapsed.TotalSeconds;
        ctx.Out.WriteLine($"from {from}: {all.Length} requests in {seconds:F1} s ({all.Length / seconds:F0}/s); answers {string.Join(", ", codes.OrderBy(kv => kv.Key).Select(kv => $"{(kv.Key == 0 ? "none" : kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))}: {kv.Value}"))}");
        ctx.Out.WriteLine($"latency ms: p50 {Q(0.50):F2}, p90 {Q(0.90):F2}, p99 {Q(0.99):F2}, max {Q(1):F2}");
        return codes.ContainsKey(0) || codes.Keys.Any(k => k >= 500) ? RecommenderCli.ExitFailure : RecommenderCli.ExitOk;
    }

    /// <summary>An HTTP handler whose connections leave from <paramref name="source"/>: on Linux any 127.x.y.z is this machine, so callers on one box are told apart by address.</summary>
    internal static SocketsHttpHandler From(IPAddress source) => new()
    {
        ConnectCallback = async (context, cancellation) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellation);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
