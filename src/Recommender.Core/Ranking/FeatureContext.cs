using System.Numerics.Tensors;
using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Ranking;

/// <summary>One candidate of one user, with what the generators said about it.</summary>
public struct Candidate
{
    public int Item;
    public float AlsScore;
    public int AlsRank;
    public float ItemKnnScore;
    public int ItemKnnRank;
    public float SimilarScore;
    public int SimilarRank;
    public int PopularRank;
    public float GenreScore;
    public int GenreRank;

    /// <summary>The blend's fused score (0 when none of its lists holds the track) and rank among the candidates.</summary>
    public float BlendScore;
    public int BlendRank;

    /// <summary>How many generators proposed the track.</summary>
    public int Sources;
}

/// <summary>
/// Item, user and user–item features for the ranker, computed from the events before a cutoff
/// and the catalog. Built once per fit; read-only afterwards, so scoring runs in parallel.
/// </summary>
public sealed class FeatureContext
{
    public const int FeatureCount = 29;

    /// <summary>The latest listens whose artists count as "played recently" for a candidate.</summary>
    internal const int RecentArtistWindow = 20; // at most 64: one bit per listen in an artist's mask

    public static readonly string[] FeatureNames =
    [
        "als_score", "als_rank", "similar_score", "similar_rank", "popular_rank", "max_cosine_recent", "popularity_window",
        "popularity_trend", "user_genre_share", "user_artist_share", "user_log_tracks", "num_albums", "genre_score_mean",
        "user_tracks_per_month", "item_log_listeners", "popularity_recent", "itemknn_score", "itemknn_rank", "artist_in_recent",
        "genre_score", "genre_rank", "blend_score", "blend_rank", "sources", "user_genre_entropy", "user_days_since_last_listen",
        "item_age_days", "artist_listens_ago", "user_new_track_share",
    ];

    /// <summary>A track first heard at most this many days before the cutoff counts as new (user_new_track_share).</summary>
    internal const int NewTrackDays = 30;

    private readonly int[] _genreOffsets;
    private readonly int[] _genres;
    private readonly int[] _artistOffsets;
    private readonly int[] _artists;
    private readonly int _genreCount;
    private readonly int _artistCount;
    private readonly float[] _normalizedFactors;
    private readonly int _factors;

    // The item's own features, six per item side by side: a candidate's are one cache line, where
    // six separate 1M-entry arrays cost six cache misses per candidate row.
    private const int ItemStride = 6;

    /// <summary>How many candidates ahead their factor rows are prefetched.</summary>
    private const int PrefetchAhead = 4;
    private readonly float[] _itemRows;

    private readonly ScratchPool<int> _genreCounts;
    private readonly ScratchPool<int> _artistCounts;

    /// <summary>Per artist, a bit for each of the user's latest RecentArtistWindow listens by that artist.</summary>
    private readonly ScratchPool<ulong> _recentArtistMasks;

    /// <param name="normalizedFactors">the ALS item factors at unit length when the caller has them (kept, not copied); null computes them.</param>
    public FeatureContext(EventLog events, TrackCatalog catalog, int cutoffDay, AlsModel als, int popularWindowDays, float[]? normalizedFactors = null)
        : this(Count(events, catalog, cutoffDay, popularWindowDays), als, normalizedFactors)
    {
    }

    /// <summary>What the features are computed from, besides the ALS factors: the per-item and per-user counts and each item's dense genres and artists.</summary>
    private sealed record Counts(int[] Listeners, int[] WindowListeners, float[] PopularityWindow, float[] Trend, float[] PopularityRecent,
        float[] GenreScoreMean, int[] NumAlbums, int[] ActiveMonths, int GenreCount, int[] GenreOffsets, int[] Genres, int ArtistCount, int[] ArtistOffsets, int[] Artists,
        int CutoffDay, int[] FirstDay, int[] LastDay);

