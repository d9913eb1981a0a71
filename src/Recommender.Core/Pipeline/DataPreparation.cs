using System.Text.Json;
using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Pipeline;

/// <summary>The raw export read into memory: the catalog and the event log share the dense item index.</summary>
/// <param name="ItemListeners">Distinct listeners per item, counted once for the report, EDA, items and events.</param>
public sealed record PreparedData(TrackCatalog Catalog, EventLog Events, QualityReport Quality, int[] ItemListeners)
{
    /// <summary>num_users_norm of every track (items.parquet, events.parquet, top_popular.parquet), derived once.</summary>
    public double[] NumUsersNorm { get; } = DataPreparation.NormalizedUsers(ItemListeners);
}

/// <summary>Everything the data-quality check found, for machines (JSON) and people (Markdown).</summary>
public sealed record QualityReport(CatalogQuality Catalog, InteractionsQuality Interactions, long TracksNeverPlayed)
{
    public string ToMarkdown()
    {
        var c = Catalog;
        var i = Interactions;
        var lines = new List<string>
        {
            "# Data quality",
            "",
            "| check | value |",
            "|---|---|",
            $"| tracks.parquet rows | {c.TrackRows:N0} |",
            $"| catalog_names.parquet rows | {c.CatalogRows:N0} ({string.Join(", ", c.CatalogRowsByType.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}"))}) |",
            $"| interactions.parquet rows | {i.Rows:N0} |",
            $"| users | {i.Users:N0} |",
            $"| null list cells in tracks | {c.NullListCells:N0} |",
            $"| null list elements in tracks | {c.NullListElements:N0} |",
            $"| null names in catalog | {c.NullNames:N0} |",
            $"| duplicate (id, type) keys in catalog | {c.DuplicateCatalogKeys:N0} |",
            $"| ids shared across catalog types | {c.IdsSharedAcrossTypes:N0} |",
            $"| tracks without a name | {c.TracksWithoutName:N0} |",
            $"| tracks with no album | {c.EmptyAlbums:N0} |",
            $"| tracks with no artist | {c.EmptyArtists:N0} |",
            $"| tracks with no genre | {c.EmptyGenres:N0} |",
            $"| genre ids without a name (named other_genre_{{id}}) | {c.GenresWithoutName.Length:N0} |",
            $"| tracks carrying an unnamed genre | {c.TracksWithUnnamedGenre:N0} |",
            $"| duplicate events (user, track) | {i.DuplicateEvents:N0} |",
            $"| events of tracks not in tracks.parquet (dropped) | {i.UnknownTrackEvents:N0} |",
            $"| tracks nobody played | {TracksNeverPlayed:N0} |",
            $"| first day | {DateOnly.FromDayNumber(EpochDayNumber + i.FirstDay):yyyy-MM-dd} |",
            $"| last day | {DateOnly.FromDayNumber(EpochDayNumber + i.LastDay):yyyy-MM-dd} |",
            $"| distinct days | {i.DistinctDays:N0} |",
            $"| events before the training window (left out) | {i.EventsBeforeWindow:N0} |",
        };
        return string.Join('\n', lines) + '\n';
    }

    internal static readonly int EpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;
}

