using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Recommender.Data;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Host.Observability;
using Recommender.Numerics;
using Recommender.Serving;
using Recommender.V1;

namespace Recommender.Host.Services;

/// <summary>
/// GetRecommendations, GetSimilarTracks, GetPopular and LogListen over the current snapshot.
/// Every handler is synchronous work on in-memory tables: it leases the current snapshot once and
/// works on it to the end.
/// </summary>
public sealed class RecommendationGrpcService(SnapshotHolder holder, IListenLog online, ServedLists served, IOptions<RecommenderOptions> options, TimeProvider clock, RecommenderMetrics metrics)
    : RecommendationServiceBinding.ServiceBase
{
    /// <summary>Raw ids in the export are non-negative 32-bit integers; anything else cannot exist.</summary>
    public const long MaxRawId = int.MaxValue;

    /// <summary>Listens older than this are not online events (the logs start in 2022).</summary>
    public static readonly DateTime EarliestListen = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public override Task<RecommendationsReply> GetRecommendations(GetRecommendationsRequest request, ServerCallContext context)
    {
        ValidateId("user_id", request.UserId);
        var k = ValidateK(request.K);
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        var onlineItems = Dense(snapshot, online.Recent(request.UserId));
        Span<BlendedItem> blended = k <= 256 ? stackalloc BlendedItem[k] : new BlendedItem[k];
        blended = blended[..Blender.Recommend(snapshot, request.UserId, onlineItems, BlendFor(options.Value, snapshot), blended)];
        var reply = new RecommendationsReply { SnapshotId = snapshot.Id };
        Span<int> rawIds = blended.Length <= 256 ? stackalloc int[blended.Length] : new int[blended.Length];
        for (var i = 0; i < blended.Length; i++)
        {
            var track = Track(snapshot, blended[i].Item, blended[i].Score, ToProto(blended[i].Source));
            reply.Items.Add(track);
            rawIds[i] = (int)track.TrackId; // raw ids are at most 2³¹−1 (MaxRawId)
        }

        served.Remember(request.UserId, rawIds); // a later listen of one of these is a hit
        return Task.FromResult(reply);
    }

    /// <summary>Core's source to the proto's: named, not cast, so renumbering either side cannot mislabel an answer.</summary>
    internal static Source ToProto(RecommendationSource source) => source switch
    {
        RecommendationSource.Personal => Source.Personal,
        RecommendationSource.Online => Source.Online,
        RecommendationSource.Popular => Source.Popular,
        RecommendationSource.Similar => Source.Similar,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "no proto counterpart"),
    };

    /// <summary>The blend the options ask for; "Measured" follows the snapshot's replay.</summary>
    internal static BlendChoice BlendFor(RecommenderOptions options, ServingSnapshot snapshot) => options.Blend switch
    {
        BlendMode.Interleave => BlendChoice.All(BlendStrategy.Interleave),
        BlendMode.RankFusion => BlendChoice.All(BlendStrategy.RankFusion),
        BlendMode.OfflineOnly => BlendChoice.All(BlendStrategy.OfflineOnly),
        _ => snapshot.MeasuredBlend ?? BlendChoice.Default,
    };

    public override Task<RecommendationsReply> GetSimilarTracks(GetSimilarTracksRequest request, ServerCallContext context)
    {
        ValidateId("track_id", request.TrackId);
        var k = ValidateK(request.K);
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        var item = snapshot.Items.IndexOf(request.TrackId);
        if (item < 0)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"track_id {request.TrackId} is not in the catalog"));
        }

        Span<ScoredItem> similar = k <= 256 ? stackalloc ScoredItem[k] : new ScoredItem[k];
        similar = similar[..snapshot.SimilarTracks(item, similar)];
        var reply = new RecommendationsReply { SnapshotId = snapshot.Id };
        foreach (var s in similar)
        {
            reply.Items.Add(Track(snapshot, s.Item, s.Score, Source.Similar));
        }

        return Task.FromResult(reply);
    }

    public override Task<RecommendationsReply> GetPopular(GetPopularRequest request, ServerCallContext context)
    {
        var k = ValidateK(request.K);
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        Span<ScoredItem> popular = k <= 256 ? stackalloc ScoredItem[k] : new ScoredItem[k];
        popular = popular[..snapshot.Popular.Recommend(-1, [], k, popular)];
        var reply = new RecommendationsReply { SnapshotId = snapshot.Id };
        foreach (var p in popular)
        {
            reply.Items.Add(Track(snapshot, p.Item, p.Score, Source.Popular));
        }

        return Task.FromResult(reply);
    }

    public override async Task<LogListenReply> LogListen(LogListenRequest request, ServerCallContext context)
    {
        ValidateId("user_id", request.UserId);
        ValidateId("track_id", request.TrackId);
        // The id map only, no table: the current snapshot without a lease, none held across the append.
        var snapshot = holder.Current ?? throw NoSnapshot();
        if (snapshot.Items.IndexOf(request.TrackId) < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"track_id {request.TrackId} is not in the catalog"));
        }

        var time = ValidateTime(request.Time, clock.GetUtcNow().UtcDateTime);

        try
        {
            var sequence = await online.AppendAsync(new OnlineEvent(request.UserId, request.TrackId, time), context.CancellationToken);
            metrics.ListenLogged(served.Classify(request.UserId, request.TrackId));
            return new LogListenReply { Sequence = sequence };
        }
        catch (OnlineLogWriteException e)
        {
            // Nothing of the listen was kept: the caller may retry. Reads keep serving.
            throw new RpcException(new Status(e.DiskFull ? StatusCode.ResourceExhausted : StatusCode.Unavailable, e.Message));
        }
    }

    /// <summary>The current snapshot for one request (its tables stay mapped until the lease is disposed); UNAVAILABLE before the first load.</summary>
    private SnapshotLease Lease() => holder.Lease() is { Snapshot: not null } lease ? lease : throw NoSnapshot();

    private static RpcException NoSnapshot() => new(new Status(StatusCode.Unavailable, "no snapshot is loaded yet"));

    /// <summary>A raw id field: refused naming the field when outside [0, <see cref="MaxRawId"/>].</summary>
    internal static void ValidateId(string field, long id)
    {
        if (id is < 0 or > MaxRawId)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} must be in [0, {MaxRawId}] (got {id})"));
        }
    }

    /// <summary>Unset means now; otherwise a valid protobuf Timestamp from 2000 on and at most a day ahead of the server's clock.</summary>
    private static DateTime ValidateTime(Timestamp? time, DateTime now)
    {
        if (time is null)
        {
            return now;
        }

        // Timestamp.ToDateTime throws outside year 1..9999 or for nanos outside [0, 1e9): check first.
        const long MinSeconds = -62_135_596_800, MaxSeconds = 253_402_300_799;
        if (time.Seconds is < MinSeconds or > MaxSeconds || time.Nanos is < 0 or > 999_999_999)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"time is not a valid timestamp (seconds {time.Seconds}, nanos {time.Nanos})"));
        }

        var value = time.ToDateTime();
        if (value < EarliestListen || value > now.AddDays(1))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"time {value:O} is out of range (from {EarliestListen:yyyy-MM-dd}, at most a day after the server's clock {now:O})"));
        }

        return value;
    }

    private int ValidateK(int k)
    {
        var max = options.Value.MaxK;
        return k is >= 1 && k <= max ? k : throw new RpcException(new Status(StatusCode.InvalidArgument, $"k must be in [1, {max}] (got {k})"));
    }

    private static int[] Dense(ServingSnapshot snapshot, long[] rawTracks)
    {
        var dense = new List<int>(rawTracks.Length);
        foreach (var raw in rawTracks)
        {
            var i = snapshot.Items.IndexOf(raw);
            if (i >= 0)
            {
                dense.Add(i);
            }
        }

        return [.. dense];
    }

    private static RecommendedTrack Track(ServingSnapshot snapshot, int item, double score, Source source)
    {
        var info = snapshot.Tracks[item];
        var track = new RecommendedTrack { TrackId = snapshot.Items.RawId(item), Name = info.Name, Score = score, Source = source };
        track.Artists.AddRange(info.Artists);
        track.Genres.AddRange(info.Genres);
        return track;
    }
}
