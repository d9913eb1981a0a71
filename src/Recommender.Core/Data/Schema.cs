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
    public const string Users = "users";
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
}

/// <summary>Catalog entity types as written in catalog_names.parquet.</summary>
public static class CatalogTypes
{
    public const string Track = "track";
    public const string Album = "album";
    public const string Artist = "artist";
    public const string Genre = "genre";
}
