using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Recommender.Tests.Host;
using Recommender.Tests.Support;
using Recommender.V1;

namespace Recommender.Tests.Reliability;

/// <summary>Every field of every request is checked: out-of-range values and malformed messages are INVALID_ARGUMENT naming the field, never UNKNOWN.</summary>
[NonParallelizable]
public class RequestValidationTests
{
    private static RunningService _service = null!;

    [OneTimeSetUp]
    public async Task Start() => _service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));

    [OneTimeTearDown]
    public async Task Stop() => await _service.DisposeAsync();

    private static async Task<RpcException> Call(string method, IMessage request)
    {
        var (status, message) = await RawGrpc.PostAsync(_service.Address, $"/recommender.v1.RecommendationService/{method}", request.ToByteArray());
        return new RpcException(new Status((StatusCode)status, message));
    }

    [TestCase(-1L)]
    [TestCase(long.MinValue)]
    [TestCase(1L + int.MaxValue)]
    [TestCase(long.MaxValue)]
    public async Task GetRecommendations_WithAUserIdThatCannotExist_IsInvalid(long user)
    {
        var e = await Call("GetRecommendations", new GetRecommendationsRequest { UserId = user, K = 5 });
        Assert.That(e.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Status.Detail, Does.StartWith("user_id"));
    }

    [TestCase(-1L, StatusCode.InvalidArgument)]
    [TestCase(long.MinValue, StatusCode.InvalidArgument)]
    [TestCase(long.MaxValue, StatusCode.InvalidArgument)]
    [TestCase(2_000_000_000L, StatusCode.NotFound)]
    public async Task GetSimilarTracks_ChecksTheTrackId(long track, StatusCode expected)
    {
        var e = await Call("GetSimilarTracks", new GetSimilarTracksRequest { TrackId = track, K = 5 });
        Assert.That(e.StatusCode, Is.EqualTo(expected));
        Assert.That(e.Status.Detail, Does.StartWith("track_id"));
    }

    [TestCase(1_000_000_000_000_000L, 0)]
    [TestCase(-1_000_000_000_000_000L, 0)]
    [TestCase(253_402_300_800L, 0)] // 10000-01-01: past protobuf's Timestamp range
    [TestCase(1_700_000_000L, 2_000_000_000)]
    [TestCase(1_700_000_000L, -1)]
    [TestCase(946_684_799L, 0)] // 1999-12-31T23:59:59: before the log's range
    [TestCase(32_503_680_000L, 0)] // 3000-01-01: in the future
    public async Task LogListen_WithATimeOutOfRange_IsInvalid_AndNothingIsLogged(long seconds, int nanos)
    {
        var track = (await _service.Client.GetPopularAsync(1))[0].TrackId;
        var before = (await _service.Client.GetStatusAsync()).OnlineEvents;
        var e = await Call("LogListen", new LogListenRequest { UserId = 7, TrackId = track, Time = new Timestamp { Seconds = seconds, Nanos = nanos } });
        Assert.That(e.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Status.Detail, Does.StartWith("time"));
        Assert.That((await _service.Client.GetStatusAsync()).OnlineEvents, Is.EqualTo(before));
    }

    [TestCase(-1L)]
    [TestCase(1L + int.MaxValue)]
    public async Task LogListen_WithAUserIdThatCannotExist_IsInvalid(long user)
    {
        var e = await Call("LogListen", new LogListenRequest { UserId = user, TrackId = 1 });
        Assert.That(e.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Status.Detail, Does.StartWith("user_id"));
    }

    [TestCase("GetRecommendations")]
    [TestCase("GetSimilarTracks")]
    [TestCase("GetPopular")]
    [TestCase("LogListen")]
    public async Task AMalformedMessage_IsInvalidArgument(string method)
    {
        byte[][] garbage = [[0xFF, 0xFF, 0xFF], [0x0A, 0x7F, 0x01], [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]];
        foreach (var bytes in garbage)
        {
            var (status, message) = await RawGrpc.PostAsync(_service.Address, $"/recommender.v1.RecommendationService/{method}", bytes);
            Assert.That((StatusCode)status, Is.EqualTo(StatusCode.InvalidArgument), $"{Convert.ToHexString(bytes)}: {message}");
        }
    }
}
