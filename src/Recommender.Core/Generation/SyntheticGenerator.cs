using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Generation;

public sealed record GeneratorOptions
{
    public int Users { get; init; } = 3000;
    public int Tracks { get; init; } = 4000;
    public ulong Seed { get; init; } = 42;

    /// <summary>Mean events per user; the real export has ~162.</summary>
    public double MeanEventsPerUser { get; init; } = 162.1;

    /// <summary>Users per row group of interactions.parquet (also the unit of parallel work).</summary>
    public int UsersPerChunk { get; init; } = 4096;

    public IEnumerable<string> Validate()
    {
        if (Users < 10)
        {
            yield return $"--users must be at least 10 (got {Users})";
        }

        if (Tracks < 50)
        {
            yield return $"--tracks must be at least 50 (got {Tracks})";
        }

        if (Tracks > 20_000_000)
        {
            yield return $"--tracks must be at most 20000000 (got {Tracks}): track ids must fit in int32";
        }

        if (MeanEventsPerUser is < 11 or > 2000)
        {
            yield return $"mean events per user must be in [11, 2000] (got {MeanEventsPerUser})";
        }
    }
}

/// <summary>
/// Writes tracks.parquet, catalog_names.parquet and interactions.parquet in the schema of the
/// Yandex Music export, with its distributions and a learnable structure: users have tastes
/// over genres and artists, listen in sessions that stay with one artist, new releases rise
/// and fade, and users keep arriving all year. Same options, same bytes.
/// </summary>
public sealed partial class SyntheticGenerator
{
    private static readonly DateOnly Year = new(2022, 1, 1);
    private const int Days = 365;
    private const int GenreCount = 173;
    private const int UnnamedGenres = 30;
    private const long TopTrackId = 53404;

    private static readonly string[] GenreNames =
    [
        "pop", "rock", "rusrap", "rap", "electronics", "dance", "hiphop", "alternative", "indie", "metal",
        "rusrock", "ruspop", "foreignrap", "jazz", "classical", "folk", "soundtrack", "house", "techno", "podcasts",
        "rnb", "soul", "blues", "punk", "reggae", "country", "latin", "kpop", "ambient", "lounge",
    ];

    private readonly GeneratorOptions _options;
    private readonly ILogger _logger;

    // Catalog, indexed by internal track / artist / genre number.
    private long[] _trackIds = [];
    private int[] _trackArtist = [];
    private int[] _trackAlbum = [];
    private int[][] _trackGenres = [];
    private int[] _trackRelease = [];
    private bool[] _trackHidesArtist = [];
    private long[] _genreIds = [];
    private long[] _artistIds = [];
    private long[] _albumIds = [];
    private int[] _artistGenre = [];
    private int[] _artistOffsets = [];
    private int[] _artistTracks = [];
    private double[] _artistTrackCum = [];
    private int[] _genreOffsets = [];
    private int[] _genreArtists = [];
    private double[] _genreArtistCum = [];
    private double[] _genreCum = [];
    private double[] _trackCum = [];

    public SyntheticGenerator(GeneratorOptions options, ILogger logger)
    {
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        _options = options;
        _logger = logger;
    }

    public static int DayOf(DateOnly date) => date.DayNumber - DateOnly.FromDayNumber(719162).DayNumber;

    public GenerationSummary Generate(string outDir)
    {
        Directory.CreateDirectory(outDir);
        var rng = Rng.ForStream(_options.Seed, 0);
        BuildCatalog(ref rng);
        WriteTracks(Path.Combine(outDir, FileNames.Tracks));
        WriteCatalog(Path.Combine(outDir, FileNames.Catalog), ref rng);
        var events = WriteInteractions(Path.Combine(outDir, FileNames.Interactions), ref rng);
        return new GenerationSummary(_options.Users, _options.Tracks, events);
    }

