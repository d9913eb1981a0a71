using System.Diagnostics.Metrics;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Serving;

namespace Recommender.Host.Observability;

/// <summary>
/// The service's own instruments (meter "Recommender"), exported with ASP.NET Core's HTTP metrics
/// on /metrics in the Prometheus text format. Counters and histograms are recorded where things
/// happen; the snapshot and online-log figures are observed at scrape time, so they cost nothing
/// between scrapes.
/// </summary>
public sealed class RecommenderMetrics : IDisposable
{
    public const string MeterName = "Recommender";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _inFlight;
    private readonly Counter<long> _listens;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _retrains;
    private readonly Histogram<double> _retrainDuration;
    private readonly Counter<long> _refused;
    private readonly OnlineQuality _quality;

    public RecommenderMetrics(IMeterFactory meters, SnapshotHolder holder, IListenLog online, TimeProvider clock, OnlineQuality quality)
    {
        _quality = quality;
        _meter = meters.Create(MeterName);
        _requests = _meter.CreateCounter<long>("recommender.rpc.requests", "{request}", "RPCs answered, by method and gRPC status code");
        _duration = _meter.CreateHistogram<double>("recommender.rpc.duration", "s", "RPC handling time, by method",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OnlineQuality.DurationBounds });
        _inFlight = _meter.CreateUpDownCounter<long>("recommender.rpc.in_flight", "{request}", "RPCs being handled now");
        _listens = _meter.CreateCounter<long>("recommender.online.listens", "{listen}", "listens acknowledged by LogListen since start, by outcome: hit (the track was in the last list served to the user here), miss, unserved (no list remembered)");
        _hits = _meter.CreateCounter<long>("recommender.online.hits", "{listen}", "listens of a track that was in the last list served to the user here: hits / listens is the online hit rate");
        _retrains = _meter.CreateCounter<long>("recommender.retrain.runs", "{run}", "retrain runs finished, by outcome");
        _retrainDuration = _meter.CreateHistogram<double>("recommender.retrain.duration", "s", "retrain run time, by outcome",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600] });
        _refused = _meter.CreateCounter<long>("recommender.limits.refused", "{request}", "requests refused by a per-address limit, by limit: listens, json, ops_token");

        _meter.CreateObservableGauge("recommender.online.events", () => online.Count, "{event}", "events in the durable online log");
        _meter.CreateObservableGauge("recommender.snapshot.age", () => holder.Current is { } s ? new[] { new Measurement<double>((clock.GetUtcNow().UtcDateTime - s.CreatedUtc).TotalSeconds, Id(s)) } : [], "s", "time since the serving snapshot was trained");
        _meter.CreateObservableGauge("recommender.snapshot.users", () => holder.Current is { } s ? new[] { new Measurement<long>(s.Users.Count, Id(s)) } : [], "{user}", "users in the serving snapshot");
        _meter.CreateObservableGauge("recommender.snapshot.tracks", () => holder.Current is { } s ? new[] { new Measurement<long>(s.Items.Count, Id(s)) } : [], "{track}", "tracks in the serving snapshot");
        _meter.CreateObservableGauge("recommender.snapshot.served_ndcg_at_10", () => holder.Current is { } s ? ServedNdcg(s) : [], null, "NDCG@10 of the served list as published with the snapshot (split: validation or test)");
    }

    public void RequestStarted() => _inFlight.Add(1);

    public void RequestFinished(string method, string status, double seconds)
    {
        _inFlight.Add(-1);
        var tags = new KeyValuePair<string, object?>("method", method);
        _requests.Add(1, tags, new KeyValuePair<string, object?>("status", status));
        _duration.Record(seconds, tags);
        if (method == "GetRecommendations")
        {
            _quality.Recommendation(seconds); // the console's rate and p99, bucketed as the histogram above
        }
    }

    public void ListenLogged(ListenOutcome outcome)
    {
        _quality.Listen(outcome);
        _listens.Add(1, new KeyValuePair<string, object?>("outcome", outcome switch
        {
            ListenOutcome.Hit => "hit",
            ListenOutcome.Miss => "miss",
            ListenOutcome.Unserved => "unserved",
            _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not an outcome"),
        }));
        if (outcome == ListenOutcome.Hit)
        {
            _hits.Add(1);
        }
    }

    public void RetrainFinished(RunState outcome, double seconds)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome.ToString());
        _retrains.Add(1, tag);
        _retrainDuration.Record(seconds, tag);
    }

    /// <summary>A request refused by the per-address limit named (CallerLimits.Listens, Json, OpsToken).</summary>
    public void Refused(string limit) => _refused.Add(1, new KeyValuePair<string, object?>("limit", limit));

    public void Dispose() => _meter.Dispose();

    private static KeyValuePair<string, object?> Id(ServingSnapshot s) => new("snapshot_id", s.Id);

    /// <summary>The served list's NDCG@10 as the snapshot's manifest records it: on validation always, on the test period when there was one.</summary>
    private static Measurement<double>[] ServedNdcg(ServingSnapshot s)
    {
        var result = new List<Measurement<double>>(2);
        if (s.ValidationServedNdcgAt10 is { } validation)
        {
            result.Add(new Measurement<double>(validation, Id(s), new("split", "validation")));
        }

        if (s.TestServedNdcgAt10 is { } test)
        {
            result.Add(new Measurement<double>(test, Id(s), new("split", "test")));
        }

        return [.. result];
    }
}
