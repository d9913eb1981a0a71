using ParquetSharp;
using Recommender.Data;

namespace Recommender.Tests.Support;

/// <summary>
/// A hand-made export small enough that every report figure is computed by hand in the tests:
/// four tracks (one never played, one with an unnamed genre, one with no name), three users,
/// six interaction rows of which one points to an unknown track.
/// </summary>
internal static class TinyData
{
    public static readonly DateOnly[] Dates =
    [
        new(2022, 1, 5), new(2022, 1, 6), new(2022, 2, 1), // user 7
        new(2022, 2, 10), new(2022, 2, 11),                // user 3 (second row: unknown track 999)
        new(2022, 2, 15),                                  // user 5
    ];

    public static readonly long?[] Users = [7, 7, 7, 3, 3, 5];
    public static readonly long?[] Tracks = [100, 200, 300, 200, 999, 100];
    public static readonly long?[] Seqs = [1, 2, 3, 1, 2, 1];

    public static string Create(TinyColumn? replaceColumn = null, string? dropColumn = null)
    {
        var dir = TestPaths.NewTempDir();
        WriteCatalog(dir);
        var columns = new List<TinyColumn>
        {
            TinyParquet.Int32(Columns.UserId, Users),
            TinyParquet.Int32(Columns.TrackId, Tracks),
            TinyParquet.Int16(Columns.TrackSeq, Seqs),
            TinyParquet.Timestamp(Columns.StartedAt, TimeUnit.Micros, Dates),
            TinyParquet.Int64(Columns.PandasIndex, 0, 1, 2, 0, 1, 0),
        };
        if (replaceColumn is not null)
        {
            columns[columns.FindIndex(c => c.Name == replaceColumn.Name)] = replaceColumn;
        }

        if (dropColumn is not null)
        {
            columns.RemoveAll(c => c.Name == dropColumn);
        }

        TinyParquet.Write(Path.Combine(dir, FileNames.Interactions), [.. columns]);
        return dir;
    }

    public static void WriteCatalog(string dir)
    {
        TinyParquet.WriteTracks(Path.Combine(dir, FileNames.Tracks),
            (100, [10], [20], [1, 1]),
            (200, [10, 11], [20, 21], [2]),
            (300, [], [], [99]),
            (400, [12], [21], []));
        TinyParquet.WriteCatalog(Path.Combine(dir, FileNames.Catalog),
            (100, "track", "Alpha"), (200, "track", "Beta"), (300, "track", "Gamma"),
            (10, "album", "A10"), (11, "album", "A11"), (12, "album", "A12"), (100, "album", "Album 100"),
            (20, "artist", "Ann"), (21, "artist", "Bob"),
            (1, "genre", "pop"), (2, "genre", "rock"), (2, "genre", "rock"), (20, "genre", "jazz"));
    }
}
