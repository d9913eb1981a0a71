using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Recommender.Data;
using Recommender.Diagnostics;
using Recommender.Host.Observability;
using Recommender.Host.State;
using Recommender.Numerics;
using Recommender.Ranking;
using Recommender.Serving;
using Recommender.V1;

namespace Recommender.Host.Services;

/// <summary>The console's reads: a user beside every list, a track, track search, the snapshot's reports and online quality.</summary>
public sealed partial class OpsGrpcService
{
    private const int DefaultK = 10, DefaultHistory = 50, MaxHistory = 500, DefaultSearch = 20, MaxSearch = 100, DefaultHours = 72;

    /// <summary>What each list is, as the console shows it under the column's name.</summary>
    private static readonly Dictionary<string, string> ListDescriptions = new()
    {
        ["served"] = "recommendations.parquet: the list validation chose, written for every user with history",
        ["ranked"] = "LambdaRank trees over the ALS, item-based, similar and popular candidates",
        ["blend"] = "weighted rank fusion of ALS, item-based and genre",
        ["als"] = "implicit ALS: the user's factors against every track's",
        ["itemknn"] = "item-based: tracks listened with the user's tracks",
        ["genre"] = "the user's genre profile: weighted genres of their latest tracks",
        ["similar"] = "ALS neighbours and played-next tracks of the latest listens",
        ["popular"] = "the most listened tracks of the chosen window",
        ["answer"] = "what GetRecommendations answers now: the served list blended with the online listens",
    };

    public override Task<InspectUserReply> InspectUser(InspectUserRequest request, ServerCallContext context)
    {
        RecommendationGrpcService.ValidateId("user_id", request.UserId);
        var k = Count("k", request.K, DefaultK, options.Value.MaxK);
        var historyLength = Count("history", request.History, DefaultHistory, MaxHistory);
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        var inspector = Inspector(snapshot);
        var user = snapshot.Users.IndexOf(request.UserId);
        var onlineRaw = online.Recent(request.UserId);
        var onlineItems = onlineRaw.Select(snapshot.Items.IndexOf).Where(i => i >= 0).ToArray();
        var heardOnline = onlineItems.ToHashSet();
        var reply = new InspectUserReply
        {
            SnapshotId = snapshot.Id,
            UserId = request.UserId,
            Known = snapshot.HistoryOf(user).Length > 0,
            SnapshotListens = snapshot.HistoryOf(user).Length,
            OnlineListens = onlineItems.Length,
        };

        // Newest first: the online listens (the log keeps their order, not their times), then the snapshot's with their day.
        foreach (var item in onlineItems.Reverse().Take(historyLength))
        {
            reply.History.Add(ListenOf(snapshot, item, "", true));
        }

        // One pass over the user (their days read once, ranked once), deep enough that k remain once
        // the tracks heard online since are left out of each list, as the answer leaves them out.
        var inspected = inspector.Inspect(user, k + heardOnline.Count, historyLength - reply.History.Count);
        for (var i = 0; i < inspected.LatestItems.Length; i++)
        {
            reply.History.Add(ListenOf(snapshot, inspected.LatestItems[i], DateOnly.FromDayNumber(Epoch + inspected.LatestDays[i]).ToString("yyyy-MM-dd"), false));
        }

        var heard = snapshot.HistoryOf(user).ToArray().ToHashSet();
        foreach (var list in inspected.Lists)
        {
            var shown = new TrackList { Name = list.Name, Description = ListDescriptions[list.Name] };
            foreach (var x in list.Items.Where(x => !heardOnline.Contains(x.Item)).Take(k))
            {
                var track = Listed(snapshot, x.Item, x.Score, shown.Items.Count + 1);
                track.Heard = heard.Contains(x.Item);
                shown.Items.Add(track);
            }

            reply.Lists.Add(shown);
        }

        foreach (var reasons in inspected.Reasons.Where(r => !heardOnline.Contains(r.Item)).Take(k))
        {
            var explained = new V1.RankedReasons { TrackId = snapshot.Items.RawId(reasons.Item), Score = reasons.Score, Bias = reasons.Bias };
            for (var f = 0; f < FeatureContext.FeatureCount; f++)
            {
                explained.Features.Add(new FeatureReason { Feature = FeatureContext.FeatureNames[f], Value = reasons.Features[f], Contribution = reasons.Contributions[f] });
            }

            reply.RankedReasons.Add(explained);
        }

        var choice = RecommendationGrpcService.BlendFor(options.Value, snapshot);
        var warm = Blender.IsWarm(snapshot.Sources, user);
        var answer = new BlendedItem[k];
        var n = Blender.Recommend(snapshot, request.UserId, onlineItems, choice, answer);
        var answerList = new TrackList { Name = "answer", Description = ListDescriptions["answer"] };
        for (var r = 0; r < n; r++)
        {
            var track = Listed(snapshot, answer[r].Item, answer[r].Score, r + 1);
            track.Source = RecommendationGrpcService.ToProto(answer[r].Source);
            answerList.Items.Add(track);
        }

        reply.Answer = answerList;
        reply.AnswerReason = (warm, onlineItems.Length) switch
        {
            (true, 0) => $"a known user without online listens: the served list ({snapshot.ServedList}) as the snapshot wrote it",
            (true, var o) => $"a known user with {o} online listen(s): the served list ({snapshot.ServedList}) blended with their neighbours by {choice.Warm}",
            (false, 0) => "a cold user with no listens: the most popular tracks",
            (false, var o) => $"a cold user with {o} online listen(s): an ALS fold-in of them blended with their neighbours by {choice.Cold}, popular tracks after",
        };
        return Task.FromResult(reply);
    }