    private void BuildCatalog(ref Rng rng)
    {
        var t = _options.Tracks;

        // Genres: 173 sparse ids below 260 with id 11 (pop) the most played; Zipf weights.
        var genrePool = Enumerable.Range(0, 260).Where(i => i != 11).ToArray();
        Shuffle(genrePool, ref rng);
        _genreIds = [11, .. genrePool.Take(GenreCount - 1)];
        var genreWeights = new double[GenreCount];
        for (var g = 0; g < GenreCount; g++)
        {
            genreWeights[g] = 1.0 / (g + 1);
        }

        // Artists: ~1 per 6.5 tracks, lognormal popularity, one primary genre each.
        var artists = Math.Max(5, (int)(t / 6.5));
        _artistGenre = new int[artists];
        var artistPop = new double[artists];
        var gCum = (double[])genreWeights.Clone();
        WeightedChoice.Accumulate(gCum);
        _genreCum = gCum;
        for (var a = 0; a < artists; a++)
        {
            _artistGenre[a] = WeightedChoice.Pick(gCum, ref rng);
            artistPop[a] = Math.Exp(1.5 * rng.NextGaussian());
        }

        _artistIds = SparseIds(artists, 1, 40, ref rng);

        // Tracks: each to an artist (popular artists release more), popularity within the artist lognormal.
        var artistCum = artistPop.Select(p => Math.Sqrt(p)).ToArray();
        WeightedChoice.Accumulate(artistCum);
        _trackArtist = new int[t];
        var trackWeight = new double[t];
        _trackRelease = new int[t];
        _trackGenres = new int[t][];
        _trackHidesArtist = new bool[t];
        for (var i = 0; i < t; i++)
        {
            var a = i < artists ? i : WeightedChoice.Pick(artistCum, ref rng);
            _trackArtist[i] = a;
            trackWeight[i] = artistPop[a] * Math.Exp(rng.NextGaussian());
            var newRelease = rng.NextDouble() < 0.10;
            _trackRelease[i] = newRelease ? rng.Next(Days) : -1;
            if (newRelease)
            {
                trackWeight[i] *= 3; // at its peak; listens fade after release (see Accept)
            }

            var roll = rng.NextDouble();
            var primary = _artistGenre[a];
            _trackGenres[i] = roll < 0.0037 ? [] : roll < 0.3 ? [primary, WeightedChoice.Pick(gCum, ref rng)] : [primary];
            _trackHidesArtist[i] = rng.NextDouble() < 0.0154;
        }

        // Track ids: sparse and increasing from 60,000 (mean gap ~100, max ~10^8 at 1M tracks);
        // the most played track gets the real export's 53404.
        _trackIds = SparseIds(t, 60_000, 200, ref rng);
        var top = 0;
        for (var i = 1; i < t; i++)
        {
            top = trackWeight[i] > trackWeight[top] ? i : top;
        }

        _trackRelease[top] = -1;
        _trackIds[top] = TopTrackId;
        _topTrack = top;

        // Albums: an artist's tracks in runs; a new album starts with probability 0.6 (many singles).
        _artistOffsets = new int[artists + 1];
        foreach (var a in _trackArtist)
        {
            _artistOffsets[a + 1]++;
        }

        for (var a = 0; a < artists; a++)
        {
            _artistOffsets[a + 1] += _artistOffsets[a];
        }

        _artistTracks = new int[t];
        var next = _artistOffsets[..^1].ToArray();
        for (var i = 0; i < t; i++)
        {
            _artistTracks[next[_trackArtist[i]]++] = i;
        }

        _trackAlbum = new int[t];
        var albums = 0;
        for (var a = 0; a < artists; a++)
        {
            for (var p = _artistOffsets[a]; p < _artistOffsets[a + 1]; p++)
            {
                if (p == _artistOffsets[a] || rng.NextDouble() < 0.6)
                {
                    albums++;
                }

                _trackAlbum[_artistTracks[p]] = rng.NextDouble() < 0.000018 ? -1 : albums - 1;
            }
        }

        _albumIds = SparseIds(albums, 1, 30, ref rng);

        _artistTrackCum = new double[t];
        for (var p = 0; p < t; p++)
        {
            _artistTrackCum[p] = trackWeight[_artistTracks[p]];
        }

        for (var a = 0; a < artists; a++)
        {
            WeightedChoice.Accumulate(_artistTrackCum.AsSpan(_artistOffsets[a], _artistOffsets[a + 1] - _artistOffsets[a]));
        }

        // Genre -> artists, weighted by artist popularity.
        _genreOffsets = new int[GenreCount + 1];
        foreach (var g in _artistGenre)
        {
            _genreOffsets[g + 1]++;
        }

        for (var g = 0; g < GenreCount; g++)
        {
            _genreOffsets[g + 1] += _genreOffsets[g];
        }

        _genreArtists = new int[artists];
        _genreArtistCum = new double[artists];
        next = _genreOffsets[..^1].ToArray();
        for (var a = 0; a < artists; a++)
        {
            var p = next[_artistGenre[a]]++;
            _genreArtists[p] = a;
            _genreArtistCum[p] = artistPop[a];
        }

        for (var g = 0; g < GenreCount; g++)
        {
            WeightedChoice.Accumulate(_genreArtistCum.AsSpan(_genreOffsets[g], _genreOffsets[g + 1] - _genreOffsets[g]));
        }

        _trackCum = trackWeight;
        WeightedChoice.Accumulate(_trackCum);
    }

