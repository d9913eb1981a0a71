using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Recommender.Host.Hosting;
using Recommender.Serving;
using Recommender.V1;

namespace Recommender.Host.Services;

/// <summary>
/// GetRecommendations, GetSimilarTracks, GetPopular and LogListen over the current snapshot.
/// Every handler is synchronous work on in-memory tables: it reads the snapshot reference once.
/// </summary>
public sealed class RecommendationGrpcService(SnapshotHolder holder, OnlineEventLog online, IOptions<RecommenderOptions> options, TimeProvider clock)
    : RecommendationService.RecommendationServiceBase
{
    public override Task<RecommendationsReply> GetRecommendations(GetRecommendationsRequest request, ServerCallContext context)
    {
        var k = ValidateK(request.K);
        var snapshot = Snapshot();
        var onlineItems = Dense(snapshot, online.Recent(request.UserId));
        var blended = Blender.Recommend(snapshot, request.UserId, onlineItems, k);
        var reply = new RecommendationsReply { SnapshotId = snapshot.Id };
        foreach (var item in blended)
        {
            reply.Items.Add(Track(snapshot, item.Item, item.Score, (Source)item.Source));
        }

        return Task.FromResult(reply);
    }

    public override Task<RecommendationsReply> GetSimilarTracks(GetSimilarTracksRequest request, ServerCallContext context)
    {
        var k = ValidateK(request.K);
        var snapshot = Snapshot();
        var item = snapshot.Items.IndexOf(request.TrackId);
        if (item < 0)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"track_id {request.TrackId} is not in the catalog"));
        }

        var reply = new RecommendationsReply { SnapshotId = snapshot.Id };
        var neighbors = snapshot.Similar.NeighborsOf(item);
        var scores = snapshot.Similar.ScoresOf(item);
        for (var r = 0; r < neighbors.Length && reply.Items.Count < k; r++)
        {
            reply.Items.Add(Track(snapshot, neighbors[r], scores[r], Source.Similar));
        }

        // Sequential neighbours extend a short list.
        var seq = snapshot.Sequential.NeighborsOf(item);
        var seqScores = snapshot.Sequential.ScoresOf(item);
        for (var r = 0; r < seq.Length && reply.Items.Count < k; r++)
        {
            if (!neighbors.Contains(seq[r]))
            {
                reply.Items.Add(Track(snapshot, seq[r], seqScores[r], Source.Similar));
            }
        }

        return Task.FromResult(reply);
    }

    public override Task<RecommendationsReply> GetPopular(GetPopularRequest request, ServerCallContext context)
    {
        var k = ValidateK(request.K);
        var snapshot = Snapshot();
        var reply = new RecommendationsReply { SnapshotId = snapshot.Id };
        var top = Math.Max(1, snapshot.Popular.Users.Length == 0 ? 1 : snapshot.Popular.Users[0]);
        for (var r = 0; r < snapshot.Popular.Items.Length && r < k; r++)
        {
            reply.Items.Add(Track(snapshot, snapshot.Popular.Items[r], snapshot.Popular.Users[r] / (double)top, Source.Popular));
        }

        return Task.FromResult(reply);
    }

    public override Task<LogListenReply> LogListen(LogListenRequest request, ServerCallContext context)
    {
        var snapshot = Snapshot();
        if (request.UserId < 0 || request.UserId > int.MaxValue)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"user_id must be in [0, {int.MaxValue}] (got {request.UserId})"));
        }

        if (snapshot.Items.IndexOf(request.TrackId) < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"track_id {request.TrackId} is not in the catalog"));
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var time = request.Time is null ? now : request.Time.ToDateTime();
        if (time > now.AddDays(1) || time.Year < 2000)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"time {time:O} is out of range (not before 2000, not in the future)"));
        }

        var sequence = online.Append(new OnlineEvent(request.UserId, request.TrackId, time));
        return Task.FromResult(new LogListenReply { Sequence = sequence });
    }

    private ServingSnapshot Snapshot() =>
        holder.Current ?? throw new RpcException(new Status(StatusCode.Unavailable, "no snapshot is loaded yet"));

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

/// <summary>RetrainNow and GetStatus; the bearer token is checked by <see cref="OpsAuthInterceptor"/>.</summary>
public sealed class OpsGrpcService(RetrainCoordinator coordinator, SnapshotHolder holder, OnlineEventLog online, Quartz.ISchedulerFactory schedulers)
    : OpsService.OpsServiceBase
{
    public override async Task<RetrainNowReply> RetrainNow(RetrainNowRequest request, ServerCallContext context)
    {
        if (!coordinator.TryBegin(out var runId))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"retrain {runId} is already running; one run at a time"));
        }

        // Hand the run to Quartz and answer at once; the run continues on a scheduler thread.
        var scheduler = await schedulers.GetScheduler(context.CancellationToken);
        await scheduler.TriggerJob(Jobs.RetrainJob.Key, new Quartz.JobDataMap { [Jobs.RetrainJob.RunIdKey] = runId }, context.CancellationToken);
        return new RetrainNowReply { RunId = runId };
    }

    public override Task<StatusReply> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        var snapshot = holder.Current;
        var last = coordinator.Last;
        var reply = new StatusReply
        {
            SnapshotId = snapshot?.Id ?? "",
            MetricsJson = snapshot?.MetricsJson ?? "",
            LastRunId = last.RunId,
            LastRunState = last.State.ToString().ToLowerInvariant(),
            LastRunError = last.Error,
            OnlineEvents = online.Count,
        };
        if (snapshot is not null)
        {
            reply.SnapshotTime = Timestamp.FromDateTime(DateTime.SpecifyKind(snapshot.CreatedUtc, DateTimeKind.Utc));
        }

        return Task.FromResult(reply);
    }
}