/// <summary>Stage 1–2 of the seed: quality checks, EDA, items.parquet and events.parquet.</summary>
public static partial class DataPreparation
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Reads and checks the three input files; throws <see cref="DataException"/> on bad input.</summary>
    /// <param name="windowDays">when given, only the latest this-many days of listens (online ones included) are read into the run.</param>
    /// <param name="releaseMemory">run where the read lets go of a row-sized column (see <see cref="InteractionsReader.Read"/>).</param>
    public static PreparedData Load(string dataDir, ILogger logger, bool dropDuplicates = false, IReadOnlyList<OnlineEvent>? onlineEvents = null, int? windowDays = null, Action? releaseMemory = null)
    {
        LogStage(logger, "reading tracks.parquet and catalog_names.parquet");
        var catalog = TrackCatalog.Read(dataDir);
        LogStage(logger, $"catalog: {catalog.Items.Count:N0} tracks; reading interactions.parquet");
        var (events, quality) = InteractionsReader.Read(dataDir, catalog.Items, logger, dropDuplicates, onlineEvents, windowDays, releaseMemory);
        var counts = events.ItemUserCounts();
        var neverPlayed = counts.LongCount(c => c == 0);
        return new PreparedData(catalog, events, new QualityReport(catalog.Quality, quality, neverPlayed), counts);
    }

    /// <summary>Writes the reports and the two tables; each file appears whole or not at all.</summary>
    public static void Write(PreparedData data, string outDir, ILogger logger, DateOnly? edaWindowStart = null)
    {
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(Path.Combine(outDir, FileNames.QualityJson), JsonSerializer.Serialize(data.Quality, Json));
        AtomicFile.WriteAllText(Path.Combine(outDir, FileNames.QualityMarkdown), data.Quality.ToMarkdown());
        LogStage(logger, "EDA");
        var eda = Eda.Compute(data, edaWindowStart);
        eda.Write(outDir);
        LogStage(logger, "items.parquet and events.parquet, side by side");
        var norm = data.NumUsersNorm;
        // Parquet encodes a file on one thread: the two files take one core each.
        Cores.SideBySide(
            () => WriteItems(data.Catalog, data.ItemListeners, norm, Path.Combine(outDir, FileNames.Items)),
            () => WriteEvents(data.Events, data.Catalog.Items, norm, Path.Combine(outDir, FileNames.Events)));
        data.Events.Users.Save(Path.Combine(outDir, FileNames.UserIds));
        data.Catalog.Items.Save(Path.Combine(outDir, FileNames.ItemIds));
    }

    /// <summary>num_users / max(num_users): 1 for the most played track.</summary>
    public static double[] NormalizedUsers(int[] counts)
    {
        var max = Math.Max(1, counts.Length == 0 ? 1 : counts.Max());
        return counts.Select(c => (double)c / max).ToArray();
    }

    private static void WriteItems(TrackCatalog catalog, int[] counts, double[] norm, string path)
    {
        using var output = new ParquetOutput(path, Tables.Items);
        const int Chunk = 200_000;
        var n = catalog.Items.Count;
        for (var start = 0; start < n; start += Chunk)
        {
            var m = Math.Min(Chunk, n - start);
            var albums = new string[m][];
            var artists = new string[m][];
            var genres = new string[m][];
            var names = new string[m];
            for (var r = 0; r < m; r++)
            {
                var i = start + r;
                albums[r] = catalog.DistinctNames(CatalogTypes.Album, catalog.Albums.Of(i));
                artists[r] = catalog.DistinctNames(CatalogTypes.Artist, catalog.Artists.Of(i));
                genres[r] = catalog.DistinctNames(CatalogTypes.Genre, catalog.Genres.Of(i));
                names[r] = catalog.TrackName(i);
            }

            output.BeginRowGroup();
            output.WriteInt64(catalog.Items.RawIds.Slice(start, m));
            output.WriteStringLists(albums);
            output.WriteStringLists(artists);
            output.WriteStringLists(genres);
            output.WriteStrings(names);
            output.WriteInt32(counts.AsSpan(start, m));
            output.WriteDouble(norm.AsSpan(start, m));
        }

        output.Commit();
    }

    private static void WriteEvents(EventLog events, IdMap items, double[] norm, string path)
    {
        var seqs = events.Seqs ?? throw new ArgumentException("events.parquet is written from the log as read, which holds track_seq; this one is a slice", nameof(events));
        using var output = new ParquetOutput(path, Tables.Events);
        const int TargetRows = 2_000_000;
        var u = 0;
        var userIds = new long[TargetRows + 20_000];
        var itemIds = new long[userIds.Length];
        var micros = new long[userIds.Length];
        var norms = new double[userIds.Length];
        var listened = new bool[userIds.Length];
        listened.AsSpan().Fill(true);
        while (u < events.NumUsers)
        {
            // Whole users per row group, about two million rows each.
            var from = events.UserOffsets[u];
            var end = u;
            while (end < events.NumUsers && events.End(end) - from <= TargetRows)
            {
                end++;
            }

            end = Math.Max(end, u + 1);
            var to = events.UserOffsets[end];
            var rows = to - from;
            if (rows > userIds.Length)
            {
                userIds = new long[rows];
                itemIds = new long[rows];
                micros = new long[rows];
                norms = new double[rows];
                listened = new bool[rows];
                listened.AsSpan().Fill(true);
            }

            // One thread: items.parquet is written beside this file (see Write).
            for (var user = u; user < end; user++)
            {
                var raw = events.Users.RawId(user);
                for (int e = events.Start(user), userEnd = events.End(user); e < userEnd; e++)
                {
                    var r = e - from;
                    userIds[r] = raw;
                    itemIds[r] = items.RawId(events.Items[e]);
                    micros[r] = events.Days[e] * 86_400_000_000L;
                    norms[r] = norm[events.Items[e]];
                }
            }
            output.BeginRowGroup();
            output.WriteInt64(userIds.AsSpan(0, rows));
            output.WriteInt64(itemIds.AsSpan(0, rows));
            output.WriteInt32(seqs.AsSpan(from, rows));
            output.WriteInt64(micros.AsSpan(0, rows));
            output.WriteDouble(norms.AsSpan(0, rows));
            output.WriteBool(listened.AsSpan(0, rows));
            u = end;
        }

        output.Commit();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "prepare: {Stage}")]
    public static partial void LogStage(ILogger logger, string stage);
}
