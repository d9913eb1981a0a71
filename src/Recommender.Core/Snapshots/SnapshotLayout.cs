using Recommender.Data;

namespace Recommender.Snapshots;

/// <summary>How a snapshot file is encoded.</summary>
public enum SnapshotFormat
{
    Parquet,
    Binary,
    Json,
    Markdown,
    Png,
    Zip,
}

/// <summary>One file of a snapshot: its name, encoding, what it holds, and for parquet its columns.</summary>
public sealed record SnapshotFileSpec(string Name, SnapshotFormat Format, string Holds, IReadOnlyList<ColumnSpec>? Columns = null);

/// <summary>
/// Every file a trained snapshot holds, in one list: the pipeline writes exactly these, serving
/// reads from them, and a test checks a trained snapshot against the list file by file and
/// column by column. Names come from <see cref="FileNames"/>, columns from <see cref="Tables"/>.
/// </summary>
public static class SnapshotLayout
{
    public static IReadOnlyList<SnapshotFileSpec> Files { get; } =
    [
        new(FileNames.Items, SnapshotFormat.Parquet, "every track with its names and all-time listeners (seed)", Tables.Items),
        new(FileNames.Events, SnapshotFormat.Parquet, "every listen with the track's normalised popularity (seed)", Tables.Events),
        new(FileNames.TopPopular, SnapshotFormat.Parquet, "the most listened tracks of the chosen window (seed)", Tables.TopPopular),
        new(FileNames.PersonalAls, SnapshotFormat.Parquet, "ALS top-k for every user with history (seed)", Tables.UserLists),
        new(FileNames.Similar, SnapshotFormat.Parquet, "ALS cosine neighbours of every track (seed)", Tables.NeighborLists),
        new(FileNames.Recommendations, SnapshotFormat.Parquet, "the served list, chosen on validation (seed)", Tables.UserLists),
        new(FileNames.ItemKnn, SnapshotFormat.Parquet, "item-based neighbours (co-listening cosine or EASE)", Tables.NeighborLists),
        new(FileNames.Sequential, SnapshotFormat.Parquet, "tracks most often played next", Tables.NeighborLists),
        new(FileNames.ItemFeatures, SnapshotFormat.Parquet, "the seed's item features and ours", Tables.ItemFeatures),
        new(FileNames.UserFeatures, SnapshotFormat.Parquet, "the seed's user features", Tables.UserFeatures),
        new(FileNames.UserIds, SnapshotFormat.Parquet, "dense user index ↔ raw user_id", Tables.IdMap),
        new(FileNames.ItemIds, SnapshotFormat.Parquet, "dense item index ↔ raw track_id", Tables.IdMap),
        new(FileNames.AlsModel, SnapshotFormat.Binary, "ALS user and item factors (AlsModel)"),
        new(FileNames.AlsIndex, SnapshotFormat.Binary, "IVF index over the item factors (IvfIndex)"),
        new(FileNames.UserHistory, SnapshotFormat.Binary, "each user's listens, CSR by dense index (UserHistory)"),
        new(FileNames.ListenDays, SnapshotFormat.Binary, "the day of each listen of user_history.bin, read per user by the console"),
        new(FileNames.Ranker, SnapshotFormat.Zip, "the LightGBM LambdaRank model (ML.NET)"),
        new(FileNames.RankerFeatures, SnapshotFormat.Binary, "what the ranker's features are computed from: per-track counts, per-user months, track genres and artists (FeatureContext)"),
        new(FileNames.GenreProfile, SnapshotFormat.Binary, "the genre-profile model (GenreProfileModel)"),
        new(FileNames.QualityJson, SnapshotFormat.Json, "data-quality report"),
        new(FileNames.QualityMarkdown, SnapshotFormat.Markdown, "data-quality report"),
        new(FileNames.EdaJson, SnapshotFormat.Json, "EDA figures"),
        new(FileNames.EdaMarkdown, SnapshotFormat.Markdown, "EDA figures"),
        new(FileNames.EdaMonthlyChart, SnapshotFormat.Png, "listens and listeners per month"),
        new(FileNames.EdaEventsPerUserChart, SnapshotFormat.Png, "histogram of listens per user"),
        new(FileNames.EdaEventsPerTrackChart, SnapshotFormat.Png, "histogram of listeners per track"),
        new(FileNames.EdaTopGenresChart, SnapshotFormat.Png, "most played genres"),
        new(FileNames.Metrics, SnapshotFormat.Json, "validation and test-period metrics"),
        new(FileNames.MetricsMarkdown, SnapshotFormat.Markdown, "validation, replay and test-period tables"),
        new(FileNames.Manifest, SnapshotFormat.Json, "SnapshotManifest: what was trained, the served list, every file's checksum; written last"),
    ];

    public static SnapshotFileSpec Of(string name) =>
        Files.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"'{name}' is not a snapshot file", nameof(name));
}
