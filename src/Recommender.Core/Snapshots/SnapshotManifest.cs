using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Recommender.Data;

namespace Recommender.Snapshots;

/// <summary>An input file a snapshot was trained from.</summary>
public sealed record SnapshotInput(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("bytes")] long Bytes);

/// <summary>The days a snapshot was fitted and evaluated on.</summary>
public sealed record SnapshotSplit(
    [property: JsonPropertyName("first_day")] DateOnly FirstDay,
    [property: JsonPropertyName("split_day")] DateOnly? SplitDay,
    [property: JsonPropertyName("last_day")] DateOnly LastDay,
    [property: JsonPropertyName("all_events")] bool AllEvents,
    [property: JsonPropertyName("validation")] string Validation);

/// <summary>The online blend measured best by the replay evaluation, per side (names of <c>Serving.BlendStrategy</c>).</summary>
public sealed record SnapshotBlend(
    [property: JsonPropertyName("warm")] string Warm,
    [property: JsonPropertyName("cold")] string Cold,
    [property: JsonPropertyName("measured_by")] string MeasuredBy);

/// <summary>How long one stage of the train took.</summary>
public sealed record SnapshotTiming(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("peak_working_set_mb")] long PeakWorkingSetMb);

/// <summary>
/// manifest.json: what a snapshot is, how it was made, which list it serves, and every file with
/// its checksum. Written last by the pipeline (a snapshot without it is incomplete); read by
/// serving, the integrity check and the S3 store through this one type.
/// </summary>
public sealed record SnapshotManifest
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    [JsonPropertyName("snapshot_id")]
    public required string SnapshotId { get; init; }

    [JsonPropertyName("created_utc")]
    public required DateTime CreatedUtc { get; init; }

    [JsonPropertyName("inputs")]
    public IReadOnlyList<SnapshotInput> Inputs { get; init; } = [];

    [JsonPropertyName("events")]
    public long Events { get; init; }

    [JsonPropertyName("users")]
    public int Users { get; init; }

    [JsonPropertyName("items")]
    public int Items { get; init; }

    [JsonPropertyName("split")]
    public SnapshotSplit? Split { get; init; }

    /// <summary>The candidate list published as recommendations.parquet (chosen on validation).</summary>
    [JsonPropertyName("served_list")]
    public string ServedList { get; init; } = "";

    [JsonPropertyName("blend")]
    public SnapshotBlend? Blend { get; init; }

    /// <summary>Each candidate list's NDCG@10 on validation, by the list's name.</summary>
    [JsonPropertyName("validation_ndcg_at_10")]
    public IReadOnlyDictionary<string, double> ValidationNdcgAt10 { get; init; } = new Dictionary<string, double>();

    /// <summary>The served list's warm NDCG@10 on the test period; null without one (--all-events) or in snapshots written before it was recorded.</summary>
    [JsonPropertyName("test_served_ndcg_at_10")]
    public double? TestServedNdcgAt10 { get; init; }

    /// <summary>Every setting the models were fitted with, including those chosen on validation; recorded for people, not read back.</summary>
    [JsonPropertyName("parameters")]
    public JsonObject? Parameters { get; init; }

    [JsonPropertyName("ranker_features")]
    public IReadOnlyList<string> RankerFeatures { get; init; } = [];

    [JsonPropertyName("timings")]
    public IReadOnlyList<SnapshotTiming> Timings { get; init; } = [];

    /// <summary>Every other file of the snapshot with its size and checksum.</summary>
    [JsonPropertyName(SnapshotIntegrity.FilesProperty)]
    public IReadOnlyList<SnapshotFile> Files { get; init; } = [];

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes DIR/manifest.json atomically.</summary>
    public void Write(string dir) => AtomicFile.WriteAllText(Path.Combine(dir, FileNames.Manifest), ToJson());

    /// <summary>Reads DIR/manifest.json; a missing file or a bad field is a <see cref="DataException"/> naming it.</summary>
    public static SnapshotManifest Read(string dir)
    {
        var path = Path.Combine(dir, FileNames.Manifest);
        if (!File.Exists(path))
        {
            throw new DataException(path, null, "the snapshot has no manifest: it is incomplete or was not written by train");
        }

        return Parse(File.ReadAllBytes(path), path);
    }

    public static SnapshotManifest Parse(ReadOnlySpan<byte> json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<SnapshotManifest>(json, Json)
                ?? throw new DataException(path, null, "the manifest is empty (null)");
        }
        catch (JsonException e)
        {
            // The message names the field ($.created_utc) that was missing or malformed.
            throw new DataException(path, null, $"not valid JSON for a snapshot manifest: {e.Message}", e);
        }
    }
}
