using System.Globalization;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Recommender.Client;
using Recommender.Host.Cli;
using Recommender.Host.Configuration;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>
/// Per client address limits on a real Kestrel: each caller connects from its own loopback address
/// (any 127.x.y.z is this machine on Linux), so one address's flood and another's calls are told apart
/// as they would be across a network.
/// </summary>
public class CallerLimitsTests
{
    private static SocketsHttpHandler From(string source) => JsonFlood.From(IPAddress.Parse(source));

    private static RecommenderClient ClientFrom(RunningService service, string source, string? token = ServiceData.Token) =>
        new(GrpcChannel.ForAddress(service.Address, new GrpcChannelOptions { HttpHandler = From(source) }), token);

    private static HttpClient HttpFrom(RunningService service, string source) => new(From(source)) { BaseAddress = new Uri(service.HttpAddress) };

    private static async Task<double> Refused(RunningService service, string limit)
    {
        using var http = HttpFrom(service, "127.0.0.9");
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith("recommender_limits_refused_total{", StringComparison.Ordinal) && l.Contains($"limit=\"{limit}\"", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, string?> Config(params (string Key, string Value)[] limits)
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        foreach (var (key, value) in limits)
        {
            config[$"Limits:{key}"] = value;
        }

        return config;
    }

    [Test]
    public async Task ListenFlood_FromOneAddress_IsRefusedWithRetryAfter_AnotherAddressIsServed()
    {
        await using var service = await RunningService.StartAsync(Config(("ListensPerSecond", "5"))); // a bucket of 10, one more every 200 ms
        var track = (await service.Client.GetPopularAsync(1))[0].TrackId;
        using var flooder = ClientFrom(service, "127.0.0.2");
        int ok = 0, refused = 0;
        RpcException? first = null;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 40; i++)
        {
            try
            {
                await flooder.LogListenAsync(100 + i, track);
                ok++;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                refused++;
                first ??= e;
            }
        }

        var allowed = 10 + (int)(watch.Elapsed.TotalSeconds / 0.2) + 1;
        Assert.That(ok, Is.InRange(10, allowed), "the burst, then the refill's pace");
        Assert.That(refused, Is.EqualTo(40 - ok));
        Assert.That(first!.Status.Detail, Does.Contain("127.0.0.2").And.Contain("Limits:ListensPerSecond"));
        Assert.That(int.Parse(first.Trailers.GetValue("retry-after")!, CultureInfo.InvariantCulture), Is.InRange(1, 60));

        using var light = ClientFrom(service, "127.0.0.3");
        for (var i = 0; i < 5; i++)
        {
            Assert.That(async () => await light.LogListenAsync(900 + i, track), Throws.Nothing, "another address has its own bucket");
        }

        Assert.That(await Refused(service, "listens"), Is.EqualTo(refused));
        var status = await service.Client.GetStatusAsync();
        Assert.That(status.OnlineEvents, Is.EqualTo(ok + 5), "a refused listen is not stored");
    }

    [Test]
    public async Task JsonFlood_FromOneAddress_Gets429WithRetryAfter_AnotherAddressIsServed()
    {
        await using var service = await RunningService.StartAsync(Config(("JsonRequestsPerSecond", "5")));
        using var flooder = HttpFrom(service, "127.0.0.2");
        var codes = new List<HttpStatusCode>();
        HttpResponseMessage? refusal = null;
        for (var i = 0; i < 40; i++)
        {
            var response = await flooder.GetAsync(new Uri("/v1/popular?k=1", UriKind.Relative));
            codes.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests && refusal is null)
            {
                refusal = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.That(codes.Count(c => c == HttpStatusCode.OK), Is.InRange(10, 30));
        Assert.That(codes.Where(c => c != HttpStatusCode.OK), Is.All.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(refusal!.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 60));
        Assert.That(await refusal.Content.ReadAsStringAsync(), Does.Contain("\"code\":8").And.Contain("Limits:JsonRequestsPerSecond"));
        refusal.Dispose();

        using var light = HttpFrom(service, "127.0.0.3");
        for (var i = 0; i < 5; i++)
        {
            using var response = await light.GetAsync(new Uri("/v1/popular?k=1", UriKind.Relative));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another address has its own bucket");
        }

        Assert.That(await service.Client.GetPopularAsync(1), Has.Count.EqualTo(1), "gRPC calls are not counted against the JSON limit");
        Assert.That(await Refused(service, "json"), Is.EqualTo(codes.Count(c => c == HttpStatusCode.TooManyRequests)));
    }

    [Test]
    public async Task ABodyOverTheCap_IsRefused_OnBothAddresses_AndTheServiceKeepsServing()
    {
        await using var service = await RunningService.StartAsync(Config(("MaxRequestBodyBytes", "4096")));
        var track = (await service.Client.GetPopularAsync(1))[0].TrackId;

        // gRPC: a LogListen message past the cap (an unknown field carries the bulk).
        var message = new Recommender.V1.LogListenRequest { UserId = 7, TrackId = track }.ToByteArray().Concat(new byte[] { 0x9A, 0x06, 0x80, 0x40 }).Concat(new byte[8192]).ToArray();
        var (grpcStatus, detail) = await RawGrpc.PostAsync(service.Address, "/recommender.v1.RecommendationService/LogListen", message);
        Assert.That(grpcStatus, Is.EqualTo((int)StatusCode.ResourceExhausted), detail);
        Assert.That(detail, Does.Contain("maximum"), "gRPC's message limit answered");

        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };
        using var big = new StringContent($"{{\"userId\":7,\"trackId\":{track},\"pad\":\"{new string('x', 8192)}\"}}", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("/v1/listens", UriKind.Relative), big);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("Limits:MaxRequestBodyBytes"));

