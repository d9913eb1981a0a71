namespace Recommender.Data;

/// <summary>A list column held as CSR over dense item indexes: item i owns Values[Offsets[i]..Offsets[i+1]].</summary>
public sealed record IdLists(int[] Offsets, long[] Values)
{
    public ReadOnlySpan<long> Of(int item) => Values.AsSpan(Offsets[item], Offsets[item + 1] - Offsets[item]);

    public int CountOf(int item) => Offsets[item + 1] - Offsets[item];

    /// <summary>The same lists with each raw id replaced by its dense index in <paramref name="map"/> (−1 where absent); the offsets are shared.</summary>
    public (int[] Offsets, int[] Values) Densify(IdMap map)
    {
        var values = new int[Values.Length];
        for (var p = 0; p < values.Length; p++)
        {
            values[p] = map.IndexOf(Values[p]);
        }

        return (Offsets, values);
    }
}

/// <summary>What reading the catalog noticed; part of the data-quality report.</summary>
public sealed record CatalogQuality
{
    public long TrackRows { get; init; }
    public long CatalogRows { get; init; }
    public long NullListCells { get; init; }
    public long NullListElements { get; init; }
    public long NullNames { get; init; }
    public long DuplicateCatalogKeys { get; init; }
    public long IdsSharedAcrossTypes { get; init; }
    public long TracksWithoutName { get; init; }
    public long EmptyAlbums { get; init; }
    public long EmptyArtists { get; init; }
    public long EmptyGenres { get; init; }
    public long[] GenresWithoutName { get; init; } = [];
    public long TracksWithUnnamedGenre { get; init; }
    public Dictionary<string, long> CatalogRowsByType { get; init; } = [];
}

/// <summary>tracks.parquet and catalog_names.parquet, read once into flat arrays keyed by dense item index.</summary>
public sealed class TrackCatalog
{
    private TrackCatalog(IdMap items, IdLists albums, IdLists artists, IdLists genres, Dictionary<string, Dictionary<long, string>> names, CatalogQuality quality)
    {
        Items = items;
        Albums = albums;
        Artists = artists;
        Genres = genres;
        Names = names;
        Quality = quality;
    }

    public IdMap Items { get; }
    public IdLists Albums { get; }
    public IdLists Artists { get; }
    public IdLists Genres { get; }
    public CatalogQuality Quality { get; }

    /// <summary>Names by catalog type, then by id: (id, type) is the key.</summary>
    public Dictionary<string, Dictionary<long, string>> Names { get; }

    public string TrackName(int item) =>
        Names[CatalogTypes.Track].TryGetValue(Items.RawId(item), out var name) ? name : $"track_{Items.RawId(item)}";

    public string NameOf(string type, long id)
    {
        if (Names.TryGetValue(type, out var byId) && byId.TryGetValue(id, out var name))
        {
            return name;
        }

        return type == CatalogTypes.Genre ? $"other_genre_{id}" : $"{type}_{id}";
    }