    private int _topTrack;

    private static long[] SparseIds(int count, long start, int maxGap, ref Rng rng)
    {
        var ids = new long[count];
        var id = start;
        for (var i = 0; i < count; i++)
        {
            ids[i] = id;
            id += 1 + rng.Next(maxGap);
        }

        return ids;
    }

    private static void Shuffle<T>(T[] array, ref Rng rng)
    {
        for (var i = array.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (array[i], array[j]) = (array[j], array[i]);
        }
    }

    private void WriteTracks(string path)
    {
        var t = _options.Tracks;
        using var output = new ParquetOutput(path,
        [
            new(Columns.TrackId, ColumnKind.Int64, Optional: true),
            new(Columns.Albums, ColumnKind.Int64List),
            new(Columns.Artists, ColumnKind.Int64List),
            new(Columns.Genres, ColumnKind.Int64List),
        ]);
        const int Chunk = 250_000;
        for (var start = 0; start < t; start += Chunk)
        {
            var n = Math.Min(Chunk, t - start);
            var albumOff = new int[n + 1];
            var artistOff = new int[n + 1];
            var genreOff = new int[n + 1];
            var albums = new List<long>(n);
            var artists = new List<long>(n);
            var genres = new List<long>(n * 2);
            for (var r = 0; r < n; r++)
            {
                var i = start + r;
                if (_trackAlbum[i] >= 0)
                {
                    albums.Add(_albumIds[_trackAlbum[i]]);
                }

                if (!_trackHidesArtist[i])
                {
                    artists.Add(_artistIds[_trackArtist[i]]);
                }

                foreach (var g in _trackGenres[i])
                {
                    genres.Add(_genreIds[g]);
                }

                albumOff[r + 1] = albums.Count;
                artistOff[r + 1] = artists.Count;
                genreOff[r + 1] = genres.Count;
            }

            output.BeginRowGroup();
            output.WriteInt64(_trackIds.AsSpan(start, n));
            output.WriteInt64Lists(albumOff, [.. albums]);
            output.WriteInt64Lists(artistOff, [.. artists]);
            output.WriteInt64Lists(genreOff, [.. genres]);
        }

        output.Commit();
    }

    private void WriteCatalog(string path, ref Rng rng)
    {
        var ids = new List<long>();
        var types = new List<string>();
        var names = new List<string>();
        for (var i = 0; i < _trackIds.Length; i++)
        {
            ids.Add(_trackIds[i]);
            types.Add(CatalogTypes.Track);
            names.Add(i == _topTrack ? "Smells Like Teen Spirit" : $"Song {_trackIds[i]}");
        }

        for (var a = 0; a < _albumIds.Length; a++)
        {
            ids.Add(_albumIds[a]);
            types.Add(CatalogTypes.Album);
            names.Add($"Album {_albumIds[a]}");
        }

        var topArtist = _trackArtist[_topTrack];
        for (var a = 0; a < _artistIds.Length; a++)
        {
            ids.Add(_artistIds[a]);
            types.Add(CatalogTypes.Artist);
            names.Add(a == topArtist ? "Nirvana" : $"Artist {_artistIds[a]}");
        }

        // The 30 least played genres have no name, as in the real catalog.
        for (var g = 0; g < GenreCount - UnnamedGenres; g++)
        {
            ids.Add(_genreIds[g]);
            types.Add(CatalogTypes.Genre);
            names.Add(g < GenreNames.Length ? GenreNames[g] : $"genre {_genreIds[g]}");
        }

        _ = rng;
        using var output = new ParquetOutput(path,
        [
            new(Columns.Id, ColumnKind.Int64, Optional: true),
            new(Columns.Type, ColumnKind.String, Optional: true),
            new(Columns.Name, ColumnKind.String, Optional: true),
        ]);
        const int Chunk = 500_000;
        for (var start = 0; start < ids.Count; start += Chunk)
        {
            var n = Math.Min(Chunk, ids.Count - start);
            output.BeginRowGroup();
            output.WriteInt64(ids.GetRange(start, n).ToArray());
            output.WriteStrings(types.GetRange(start, n).ToArray());
            output.WriteStrings(names.GetRange(start, n).ToArray());
        }

        output.Commit();
    }
}

public sealed record GenerationSummary(int Users, int Tracks, long Events);
