using Recommender.Data;

namespace Recommender.Serving;

/// <summary>A track's name, artists and genres, made when a request asks for it.</summary>
public sealed record TrackInfo(string Name, string[] Artists, string[] Genres);

/// <summary>
/// Every track's name, artists and genres in a few flat arrays: the names in one block of
/// characters, the artists and genres as indexes into their distinct names. As one object per
/// track and string (TrackInfo, its name, two arrays and their strings) a 100K-track snapshot was
/// half a million objects, which every full collection marked and every compaction moved: with
/// the arrays pinned, the collection after a swap took 75–92 ms with them and 42–57 ms without
/// (docs/benchmarks.md). Reading a track makes its strings then; a reply lists a few dozen.
/// </summary>
public sealed class TrackTable
{
    private readonly StringTable _names;
    private readonly StringTable _artistNames;
    private readonly StringTable _genreNames;
    private readonly int[] _artistOffsets;
    private readonly int[] _artists;
    private readonly int[] _genreOffsets;
    private readonly int[] _genres;

    private TrackTable(StringTable names, StringTable artistNames, int[] artistOffsets, int[] artists, StringTable genreNames, int[] genreOffsets, int[] genres)
    {
        (_names, _artistNames, _artistOffsets, _artists) = (names, artistNames, artistOffsets, artists);
        (_genreNames, _genreOffsets, _genres) = (genreNames, genreOffsets, genres);
    }

    public static TrackTable Empty { get; } = new Builder().Build();

    public int Count => _names.Count;

    /// <summary>Distinct artist names, each stored once.</summary>
    public int DistinctArtists => _artistNames.Count;

    /// <summary>Distinct genre names, each stored once.</summary>
    public int DistinctGenres => _genreNames.Count;

    public TrackInfo this[int item] => new(Name(item), Artists(item), Genres(item));

    public string Name(int item) => _names[item];

    public string[] Artists(int item) => Strings(_artistNames, _artists.AsSpan(_artistOffsets[item], _artistOffsets[item + 1] - _artistOffsets[item]));

    public string[] Genres(int item) => Strings(_genreNames, _genres.AsSpan(_genreOffsets[item], _genreOffsets[item + 1] - _genreOffsets[item]));

    private static string[] Strings(StringTable table, ReadOnlySpan<int> indexes)
    {
        var strings = new string[indexes.Length];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = table[indexes[i]];
        }

        return strings;
    }

    /// <summary>Collects tracks in item order; artist and genre names are stored once each.</summary>
    public sealed class Builder
    {
        private readonly StringTable.Builder _names = new();
        private readonly Distinct _artists = new();
        private readonly Distinct _genres = new();

        public void Add(string name, ReadOnlySpan<string> artists, ReadOnlySpan<string> genres)
        {
            _names.Add(name);
            _artists.AddRow(artists);
            _genres.AddRow(genres);
        }

        public TrackTable Build()
        {
            var (artistNames, artistOffsets, artists) = _artists.Build();
            var (genreNames, genreOffsets, genres) = _genres.Build();
            return new TrackTable(_names.Build(), artistNames, artistOffsets, artists, genreNames, genreOffsets, genres);
        }
    }

    /// <summary>Rows of names as indexes into the distinct names, in first-seen order.</summary>
    private sealed class Distinct
    {
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
        private readonly StringTable.Builder _names = new();
        private readonly List<int> _offsets = [0];
        private readonly List<int> _values = [];

        public void AddRow(ReadOnlySpan<string> row)
        {
            foreach (var name in row)
            {
                if (!_index.TryGetValue(name, out var i))
                {
                    i = _index.Count;
                    _index.Add(name, i);
                    _names.Add(name);
                }

                _values.Add(i);
            }

            _offsets.Add(_values.Count);
        }

        public (StringTable Names, int[] Offsets, int[] Values) Build()
        {
            return (_names.Build(), [.. _offsets], [.. _values]);
        }
    }
}
