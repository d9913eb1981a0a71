using System.CommandLine;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Recommender.Host.Configuration;
using Recommender.V1;

namespace Recommender.Host.Cli;

/// <summary>
/// The console's RPCs timed one call at a time (one caller, as a person at the page): InspectUser
/// for random users, InspectTrack for tracks of their answers, SearchTracks for words of those
/// tracks' names. Prints the first call apart (it loads the snapshot's inspector) and p50/p99/max.
/// </summary>
internal sealed class InspectLatency : Verb
{
    private readonly Option<string> _address = CliOption.Text("address", "service address", Endpoints.DefaultGrpcUrl);
    private readonly Option<string> _token = CliOption.Text("token", "the service's ops token", "");
    private readonly Option<int> _calls = CliOption.Int("calls", "calls of each RPC", 200, 1);
    private readonly Option<int> _maxUser = CliOption.Int("max-user", "user ids are drawn from [1, max-user]", 1_374_582, 1);
    private readonly Option<long> _seed = CliOption.Long("seed", "random seed of the user ids", 1, 0);

    public InspectLatency()
        : base("inspect-latency", "measure the console's RPCs (InspectUser, InspectTrack, SearchTracks) one call at a time against a running service (loopback only)") =>
        Options(_address, _token, _calls, _maxUser, _seed);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var address = new Uri(r.GetValue(_address)!);
        if (!address.IsLoopback)
        {
            throw new UsageException("inspect-latency: --address must be a loopback address");
        }

        var calls = r.GetValue(_calls);
        var maxUser = r.GetValue(_maxUser);
        var rng = new Numerics.Rng((ulong)r.GetValue(_seed));
        using var channel = GrpcChannel.ForAddress(address);
        var ops = new OpsService.OpsServiceClient(channel);
        var headers = new Metadata { { "authorization", $"Bearer {r.GetValue(_token)}" } };

        var watch = Stopwatch.StartNew();
        await ops.InspectUserAsync(new InspectUserRequest { UserId = 1 + rng.Next(maxUser) }, headers);
        ctx.Out.WriteLine($"first InspectUser (it loads the inspector unless a console call already did): {watch.Elapsed.TotalMilliseconds:F0} ms");

        var tracks = new List<long>(calls);
        var words = new List<string>(calls);
        var users = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            watch.Restart();
            var reply = await ops.InspectUserAsync(new InspectUserRequest { UserId = 1 + rng.Next(maxUser) }, headers);
            users[i] = watch.Elapsed.TotalMilliseconds;
            if (reply.Answer.Items.Count > 0)
            {
                var track = reply.Answer.Items[rng.Next(reply.Answer.Items.Count)];
                tracks.Add(track.TrackId);
                words.Add(track.Name.Split(' ', StringSplitOptions.RemoveEmptyEntries).OrderByDescending(w => w.Length).First());
            }
        }

        Report(ctx, "InspectUser", users);
        Report(ctx, "InspectTrack", await Time(tracks, t => ops.InspectTrackAsync(new InspectTrackRequest { TrackId = t }, headers).ResponseAsync));
        Report(ctx, "SearchTracks", await Time(words, w => ops.SearchTracksAsync(new SearchTracksRequest { Query = w }, headers).ResponseAsync));
        return 0;
    }

    /// <summary>Each call's wall time in milliseconds, one call at a time.</summary>
    private static async Task<double[]> Time<T>(IReadOnlyList<T> inputs, Func<T, Task> call)
    {
        var ms = new double[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await call(inputs[i]);
            ms[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        return ms;
    }

    private static void Report(CliContext ctx, string rpc, double[] ms)
    {
        if (ms.Length == 0)
        {
            ctx.Out.WriteLine($"{rpc}: no calls");
            return;
        }

        Array.Sort(ms);
        double P(double q) => ms[Math.Min(ms.Length - 1, (int)Math.Ceiling(q * ms.Length) - 1)];
        ctx.Out.WriteLine($"{rpc}: {ms.Length} calls, ms p50 {P(0.50):F2}, p99 {P(0.99):F2}, max {ms[^1]:F2}");
    }
}