    private FeatureContext(Counts c, AlsModel als, float[]? normalizedFactors = null)
    {
        if (als.Items != c.Listeners.Length)
        {
            throw new ArgumentException($"the feature counts cover {c.Listeners.Length} items, the ALS model {als.Items}", nameof(als));
        }

        _counts = c;
        (_cutoffDay, _firstDay, _lastDay) = (c.CutoffDay, c.FirstDay, c.LastDay);
        (Listeners, WindowListeners, PopularityWindow, Trend, PopularityRecent, GenreScoreMean, NumAlbums, ActiveMonths) =
            (c.Listeners, c.WindowListeners, c.PopularityWindow, c.Trend, c.PopularityRecent, c.GenreScoreMean, c.NumAlbums, c.ActiveMonths);
        (_genreCount, _genreOffsets, _genres, _artistCount, _artistOffsets, _artists) = (c.GenreCount, c.GenreOffsets, c.Genres, c.ArtistCount, c.ArtistOffsets, c.Artists);
        _genreCounts = new ScratchPool<int>(_genreCount);
        _artistCounts = new ScratchPool<int>(_artistCount);
        _artistLastSeen = new ScratchPool<int>(_artistCount);
        _recentArtistMasks = new ScratchPool<ulong>(_artistCount);
        var n = Listeners.Length;
        _itemRows = new float[n * ItemStride];
        for (var i = 0; i < n; i++)
        {
            var row = _itemRows.AsSpan(i * ItemStride, ItemStride);
            row[0] = PopularityWindow[i];
            row[1] = Trend[i];
            row[2] = NumAlbums[i];
            row[3] = GenreScoreMean[i];
            row[4] = MathF.Log(1 + Listeners[i]);
            row[5] = PopularityRecent[i];
        }

        Als = als;
        _factors = als.Factors;
        if (normalizedFactors is not null && normalizedFactors.Length != als.ItemFactors.Length)
        {
            throw new ArgumentException($"{normalizedFactors.Length} normalised factor values; the ALS model has {als.ItemFactors.Length}", nameof(normalizedFactors));
        }

        _normalizedFactors = normalizedFactors ?? DenseKernels.NormalizeRows(als.ItemFactors, als.Factors);
    }

    private readonly Counts _counts;
    private readonly int _cutoffDay;

    /// <summary>Per item, the first day anyone heard it before the cutoff (−1: nobody).</summary>
    private readonly int[] _firstDay;

    /// <summary>Per user, the day of their last listen before the cutoff (−1: none).</summary>
    private readonly int[] _lastDay;

    /// <summary>Per artist, 1 + the position in the history of the user's latest listen to it (0: never).</summary>
    private readonly ScratchPool<int> _artistLastSeen;

    private static Counts Count(EventLog events, TrackCatalog catalog, int cutoffDay, int popularWindowDays)
    {
        var n = events.NumItems;
        var listeners = new int[n];
        var windowListeners = new int[n];
        var recent = new int[n];
        var previous = new int[n];
        const int TrendDays = 14;
        var activeMonths = new int[events.NumUsers];
        var firstDay = new int[n];
        Array.Fill(firstDay, int.MaxValue);
        var lastDay = new int[events.NumUsers];
        Array.Fill(lastDay, -1);
        for (var u = 0; u < events.NumUsers; u++)
        {
            var lastMonth = int.MinValue;
            for (int e = events.Start(u), end = events.End(u); e < end; e++)
            {
                var d = events.Days[e];
                if (d >= cutoffDay)
                {
                    continue;
                }

                var i = events.Items[e];
                listeners[i]++;
                firstDay[i] = Math.Min(firstDay[i], d);
                lastDay[u] = Math.Max(lastDay[u], d);
                windowListeners[i] += d >= cutoffDay - popularWindowDays ? 1 : 0;
                recent[i] += d >= cutoffDay - TrendDays ? 1 : 0;
                previous[i] += d >= cutoffDay - (2 * TrendDays) && d < cutoffDay - TrendDays ? 1 : 0;
                var month = EdaMonth(d);
                if (month != lastMonth)
                {
                    activeMonths[u]++;
                    lastMonth = month;
                }
            }
        }

        for (var i = 0; i < n; i++)
        {
            firstDay[i] = firstDay[i] == int.MaxValue ? -1 : firstDay[i];
        }

        var maxWindow = Math.Max(1, windowListeners.Max());
        var popularityWindow = windowListeners.Select(c => c / (float)maxWindow).ToArray();
        var trend = Enumerable.Range(0, n).Select(i => (recent[i] + 1f) / (previous[i] + 1f)).ToArray();
        var maxRecent = Math.Max(1, recent.Max());
        var popularityRecent = recent.Select(c => c / (float)maxRecent).ToArray();

        // Dense genre and artist indexes for per-user shares.
        var genreIds = IdMap.FromIds(catalog.Genres.Values);
        var artistIds = IdMap.FromIds(catalog.Artists.Values);
        var (genreOffsets, genres) = catalog.Genres.Densify(genreIds);
        var (artistOffsets, artists) = catalog.Artists.Densify(artistIds);

        // Genre score: the genre's share of all listens; an item's mean over its genres.
        var genreListens = new double[genreIds.Count];
        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            for (var v = genreOffsets[i]; v < genreOffsets[i + 1]; v++)
            {
                genreListens[genres[v]] += listeners[i];
            }

            total += listeners[i];
        }