    public override Task<InspectTrackReply> InspectTrack(InspectTrackRequest request, ServerCallContext context)
    {
        RecommendationGrpcService.ValidateId("track_id", request.TrackId);
        var k = Count("k", request.K, DefaultK, options.Value.MaxK);
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        var inspector = Inspector(snapshot);
        var item = snapshot.Items.IndexOf(request.TrackId);
        if (item < 0)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"track_id {request.TrackId} is not in the catalog"));
        }

        var reply = new InspectTrackReply { SnapshotId = snapshot.Id, Track = Listed(snapshot, item, 0, 0), Listeners = inspector.Ranked.Features.Listeners[item] };
        reply.Neighbours.Add(Neighbours(snapshot, "als", "ALS neighbours: cosine of the track factors", snapshot.Similar, item, k));
        reply.Neighbours.Add(Neighbours(snapshot, "next", "played next: the tracks most often heard right after it", snapshot.Sequential, item, k));
        reply.Neighbours.Add(Neighbours(snapshot, "itemknn", "item-based: the tracks most listened by the same users", inspector.ItemKnn.Neighbors, item, k));
        return Task.FromResult(reply);
    }

    public override Task<SearchTracksReply> SearchTracks(SearchTracksRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Query) || request.Query.Length > 200)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"query must be 1 to 200 characters of a track or artist name (got {request.Query.Length})"));
        }

        var limit = Count("limit", request.Limit, DefaultSearch, MaxSearch);
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        var reply = new SearchTracksReply();
        var found = Inspector(snapshot).Search(request.Query, limit);
        for (var r = 0; r < found.Length; r++)
        {
            reply.Tracks.Add(Listed(snapshot, found[r], 0, r + 1));
        }

        return Task.FromResult(reply);
    }

    public override Task<ReportsReply> GetReports(GetReportsRequest request, ServerCallContext context)
    {
        using var lease = Lease();
        var snapshot = lease.Snapshot!;
        WarmInspector(snapshot); // every console page asks for the reports first: a user page opened next finds the models loaded
        string Read(string file) => File.Exists(Path.Combine(snapshot.Directory, file)) ? File.ReadAllText(Path.Combine(snapshot.Directory, file)) : "";
        return Task.FromResult(new ReportsReply
        {
            SnapshotId = snapshot.Id,
            QualityJson = Read(FileNames.QualityJson),
            EdaJson = Read(FileNames.EdaJson),
            MetricsJson = snapshot.MetricsJson,
            ManifestJson = Read(FileNames.Manifest),
        });
    }

    public override Task<OnlineQualityReply> GetOnlineQuality(GetOnlineQualityRequest request, ServerCallContext context)
    {
        var hours = Count("hours", request.Hours, DefaultHours, OnlineQuality.Hours);
        // The hours asked for, or back to the snapshot's hour when that is further (listens since it).
        var now = clock.GetUtcNow().UtcDateTime;
        var sinceSnapshot = holder.Current?.CreatedUtc is { } made ? (int)Math.Min(OnlineQuality.Hours, Math.Ceiling((now - made).TotalHours) + 1) : 0;
        var series = quality.LastHours(Math.Max(hours, sinceSnapshot));
        var (perSecond, p99) = quality.Recommendations();
        var (users, bytes) = served.Footprint();
        var reply = new OnlineQualityReply
        {
            Fleet = quality.Fleet,
            ListensPerMinute = quality.ListensPerMinute(),
            RecommendationsPerSecond = perSecond,
            RecommendationsP99Ms = double.IsFinite(p99) ? p99 : -1,
            RememberedUsers = users,
            RememberedBytes = bytes,
        };
        var since = holder.Current?.CreatedUtc is { } created ? new DateTime(created.Ticks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, DateTimeKind.Utc) : DateTime.MaxValue;
        reply.ListensSinceSnapshot = series.Where(h => h.HourUtc >= since).Sum(h => h.Listens);
        foreach (var h in series[^hours..])
        {
            reply.Hours.Add(new HourOfListens { Hour = Timestamp.FromDateTime(h.HourUtc), Hits = h.Hits, Misses = h.Misses, Unserved = h.Unserved });
        }

        return Task.FromResult(reply);
    }

    /// <summary>The running stage with the time left: the rest of it at its rate so far, then the later stages as long as the serving snapshot's run took.</summary>
    internal static RunProgress Progress(string runId, RunProgressReport report, ServingSnapshot? serving, DateTime now)
    {
        var elapsed = Math.Max(0, (now - report.StageStartedUtc).TotalSeconds);
        var expected = serving is null ? [] : Inspector(serving).Manifest.Timings;
        var completed = report.Completed.ToHashSet();
        var stageLeft = report.Total > 0 && report.Done > 0
            ? elapsed * (report.Total - report.Done) / report.Done
            : Math.Max(0, expected.FirstOrDefault(t => t.Stage == report.Stage)?.Seconds - elapsed ?? 0);
        var later = expected.Where(t => !completed.Contains(t.Stage) && t.Stage != report.Stage).Sum(t => t.Seconds);
        return new RunProgress
        {
            RunId = runId,
            Stage = report.Stage,
            Done = report.Done,
            Total = report.Total,
            StageSeconds = elapsed,
            SecondsLeft = expected.Count == 0 ? -1 : stageLeft + later,
            StagesDone = report.Completed.Count,
            StagesExpected = expected.Count,
        };
    }

    private static readonly int Epoch = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>The current snapshot for one call (its tables stay mapped until the lease is disposed); UNAVAILABLE before the first load.</summary>
    private SnapshotLease Lease() =>
        holder.Lease() is { Snapshot: not null } lease ? lease : throw new RpcException(new Status(StatusCode.Unavailable, "no snapshot is loaded yet"));

    /// <summary>Starts loading the snapshot's inspector in the background (about 30 s and 1.5 GB at full size), once.</summary>
    private static void WarmInspector(ServingSnapshot snapshot)
    {
        if (!snapshot.InspectorLoaded && snapshot.TryRetain())
        {
            _ = Task.Run(() =>
            {
                try
                {
                    Inspector(snapshot);
                }
                catch (RpcException)
                {
                    // Reported to whoever inspects: the same failure is kept by the snapshot.
                }
                finally
                {
                    snapshot.Release(); // the load's own reference: the call that started it has answered
                }
            });
        }
    }

    /// <summary>The snapshot's inspector, loaded on the first console call; a snapshot without its files is a failed precondition naming the file.</summary>
    private static SnapshotInspector Inspector(ServingSnapshot snapshot)
    {
        try
        {
            var fresh = !snapshot.InspectorLoaded;
            var inspector = snapshot.Inspector;
            if (fresh)
            {
                Heap.ReleaseWithoutCompacting(); // the parquet readers' buffers of the load; in the serving process, where a compacting collection stalls every request (Heap)
                Heap.TrimNativeHeap();
            }

            return inspector;
        }
        catch (DataException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"snapshot {snapshot.Id} cannot be inspected: {e.Message}"));
        }
    }

    /// <summary>0 means the default; otherwise 1..max.</summary>
    private static int Count(string field, int value, int fallback, int max) =>
        value == 0 ? Math.Min(fallback, max)
        : value >= 1 && value <= max ? value
        : throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} must be 0 (default {fallback}) or in [1, {max}] (got {value})"));

    private static Listen ListenOf(ServingSnapshot snapshot, int item, string time, bool isOnline)
    {
        var info = snapshot.Tracks[item];
        var listen = new Listen { TrackId = snapshot.Items.RawId(item), Name = info.Name, Time = time, Online = isOnline };
        listen.Artists.AddRange(info.Artists);
        listen.Genres.AddRange(info.Genres);
        return listen;
    }

    private static ListedTrack Listed(ServingSnapshot snapshot, int item, double score, int rank)
    {
        var info = snapshot.Tracks[item];
        var track = new ListedTrack { TrackId = snapshot.Items.RawId(item), Name = info.Name, Score = score, Rank = rank };
        track.Artists.AddRange(info.Artists);
        track.Genres.AddRange(info.Genres);
        return track;
    }

    private static TrackList Neighbours(ServingSnapshot snapshot, string name, string description, Models.NeighborTable table, int item, int k)
    {
        var list = new TrackList { Name = name, Description = description };
        var neighbours = table.NeighborsOf(item);
        var scores = table.ScoresOf(item);
        for (var r = 0; r < Math.Min(k, neighbours.Length); r++)
        {
            list.Items.Add(Listed(snapshot, neighbours[r], scores[r], r + 1));
        }

        return list;
    }
}
