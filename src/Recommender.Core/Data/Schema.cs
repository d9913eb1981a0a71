namespace Recommender.Data;

/// <summary>The one place that names input and output files and their columns.</summary>
public static class FileNames
{
    public const string Tracks = "tracks.parquet";
    public const string Catalog = "catalog_names.parquet";
    public const string Interactions = "interactions.parquet";

    public const string Items = "items.parquet";
    public const string Events = "events.parquet";
    public const string TopPopular = "top_popular.parquet";
    public const string PersonalAls = "personal_als.parquet";
    public const string Similar = "similar.parquet";
    public const string ItemKnn = "item_knn.parquet";
    public const string Recommendations = "recommendations.parquet";

    public const string UserIds = "user_ids.parquet";
    public const string ItemIds = "item_ids.parquet";
    public const string AlsModel = "als_model.bin";
    public const string AlsIndex = "als_index.bin";
    public const string Sequential = "sequential.parquet";
    public const string ItemFeatures = "item_features.parquet";
    public const string UserFeatures = "user_features.parquet";
    public const string Metrics = "metrics.json";
    public const string MetricsMarkdown = "metrics.md";
    public const string Manifest = "manifest.json";
    public const string QualityJson = "quality.json";
    public const string QualityMarkdown = "quality.md";
    public const string EdaMarkdown = "eda.md";
    public const string EdaJson = "eda.json";
    public const string EdaMonthlyChart = "eda_monthly.png";
    public const string EdaEventsPerUserChart = "eda_events_per_user.png";
    public const string EdaEventsPerTrackChart = "eda_events_per_track.png";
    public const string EdaTopGenresChart = "eda_top_genres.png";
    public const string Ranker = "ranker.zip";
    public const string UserHistory = "user_history.bin";
    public const string RankerFeatures = "ranker_features.bin";
    public const string ListenDays = "listen_days.bin";
    public const string GenreProfile = "genre_profile.bin";
}

/// <summary>Column names of the raw export and of every artifact we write.</summary>
public static class Columns
{
    // tracks.parquet
    public const string TrackId = "track_id";
    public const string Albums = "albums";
    public const string Artists = "artists";
    public const string Genres = "genres";

    // catalog_names.parquet
    public const string Id = "id";
    public const string Type = "type";
    public const string Name = "name";

    // interactions.parquet
    public const string UserId = "user_id";
    public const string TrackSeq = "track_seq";
    public const string StartedAt = "started_at";
    public const string PandasIndex = "__index_level_0__";

    // artifacts
    public const string ItemId = "item_id";
    public const string NumUsers = "num_users";
    public const string NumUsersNorm = "num_users_norm";
    public const string Listened = "listened";
    public const string UsersTop = "users_top";
    public const string UsersTopNorm = "users_top_norm";
    public const string Score = "score";
    public const string Rank = "rank";
    public const string SimilarItemId = "similar_item_id";
    public const string Index = "index";
    public const string RawId = "raw_id";
    public const string NumAlbums = "num_albums";
    public const string GenreScoreMean = "genre_score_mean";
    public const string ListeningMonth = "listening_month";
    public const string TracksListened = "tracks_listened";
    public const string TracksPerMonth = "tracks_per_month";
    public const string PopularityWindow = "popularity_window";
    public const string PopularityTrend = "popularity_trend";
}

/// <summary>
/// The columns of every parquet table we write, in file order: writers create their files from
/// these lists and readers look columns up by these names, so a file's shape is defined once.
/// The seed's column names (data-spec.md, "Output files") come first; extra columns stand after them.
/// </summary>
public static class Tables
{
    public static IReadOnlyList<ColumnSpec> Items { get; } =
    [
        new(Columns.ItemId, ColumnKind.Int64),
        new(Columns.Albums, ColumnKind.StringList),
        new(Columns.Artists, ColumnKind.StringList),
        new(Columns.Genres, ColumnKind.StringList),
        new(Columns.Name, ColumnKind.String),
        new(Columns.NumUsers, ColumnKind.Int32),
        new(Columns.NumUsersNorm, ColumnKind.Double),
    ];

    public static IReadOnlyList<ColumnSpec> Events { get; } =
    [
        new(Columns.UserId, ColumnKind.Int64),
        new(Columns.ItemId, ColumnKind.Int64),
        new(Columns.TrackSeq, ColumnKind.Int16),
        new(Columns.StartedAt, ColumnKind.TimestampMicros),
        new(Columns.NumUsersNorm, ColumnKind.Double),
        new(Columns.Listened, ColumnKind.Bool),
    ];

    /// <summary>The seed's top-popular columns (the window's listeners, normalised, the all-time normalised count and the track's names), then our score and rank.</summary>
    public static IReadOnlyList<ColumnSpec> TopPopular { get; } =
    [
        new(Columns.ItemId, ColumnKind.Int64),
        new(Columns.UsersTop, ColumnKind.Int32),
        new(Columns.UsersTopNorm, ColumnKind.Double),
        new(Columns.NumUsersNorm, ColumnKind.Double),
        new(Columns.Name, ColumnKind.String),
        new(Columns.Albums, ColumnKind.StringList),
        new(Columns.Artists, ColumnKind.StringList),
        new(Columns.Genres, ColumnKind.StringList),
        new(Columns.Score, ColumnKind.Double),
        new(Columns.Rank, ColumnKind.Int32),
    ];

    /// <summary>personal_als.parquet and recommendations.parquet.</summary>
    public static IReadOnlyList<ColumnSpec> UserLists { get; } = ScoredLists(Columns.UserId, Columns.ItemId);

    /// <summary>similar.parquet, item_knn.parquet and sequential.parquet.</summary>
    public static IReadOnlyList<ColumnSpec> NeighborLists { get; } = ScoredLists(Columns.ItemId, Columns.SimilarItemId);

    public static IReadOnlyList<ColumnSpec> IdMap { get; } = [new(Columns.Index, ColumnKind.Int32), new(Columns.RawId, ColumnKind.Int64)];

    public static IReadOnlyList<ColumnSpec> ItemFeatures { get; } =
    [
        new(Columns.ItemId, ColumnKind.Int64),
        new(Columns.NumAlbums, ColumnKind.Int32),
        new(Columns.GenreScoreMean, ColumnKind.Float),
        new(Columns.NumUsers, ColumnKind.Int32),
        new(Columns.PopularityWindow, ColumnKind.Float),
        new(Columns.PopularityTrend, ColumnKind.Float),
    ];

    public static IReadOnlyList<ColumnSpec> UserFeatures { get; } =
    [
        new(Columns.UserId, ColumnKind.Int64),
        new(Columns.ListeningMonth, ColumnKind.Int32),
        new(Columns.TracksListened, ColumnKind.Int32),
        new(Columns.TracksPerMonth, ColumnKind.Float),
    ];

    private static ColumnSpec[] ScoredLists(string rowColumn, string itemColumn) =>
        [new(rowColumn, ColumnKind.Int64), new(itemColumn, ColumnKind.Int64), new(Columns.Score, ColumnKind.Float), new(Columns.Rank, ColumnKind.Int32)];
}

/// <summary>Catalog entity types as written in catalog_names.parquet.</summary>
public static class CatalogTypes
{
    public const string Track = "track";
    public const string Album = "album";
    public const string Artist = "artist";
    public const string Genre = "genre";
}
