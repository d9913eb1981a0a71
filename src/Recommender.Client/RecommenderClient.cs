using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Recommender.V1;

namespace Recommender.Client;

/// <summary>A recommended track as the client sees it.</summary>
public sealed record Recommendation(long TrackId, string Name, IReadOnlyList<string> Artists, IReadOnlyList<string> Genres, double Score, Source Source);

public sealed record ServiceStatus(string SnapshotId, DateTime? SnapshotTimeUtc, string MetricsJson, string LastRunId, string LastRunState, string LastRunError, long OnlineEvents, string ServedList);

/// <summary>
/// A small typed wrapper over the generated RecommendationService and OpsService clients.
/// Errors surface as <see cref="RpcException"/> with the server's status code and message.
/// </summary>
public sealed class RecommenderClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly RecommendationService.RecommendationServiceClient _service;
    private readonly OpsService.OpsServiceClient _ops;
    private readonly Metadata? _opsHeaders;

    public RecommenderClient(ChannelBase channel, string? opsToken = null)
    {
        _service = new RecommendationService.RecommendationServiceClient(channel);
        _ops = new OpsService.OpsServiceClient(channel);
        _opsHeaders = opsToken is null ? null : new Metadata { { "authorization", $"Bearer {opsToken}" } };
    }

    private RecommenderClient(GrpcChannel channel, string? opsToken)
        : this((ChannelBase)channel, opsToken) => _ownedChannel = channel;

    /// <summary>Connects to an address such as http://127.0.0.1:5080 (cleartext HTTP/2) or https://host:5080 (TLS, verified against the system's roots).</summary>
    public static RecommenderClient Connect(string address, string? opsToken = null) => new(GrpcChannel.ForAddress(address), opsToken);

    /// <summary>
    /// Connects over TLS to a service whose certificate chains to <paramref name="trustedRoot"/> (a
    /// private CA or a self-signed certificate) instead of the system's roots; the host name is checked as usual.
    /// </summary>
    public static RecommenderClient Connect(string address, X509Certificate2 trustedRoot, string? opsToken = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            {
                return false; // no certificate, or the name does not match
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(trustedRoot);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // a private CA publishes no revocation list
            return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        return new(GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true }), opsToken);
    }

    public async Task<(string SnapshotId, IReadOnlyList<Recommendation> Items)> GetRecommendationsAsync(long userId, int k = 10, CancellationToken cancellation = default)
    {
        var reply = await _service.GetRecommendationsAsync(new GetRecommendationsRequest { UserId = userId, K = k }, cancellationToken: cancellation);
        return (reply.SnapshotId, Map(reply));
    }

    public async Task<IReadOnlyList<Recommendation>> GetSimilarTracksAsync(long trackId, int k = 10, CancellationToken cancellation = default) =>
        Map(await _service.GetSimilarTracksAsync(new GetSimilarTracksRequest { TrackId = trackId, K = k }, cancellationToken: cancellation));

    public async Task<IReadOnlyList<Recommendation>> GetPopularAsync(int k = 10, CancellationToken cancellation = default) =>
        Map(await _service.GetPopularAsync(new GetPopularRequest { K = k }, cancellationToken: cancellation));

    /// <summary>Logs a listen; returns its sequence number in the server's durable log.</summary>
    public async Task<long> LogListenAsync(long userId, long trackId, DateTime? timeUtc = null, CancellationToken cancellation = default)
    {
        var request = new LogListenRequest { UserId = userId, TrackId = trackId };
        if (timeUtc is { } t)
        {
            request.Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.SpecifyKind(t, DateTimeKind.Utc));
        }

        return (await _service.LogListenAsync(request, cancellationToken: cancellation)).Sequence;
    }

    public async Task<string> RetrainNowAsync(CancellationToken cancellation = default) =>
        (await _ops.RetrainNowAsync(new RetrainNowRequest(), _opsHeaders, cancellationToken: cancellation)).RunId;

    public async Task<ServiceStatus> GetStatusAsync(CancellationToken cancellation = default)
    {
        var s = await _ops.GetStatusAsync(new GetStatusRequest(), _opsHeaders, cancellationToken: cancellation);
        return new ServiceStatus(s.SnapshotId, s.SnapshotTime?.ToDateTime(), s.MetricsJson, s.LastRunId, s.LastRunState, s.LastRunError, s.OnlineEvents, s.ServedList);
    }

    /// <summary>The service's latest retrain runs, newest first (ops token).</summary>
    public async Task<IReadOnlyList<RetrainRun>> ListRunsAsync(int limit = 0, CancellationToken cancellation = default) =>
        (await _ops.ListRunsAsync(new ListRunsRequest { Limit = limit }, _opsHeaders, cancellationToken: cancellation)).Runs;

    /// <summary>The running retrain's stage, progress and time left; null when no run is going (ops token).</summary>
    public async Task<RunProgress?> GetRunProgressAsync(CancellationToken cancellation = default) =>
        (await _ops.ListRunsAsync(new ListRunsRequest { Limit = 1 }, _opsHeaders, cancellationToken: cancellation)).Progress;

    /// <summary>A user's listens beside every list the snapshot's models give them, with the ranker's reasons (ops token).</summary>
    public async Task<InspectUserReply> InspectUserAsync(long userId, int k = 0, int history = 0, CancellationToken cancellation = default) =>
        await _ops.InspectUserAsync(new InspectUserRequest { UserId = userId, K = k, History = history }, _opsHeaders, cancellationToken: cancellation);

    /// <summary>A track with its neighbours by ALS, play order and co-listening (ops token).</summary>
    public async Task<InspectTrackReply> InspectTrackAsync(long trackId, int k = 0, CancellationToken cancellation = default) =>
        await _ops.InspectTrackAsync(new InspectTrackRequest { TrackId = trackId, K = k }, _opsHeaders, cancellationToken: cancellation);

    /// <summary>Tracks whose name or artists contain <paramref name="query"/>, the most listened first (ops token).</summary>
    public async Task<IReadOnlyList<ListedTrack>> SearchTracksAsync(string query, int limit = 0, CancellationToken cancellation = default) =>
        (await _ops.SearchTracksAsync(new SearchTracksRequest { Query = query, Limit = limit }, _opsHeaders, cancellationToken: cancellation)).Tracks;

    /// <summary>The serving snapshot's quality, EDA, metrics and manifest JSON (ops token).</summary>
    public async Task<ReportsReply> GetReportsAsync(CancellationToken cancellation = default) =>
        await _ops.GetReportsAsync(new GetReportsRequest(), _opsHeaders, cancellationToken: cancellation);

    /// <summary>Hit rate per hour and the service's current rates (ops token).</summary>
    public async Task<OnlineQualityReply> GetOnlineQualityAsync(int hours = 0, CancellationToken cancellation = default) =>
        await _ops.GetOnlineQualityAsync(new GetOnlineQualityRequest { Hours = hours }, _opsHeaders, cancellationToken: cancellation);

    private static List<Recommendation> Map(RecommendationsReply reply) =>
        reply.Items.Select(i => new Recommendation(i.TrackId, i.Name, [.. i.Artists], [.. i.Genres], i.Score, i.Source)).ToList();

    public void Dispose() => _ownedChannel?.Dispose();
}