        var genreScoreMean = new float[n];
        var numAlbums = new int[n];
        for (var i = 0; i < n; i++)
        {
            var sum = 0.0;
            for (var v = genreOffsets[i]; v < genreOffsets[i + 1]; v++)
            {
                sum += genreListens[genres[v]] / Math.Max(1, total);
            }

            var count = genreOffsets[i + 1] - genreOffsets[i];
            genreScoreMean[i] = count == 0 ? 0 : (float)(sum / count);
            numAlbums[i] = catalog.Albums.CountOf(i);
        }

        return new Counts(listeners, windowListeners, popularityWindow, trend, popularityRecent, genreScoreMean, numAlbums, activeMonths,
            genreIds.Count, genreOffsets, genres, artistIds.Count, artistOffsets, artists, cutoffDay, firstDay, lastDay);
    }



    /// <summary>ranker_features.bin: header items, users, genres, artists, cutoff day; then the per-item counts, the per-user active months, the item→genre and item→artist CSR arrays, each item's first day and each user's last.</summary>
    public static BinaryFormat Format { get; } = new("a ranker feature context", 0x54414546, 2, 5); // "FEAT"

    /// <summary>
    /// Writes what the features are computed from (not the ALS factors, saved with the model), so
    /// that serving can explain the ranker's scores without the event log the counts came from.
    /// </summary>
    public void Save(string path)
    {
        var c = _counts;
        BinaryArtifact.Write(path, Format, [c.Listeners.Length, c.ActiveMonths.Length, c.GenreCount, c.ArtistCount, c.CutoffDay], w =>
        {
            w.Array<int>(c.Listeners);
            w.Array<int>(c.WindowListeners);
            w.Array<float>(c.PopularityWindow);
            w.Array<float>(c.Trend);
            w.Array<float>(c.PopularityRecent);
            w.Array<float>(c.GenreScoreMean);
            w.Array<int>(c.NumAlbums);
            w.Array<int>(c.ActiveMonths);
            w.Array<int>(c.GenreOffsets);
            w.Array<int>(c.Genres);
            w.Array<int>(c.ArtistOffsets);
            w.Array<int>(c.Artists);
            w.Array<int>(c.FirstDay);
            w.Array<int>(c.LastDay);
        });
    }

    /// <summary>Reads <see cref="Save"/>'s file; the features it then computes are those of the context that wrote it.</summary>
    public static FeatureContext Load(string path, AlsModel als)
    {
        using var r = BinaryArtifact.Open(path, Format);
        var items = r.HeaderInt(0, "items");
        var users = r.HeaderInt(1, "users");
        var genreCount = r.HeaderInt(2, "genres");
        var artistCount = r.HeaderInt(3, "artists");
        var cutoffDay = r.HeaderInt(4, "cutoff day");
        var listeners = r.Array<int>(items, "listeners");
        var windowListeners = r.Array<int>(items, "window listeners");
        var popularityWindow = r.Array<float>(items, "popularity window");
        var trend = r.Array<float>(items, "trend");
        var popularityRecent = r.Array<float>(items, "popularity recent");
        var genreScoreMean = r.Array<float>(items, "genre score mean");
        var numAlbums = r.Array<int>(items, "albums");
        var activeMonths = r.Array<int>(users, "active months");
        var genreOffsets = r.Array<int>(items + 1L, "genre offsets");
        var genres = r.Array<int>(genreOffsets[items], "genres");
        var artistOffsets = r.Array<int>(items + 1L, "artist offsets");
        var artists = r.Array<int>(artistOffsets[items], "artists");
        var firstDay = r.Array<int>(items, "first days");
        var lastDay = r.Array<int>(users, "last days");
        r.End();
        if (genres.Any(g => (uint)g >= (uint)genreCount) || artists.Any(a => (uint)a >= (uint)artistCount))
        {
            throw new DataException(path, null, $"a genre or artist index outside 0..{genreCount - 1} / 0..{artistCount - 1}");
        }

        if (als.Items != items)
        {
            throw new DataException(path, null, $"{items} items; the ALS model has {als.Items}");
        }

        return new FeatureContext(new Counts(listeners, windowListeners, popularityWindow, trend, popularityRecent, genreScoreMean, numAlbums, activeMonths,
            genreCount, genreOffsets, genres, artistCount, artistOffsets, artists, cutoffDay, firstDay, lastDay), als);
    }

    public AlsModel Als { get; }
    public int[] Listeners { get; }
    public int[] WindowListeners { get; }
    public float[] PopularityWindow { get; }
    public float[] Trend { get; }

    /// <summary>Listeners in the last two weeks before the cutoff, relative to the most listened item.</summary>
    public float[] PopularityRecent { get; }
    public float[] GenreScoreMean { get; }
    public int[] NumAlbums { get; }

    /// <summary>Distinct months in which each user listened before the cutoff.</summary>
    public int[] ActiveMonths { get; }

    public ReadOnlySpan<int> GenresOf(int item) => _genres.AsSpan(_genreOffsets[item], _genreOffsets[item + 1] - _genreOffsets[item]);

    public ReadOnlySpan<int> ArtistsOf(int item) => _artists.AsSpan(_artistOffsets[item], _artistOffsets[item + 1] - _artistOffsets[item]);

    /// <summary>Writes FeatureCount features per candidate into <paramref name="features"/> (row-major).</summary>
    public void Compute(int user, ReadOnlySpan<float> userVector, ReadOnlySpan<int> history, ReadOnlySpan<Candidate> candidates, Span<float> features)
    {
        var genreCounts = _genreCounts.Rent();
        var artistCounts = _artistCounts.Rent();
        var artistLastSeen = _artistLastSeen.Rent();
        var genreTotal = 0;
        for (var p = 0; p < history.Length; p++)
        {
            foreach (var genre in GenresOf(history[p]))
            {
                genreCounts[genre]++;
                genreTotal++;
            }

            foreach (var artist in ArtistsOf(history[p]))
            {
                artistCounts[artist]++;
                artistLastSeen[artist] = p + 1;
            }
        }

        var f = _factors;
        var recent = history[Math.Max(0, history.Length - 5)..];
        var recentArtists = history[Math.Max(0, history.Length - RecentArtistWindow)..];
        var recentMasks = _recentArtistMasks.Rent();
        var newTracks = 0;
        for (var p = 0; p < recentArtists.Length; p++)
        {
            foreach (var artist in ArtistsOf(recentArtists[p]))
            {
                recentMasks[artist] |= 1UL << p;
            }

            var first = _firstDay[recentArtists[p]];
            newTracks += first >= 0 && _cutoffDay - first <= NewTrackDays ? 1 : 0;
        }

        var historyLength = Math.Max(1, history.Length);
        var known = user >= 0 && user < ActiveMonths.Length;
        var months = known ? Math.Max(1, ActiveMonths[user]) : 1;
        var daysSinceLast = known && _lastDay[user] >= 0 ? _cutoffDay - _lastDay[user] : -1f;
        var newShare = recentArtists.Length == 0 ? 0 : newTracks / (float)recentArtists.Length;
        for (var c = 0; c < candidates.Length; c++)
        {
            if (c + PrefetchAhead < candidates.Length)
            {
                // The rows of a candidate a few ahead: three random reads into arrays of ~256 MB at full size.
                var ahead = candidates[c + PrefetchAhead].Item;
                Prefetch.Lines(_normalizedFactors.AsSpan(ahead * f, f));
                Prefetch.Lines(Als.ItemFactors.Span.Slice(ahead * f, f));
                Prefetch.Lines(_itemRows.AsSpan(ahead * ItemStride, ItemStride));
            }

            var cand = candidates[c];
            var i = cand.Item;
            var row = features.Slice(c * FeatureCount, FeatureCount);
            var item = _itemRows.AsSpan(i * ItemStride, ItemStride);
            var maxCos = -1f;
            var itemVector = _normalizedFactors.AsSpan(i * f, f);
            foreach (var h in recent)
            {
                maxCos = MathF.Max(maxCos, TensorPrimitives.Dot(itemVector, _normalizedFactors.AsSpan(h * f, f)));
            }

            var genreShare = 0f;
            foreach (var genre in GenresOf(i))
            {
                genreShare = MathF.Max(genreShare, genreCounts[genre] / (float)historyLength);
            }

            var artistShare = 0f;
            var lastSeen = 0;
            foreach (var artist in ArtistsOf(i))
            {
                artistShare = MathF.Max(artistShare, artistCounts[artist] / (float)historyLength);
                lastSeen = Math.Max(lastSeen, artistLastSeen[artist]);
            }

            var first = _firstDay[i];
            row[0] = userVector.Length == f ? TensorPrimitives.Dot(userVector, Als.ItemVector(i)) : 0;
            row[1] = cand.AlsRank;
            row[2] = cand.SimilarScore;
            row[3] = cand.SimilarRank;
            row[4] = cand.PopularRank;
            row[5] = recent.Length == 0 ? 0 : maxCos;
            row[6] = item[0];
            row[7] = item[1];
            row[8] = genreShare;
            row[9] = artistShare;
            row[10] = MathF.Log(1 + history.Length);
            row[11] = item[2];
            row[12] = item[3];
            row[13] = history.Length / (float)months;
            row[14] = item[4];
            row[15] = item[5];
            row[16] = cand.ItemKnnScore;
            row[17] = cand.ItemKnnRank;
            row[18] = ArtistPlayedIn(i, recentArtists.Length, recentMasks);
            row[19] = cand.GenreScore;
            row[20] = cand.GenreRank;
            row[21] = cand.BlendScore;
            row[22] = cand.BlendRank;
            row[23] = cand.Sources;
            row[25] = daysSinceLast;
            row[26] = first < 0 ? -1 : _cutoffDay - first;
            row[27] = lastSeen == 0 ? -1 : MathF.Log(1 + history.Length - lastSeen); // listens since the artist was last heard, log-scaled
            row[28] = newShare;
        }

        // A user-level feature, filled in after the loop that still reads the genre counts it clears.
        var entropy = GenreEntropy(history, genreCounts, genreTotal);
        for (var c = 0; c < candidates.Length; c++)
        {
            features[(c * FeatureCount) + 24] = entropy;
        }

        foreach (var item in history)
        {
            foreach (var artist in ArtistsOf(item))
            {
                artistCounts[artist] = 0;
                artistLastSeen[artist] = 0;
            }
        }

        foreach (var item in recentArtists)
        {
            foreach (var artist in ArtistsOf(item))
            {
                recentMasks[artist] = 0;
            }
        }

        _genreCounts.Return(genreCounts); // GenreEntropy cleared it
        _artistCounts.Return(artistCounts);
        _artistLastSeen.Return(artistLastSeen);
        _recentArtistMasks.Return(recentMasks);
    }

    /// <summary>
    /// The Shannon entropy (nats) of the genres of the user's listens: low for a one-genre listener.
    /// Clears <paramref name="genreCounts"/> as it goes (each genre is counted once).
    /// </summary>
    private float GenreEntropy(ReadOnlySpan<int> history, int[] genreCounts, int total)
    {
        var entropy = 0.0;
        foreach (var item in history)
        {
            foreach (var genre in GenresOf(item))
            {
                if (genreCounts[genre] > 0)
                {
                    var p = genreCounts[genre] / (double)total;
                    entropy -= p * Math.Log(p);
                    genreCounts[genre] = 0;
                }
            }
        }

        return (float)entropy;
    }

    /// <summary>
    /// How many of the <paramref name="listens"/> latest listens share an artist with the item, as a
    /// fraction of them: the listens that have any of its artists are the bits set in any of those
    /// artists' masks (one OR per artist of the item instead of a scan of the listens per candidate).
    /// </summary>
    private float ArtistPlayedIn(int item, int listens, ulong[] recentMasks)
    {
        var artists = ArtistsOf(item);
        if (artists.Length == 0 || listens == 0)
        {
            return 0;
        }

        var bits = 0UL;
        foreach (var artist in artists)
        {
            bits |= recentMasks[artist];
        }

        return System.Numerics.BitOperations.PopCount(bits) / (float)listens;
    }

    private static int EdaMonth(int day)
    {
        var date = DateOnly.FromDayNumber(Epoch + day);
        return (date.Year * 12) + date.Month;
    }

    private static readonly int Epoch = new DateOnly(1970, 1, 1).DayNumber;
}