        Assert.That(await service.Client.LogListenAsync(7, track), Is.EqualTo(1), "nothing of the refused bodies was stored; small ones still are");
    }

    [Test]
    public async Task FailedOpsTokens_FromOneAddress_LockItOut_TheRightTokenElsewhereStillWorks()
    {
        await using var service = await RunningService.StartAsync(Config(("FailedOpsTokenAttemptsPerMinute", "3")));
        using var guesser = ClientFrom(service, "127.0.0.2", "wrong-token-0123456789");
        for (var i = 0; i < 3; i++)
        {
            Assert.That(Assert.ThrowsAsync<RpcException>(() => guesser.GetStatusAsync())!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        }

        var locked = Assert.ThrowsAsync<RpcException>(() => guesser.GetStatusAsync())!;
        Assert.That(locked.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(locked.Status.Detail, Does.Contain("Limits:FailedOpsTokenAttemptsPerMinute"));
        Assert.That(int.Parse(locked.Trailers.GetValue("retry-after")!, CultureInfo.InvariantCulture), Is.InRange(1, 60));
        using var sameAddressRightToken = ClientFrom(service, "127.0.0.2");
        Assert.That(Assert.ThrowsAsync<RpcException>(() => sameAddressRightToken.GetStatusAsync())!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), "locked out: the token is not even looked at");

        using var operatorClient = ClientFrom(service, "127.0.0.3");
        Assert.That((await operatorClient.GetStatusAsync()).SnapshotId, Is.Not.Empty);

        // The JSON route of the same check: 401s, then 429 with Retry-After.
        using var http = HttpFrom(service, "127.0.0.4");
        var codes = new List<HttpStatusCode>();
        string? retryAfter = null;
        for (var i = 0; i < 4; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/ops/status", UriKind.Relative));
            request.Headers.TryAddWithoutValidation("authorization", "Bearer wrong-token-0123456789");
            using var response = await http.SendAsync(request);
            codes.Add(response.StatusCode);
            retryAfter = response.Headers.TryGetValues("Retry-After", out var v) ? v.First() : retryAfter;
        }

        Assert.That(codes, Is.EqualTo(new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));
        Assert.That(int.Parse(retryAfter!, CultureInfo.InvariantCulture), Is.InRange(1, 60));
        Assert.That(await Refused(service, "ops_token"), Is.EqualTo(3));
    }

    [Test]
    public void EveryBadLimit_IsListedAtOnce_NamingItsKey()
    {
        var result = new LimitsOptionsValidator().Validate(null, new LimitsOptions { ListensPerSecond = 0, JsonRequestsPerSecond = -1, MaxRequestBodyBytes = 10, FailedOpsTokenAttemptsPerMinute = 0 });
        Assert.That(result.Failures?.Count(), Is.EqualTo(4));
        Assert.That(result.FailureMessage, Does.Contain("Limits:ListensPerSecond").And.Contain("Limits:JsonRequestsPerSecond").And.Contain("Limits:MaxRequestBodyBytes").And.Contain("Limits:FailedOpsTokenAttemptsPerMinute"));
        Assert.That(new LimitsOptionsValidator().Validate(null, new LimitsOptions()).Succeeded, Is.True, "the defaults are valid");

        var config = Config(("JsonRequestsPerSecond", "0"));
        var error = Assert.ThrowsAsync<OptionsValidationException>(async () => await RunningService.StartAsync(config));
        Assert.That(error!.Message, Does.Contain("Limits:JsonRequestsPerSecond"));
    }
}