    /// <summary>The names of <paramref name="ids"/> of one entity type, each once, in first-seen order (the seed's items columns).</summary>
    public string[] DistinctNames(string type, ReadOnlySpan<long> ids)
    {
        var names = new List<string>(ids.Length);
        foreach (var id in ids)
        {
            var name = NameOf(type, id);
            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        return [.. names];
    }

    public static TrackCatalog Read(string dataDir)
    {
        var tracksPath = Path.Combine(dataDir, FileNames.Tracks);
        var catalogPath = Path.Combine(dataDir, FileNames.Catalog);
        using var tracks = ParquetInput.Open(tracksPath);
        using var catalog = ParquetInput.Open(catalogPath);
        tracks.RequireInteger(Columns.TrackId);
        tracks.RequireIntegerList(Columns.Albums);
        tracks.RequireIntegerList(Columns.Artists);
        tracks.RequireIntegerList(Columns.Genres);
        catalog.RequireInteger(Columns.Id);
        catalog.RequireString(Columns.Type);
        catalog.RequireString(Columns.Name);

        // tracks.parquet in file order.
        var n = checked((int)tracks.NumRows);
        var trackIds = new long[n];
        var lists = new (List<int> Offsets, List<long> Values)[3];
        string[] listColumns = [Columns.Albums, Columns.Artists, Columns.Genres];
        for (var c = 0; c < 3; c++)
        {
            lists[c] = (new List<int>(n + 1) { 0 }, new List<long>(n * 2));
        }

        long nullListCells = 0, nullListElements = 0;
        var at = 0;
        for (var g = 0; g < tracks.RowGroupRows.Length; g++)
        {
            var rows = (int)tracks.RowGroupRows[g];
            var nulls = tracks.ReadIntegers(g, Columns.TrackId, trackIds.AsSpan(at, rows));
            if (nulls > 0)
            {
                throw new DataException(tracksPath, Columns.TrackId, $"{nulls} null ids in row group {g}");
            }

            for (var c = 0; c < 3; c++)
            {
                var offsets = new List<int>(rows + 1);
                var baseCount = lists[c].Values.Count;
                var (nl, ne) = tracks.ReadIntegerLists(g, listColumns[c], offsets, lists[c].Values);
                nullListCells += nl;
                nullListElements += ne;
                for (var r = 1; r < offsets.Count; r++)
                {
                    lists[c].Offsets.Add(baseCount + offsets[r]);
                }
            }

            at += rows;
        }

        var items = IdMap.FromIds(trackIds);
        if (items.Count != n)
        {
            var dup = trackIds.GroupBy(x => x).First(x => x.Count() > 1).Key;
            throw new DataException(tracksPath, Columns.TrackId, $"{n - items.Count} duplicate track ids (for example {dup})");
        }

        // Reorder rows into dense-index order.
        var dense = new int[n];
        for (var r = 0; r < n; r++)
        {
            dense[items.IndexOf(trackIds[r])] = r;
        }

        var albums = Reorder(lists[0], dense);
        var artists = Reorder(lists[1], dense);
        var genres = Reorder(lists[2], dense);

        // catalog_names.parquet
        var names = new Dictionary<string, Dictionary<long, string>>(StringComparer.Ordinal);
        var seen = new Dictionary<long, string>();
        long duplicates = 0, shared = 0, nullNames = 0;
        var rowsByType = new Dictionary<string, long>(StringComparer.Ordinal);
        var sharedIds = new HashSet<long>();
        for (var g = 0; g < catalog.RowGroupRows.Length; g++)
        {
            var rows = (int)catalog.RowGroupRows[g];
            var ids = new long[rows];
            var nullIds = catalog.ReadIntegers(g, Columns.Id, ids);
            if (nullIds > 0)
            {
                throw new DataException(catalogPath, Columns.Id, $"{nullIds} null ids in row group {g}");
            }

            var types = catalog.ReadStrings(g, Columns.Type);
            var values = catalog.ReadStrings(g, Columns.Name);
            for (var r = 0; r < rows; r++)
            {
                var type = types[r] ?? throw new DataException(catalogPath, Columns.Type, $"null type at row {r} of row group {g}");
                rowsByType[type] = rowsByType.GetValueOrDefault(type) + 1;
                if (!names.TryGetValue(type, out var byId))
                {
                    names[type] = byId = [];
                }

                if (values[r] is null)
                {
                    nullNames++;
                    continue;
                }

                if (!byId.TryAdd(ids[r], values[r]!))
                {
                    duplicates++;
                }

                if (seen.TryGetValue(ids[r], out var firstType))
                {
                    if (firstType != type && sharedIds.Add(ids[r]))
                    {
                        shared++;
                    }
                }
                else
                {
                    seen[ids[r]] = type;
                }
            }
        }

        foreach (var type in new[] { CatalogTypes.Track, CatalogTypes.Album, CatalogTypes.Artist, CatalogTypes.Genre })
        {
            names.TryAdd(type, []);
        }

        var genreNames = names[CatalogTypes.Genre];
        var unnamed = new SortedSet<long>();
        long tracksWithUnnamed = 0, withoutName = 0, emptyAlbums = 0, emptyArtists = 0, emptyGenres = 0;
        for (var i = 0; i < n; i++)
        {
            var any = false;
            foreach (var genre in genres.Of(i))
            {
                if (!genreNames.ContainsKey(genre))
                {
                    unnamed.Add(genre);
                    any = true;
                }
            }

            tracksWithUnnamed += any ? 1 : 0;
            withoutName += names[CatalogTypes.Track].ContainsKey(items.RawId(i)) ? 0 : 1;
            emptyAlbums += albums.CountOf(i) == 0 ? 1 : 0;
            emptyArtists += artists.CountOf(i) == 0 ? 1 : 0;
            emptyGenres += genres.CountOf(i) == 0 ? 1 : 0;
        }

        var quality = new CatalogQuality
        {
            TrackRows = n,
            CatalogRows = catalog.NumRows,
            NullListCells = nullListCells,
            NullListElements = nullListElements,
            NullNames = nullNames,
            DuplicateCatalogKeys = duplicates,
            IdsSharedAcrossTypes = shared,
            TracksWithoutName = withoutName,
            EmptyAlbums = emptyAlbums,
            EmptyArtists = emptyArtists,
            EmptyGenres = emptyGenres,
            GenresWithoutName = [.. unnamed],
            TracksWithUnnamedGenre = tracksWithUnnamed,
            CatalogRowsByType = rowsByType,
        };
        return new TrackCatalog(items, albums, artists, genres, names, quality);
    }

    private static IdLists Reorder((List<int> Offsets, List<long> Values) fileOrder, int[] denseToRow)
    {
        var offsets = new int[denseToRow.Length + 1];
        var values = new long[fileOrder.Values.Count];
        var at = 0;
        for (var i = 0; i < denseToRow.Length; i++)
        {
            var r = denseToRow[i];
            var start = fileOrder.Offsets[r];
            var count = fileOrder.Offsets[r + 1] - start;
            for (var j = 0; j < count; j++)
            {
                values[at + j] = fileOrder.Values[start + j];
            }

            at += count;
            offsets[i + 1] = at;
        }

        return new IdLists(offsets, values);
    }
}
