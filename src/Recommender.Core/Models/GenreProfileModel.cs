using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

public sealed record GenreProfileParameters
{
    /// <summary>
    /// A genre's weight in the profile is (its listens)^−this: a listen to a niche genre says more
    /// about a user's taste than one to the genre everybody plays (as IDF). On lastfm-dev's first
    /// validation window the list alone scored 0.056 with 0 and 0.079 with 0.5 (1 was tried only
    /// inside blends, with popularity exponent 0.5: its best blend 0.0766, against 0.0773 for 0.5
    /// with this class's 0.25).
    /// </summary>
    public float GenreIdf { get; init; } = 0.5f;

    /// <summary>A track's score is multiplied by (1 + listeners)^this: among tracks of the same genres, the more played first.</summary>
    public float PopularityExponent { get; init; } = 0.25f;

    /// <summary>Candidates come from the user's this-many strongest genres.</summary>
    public int TopGenres { get; init; } = 10;

    /// <summary>Each genre offers its this-many most listened tracks as candidates (bounds a request's work on a 1M-track catalog).</summary>
    public int ItemsPerGenre { get; init; } = 500;

    /// <summary>Only a user's latest this-many tracks build the profile.</summary>
    public int MaxUserItems { get; init; } = 500;

    /// <summary>Every out-of-range setting, named.</summary>
    public IEnumerable<string> Validate()
    {
        if (!(GenreIdf >= 0 && GenreIdf <= 4))
        {
            yield return $"genre profile: GenreIdf must be in [0, 4] (got {GenreIdf})";
        }

        if (!(PopularityExponent >= 0 && PopularityExponent <= 4))
        {
            yield return $"genre profile: PopularityExponent must be in [0, 4] (got {PopularityExponent})";
        }

        if (TopGenres < 1 || ItemsPerGenre < 1 || MaxUserItems < 1)
        {
            yield return $"genre profile: TopGenres, ItemsPerGenre and MaxUserItems must be at least 1 (got {TopGenres}, {ItemsPerGenre}, {MaxUserItems})";
        }
    }
}

/// <summary>
/// Content-based generator from the catalog's genres: a user's profile is the genres of the
/// tracks they listened to, each listen weighted by its genre's rarity; a track scores the sum of
/// the profile over its genres, times a mild popularity prior. On lastfm-dev, where a track's
/// genres are its artist's most used tags, it alone beats ALS on validation; the blend uses it
/// beside ALS and the item-based list. Everything it needs is in items.parquet and the listens,
/// so it is rebuilt with the tables rather than saved.
/// </summary>
public sealed class GenreProfileModel : IRecommenderModel
{
    private readonly int[] _itemGenreOffsets;
    private readonly int[] _itemGenres;
    private readonly float[] _genreWeights;
    private readonly float[] _prior;
    private readonly int[] _candidateOffsets;
    private readonly int[] _candidates;
    private readonly ScratchPool<float> _profiles;

    // The candidate rows laid out for scoring: per candidate slot (the order of _candidates) its
    // prior and its genres, and a compact index over the distinct candidate tracks (full size:
    // 86,500 slots, 80,325 tracks, 1.9 MB of slot rows). Scoring a user reads up to 5,000 slots
    // (10 genres × 500); through the track-indexed arrays each slot was several random reads into
    // 1M-entry arrays, and ranking every user at full size took ~600 s instead of 205 s.
    private readonly float[] _slotPrior;
    private readonly int[] _slotGenreOffsets;
    private readonly int[] _slotGenres;
    private readonly int[] _slotCompact;
    private readonly int[] _compactOf; // track → compact index, −1 when no genre offers it
    private readonly ScratchPool<byte> _seen; // per compact index: 1 heard (excluded), 2 scored

    private GenreProfileModel(GenreProfileParameters parameters, int[] itemGenreOffsets, int[] itemGenres, float[] genreWeights, float[] prior, int[] candidateOffsets, int[] candidates)
    {
        Parameters = parameters;
        _itemGenreOffsets = itemGenreOffsets;
        _itemGenres = itemGenres;
        _genreWeights = genreWeights;
        _prior = prior;
        _candidateOffsets = candidateOffsets;
        _candidates = candidates;
        _profiles = new ScratchPool<float>(genreWeights.Length);
        _compactOf = new int[prior.Length];
        Array.Fill(_compactOf, -1);
        _slotCompact = new int[candidates.Length];
        _slotPrior = new float[candidates.Length];
        _slotGenreOffsets = new int[candidates.Length + 1];
        var compact = 0;
        for (var slot = 0; slot < candidates.Length; slot++)
        {
            var i = candidates[slot];
            _slotCompact[slot] = _compactOf[i] >= 0 ? _compactOf[i] : _compactOf[i] = compact++;
            _slotPrior[slot] = prior[i];
            _slotGenreOffsets[slot + 1] = _slotGenreOffsets[slot] + (itemGenreOffsets[i + 1] - itemGenreOffsets[i]);
        }

        _slotGenres = new int[_slotGenreOffsets[^1]];
        for (var slot = 0; slot < candidates.Length; slot++)
        {
            var i = candidates[slot];
            itemGenres.AsSpan(itemGenreOffsets[i], itemGenreOffsets[i + 1] - itemGenreOffsets[i]).CopyTo(_slotGenres.AsSpan(_slotGenreOffsets[slot]));
        }

        _seen = new ScratchPool<byte>(compact);
    }

    public string Name => "genre";
    public GenreProfileParameters Parameters { get; }
    public int NumItems => _prior.Length;
    public int NumGenres => _genreWeights.Length;

    /// <param name="genres">each dense track's raw genre ids (TrackCatalog.Genres), one row per track of <paramref name="train"/>.</param>
    public static GenreProfileModel Fit(EventLog train, IdLists genres, GenreProfileParameters p)
    {
        var n = train.NumItems;
        if (genres.Offsets.Length != n + 1)
        {
            throw new ArgumentException($"genres: {genres.Offsets.Length - 1} tracks, the listens have {n}", nameof(genres));
        }

        // Raw genre ids → dense 0..G-1, in id order.
        var genreIds = IdMap.FromIds(genres.Values);
        var (_, itemGenres) = genres.Densify(genreIds);
        var genreCount = genreIds.Count;

        var listeners = train.ItemUserCounts();
        var genreListens = new double[genreCount];
        var prior = new float[n];
        for (var i = 0; i < n; i++)
        {
            prior[i] = MathF.Pow(1 + listeners[i], p.PopularityExponent);
            for (var v = genres.Offsets[i]; v < genres.Offsets[i + 1]; v++)
            {
                genreListens[itemGenres[v]] += listeners[i];
            }
        }

        var genreWeights = genreListens.Select(l => l > 0 ? (float)Math.Pow(l, -p.GenreIdf) : 0f).ToArray();

        // Per genre, its ItemsPerGenre most listened tracks (ties to the lower index). Tracks nobody
        // heard yet take part: a genre match is the one signal a new track has.
        var members = new int[genreCount + 1];
        for (var i = 0; i < n; i++)
        {
            for (var v = genres.Offsets[i]; v < genres.Offsets[i + 1]; v++)
            {
                members[itemGenres[v] + 1]++;
            }
        }

        Csr.CountsToOffsets(members);
        var byGenre = new int[members[^1]];
        var next = members[..^1].ToArray();
        for (var i = 0; i < n; i++)
        {
            for (var v = genres.Offsets[i]; v < genres.Offsets[i + 1]; v++)
            {
                byGenre[next[itemGenres[v]]++] = i;
            }
        }

        var candidateOffsets = new int[genreCount + 1];
        var candidates = new List<int>();
        for (var g = 0; g < genreCount; g++)
        {
            var row = byGenre[members[g]..members[g + 1]];
            candidates.AddRange(row.OrderByDescending(i => listeners[i]).ThenBy(i => i).Take(p.ItemsPerGenre));
            candidateOffsets[g + 1] = candidates.Count;
        }

        return new GenreProfileModel(p, genres.Offsets, itemGenres, genreWeights, prior, candidateOffsets, [.. candidates]);
    }

    /// <summary>The user's genre profile: Σ over the latest listens of their genres' weights (dense genre → weight).</summary>
    public float[] Profile(ReadOnlySpan<int> history)
    {
        var profile = new float[NumGenres];
        AddProfile(history, profile);
        return profile;
    }

    private void AddProfile(ReadOnlySpan<int> history, float[] profile)
    {
        foreach (var i in history[Math.Max(0, history.Length - Parameters.MaxUserItems)..])
        {
            if ((uint)i < (uint)NumItems)
            {
                for (var v = _itemGenreOffsets[i]; v < _itemGenreOffsets[i + 1]; v++)
                {
                    profile[_itemGenres[v]] += _genreWeights[_itemGenres[v]];
                }
            }
        }
    }

    /// <summary>The tracks genre <paramref name="genre"/> (dense) offers as candidates, most listened first.</summary>
    internal ReadOnlySpan<int> CandidatesOf(int genre) => _candidates.AsSpan(_candidateOffsets[genre], _candidateOffsets[genre + 1] - _candidateOffsets[genre]);

    /// <summary>A track's score for a profile: Σ of the profile over its genres, times its popularity prior.</summary>
    public float Score(float[] profile, int item)
    {
        var sum = 0f;
        for (var v = _itemGenreOffsets[item]; v < _itemGenreOffsets[item + 1]; v++)
        {
            sum += profile[_itemGenres[v]];
        }

        return sum * _prior[item];
    }

    public int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination)
    {
        var profile = _profiles.Rent();
        var seen = _seen.Rent();
        AddProfile(history, profile);
        var genres = new TopK(Parameters.TopGenres);
        for (var g = 0; g < profile.Length; g++)
        {
            if (profile[g] > 0)
            {
                genres.Add(g, profile[g]);
            }
        }

        var strongest = genres.ToArray();
        Mark(history, seen, Heard);
        var top = new TopK(k);
        foreach (var (g, _) in strongest)
        {
            for (var slot = _candidateOffsets[g]; slot < _candidateOffsets[g + 1]; slot++)
            {
                ref var state = ref seen[_slotCompact[slot]];
                if (state == 0)
                {
                    state = Scored; // a track offered by several of the genres is scored once
                    var sum = 0f;
                    for (var v = _slotGenreOffsets[slot]; v < _slotGenreOffsets[slot + 1]; v++)
                    {
                        sum += profile[_slotGenres[v]];
                    }

                    top.Add(_candidates[slot], sum * _slotPrior[slot]); // as Score(profile, track): > 0, the track has genre g
                }
            }
        }

        // Back to zeros: the touched entries are the same candidate rows and listens again.
        foreach (var (g, _) in strongest)
        {
            for (var slot = _candidateOffsets[g]; slot < _candidateOffsets[g + 1]; slot++)
            {
                seen[_slotCompact[slot]] = 0;
            }
        }

        Mark(history, seen, 0);
        Array.Clear(profile);
        _seen.Return(seen);
        _profiles.Return(profile);
        return top.Drain(destination);
    }

    private const byte Heard = 1;
    private const byte Scored = 2;

    /// <summary>Sets the compact entry of every listened track that some genre offers.</summary>
    private void Mark(ReadOnlySpan<int> history, byte[] seen, byte value)
    {
        foreach (var i in history)
        {
            if ((uint)i < (uint)_compactOf.Length && _compactOf[i] is var c and >= 0)
            {
                seen[c] = value;
            }
        }
    }

    public const string FileName = FileNames.GenreProfile;

    /// <summary>genre_profile.bin: header items, genres, candidates; then the item→genre CSR, genre weights, item priors and each genre's candidates (CSR).</summary>
    public static BinaryFormat Format { get; } = new("a genre profile model", 0x524E4547, 1, 3); // "GENR"

    /// <summary>Writes the learned state, so that serving can show a user the genre list without the listens it was fitted on.</summary>
    public void Save(string dir, ArtifactIds ids) =>
        BinaryArtifact.Write(Path.Combine(dir, FileName), Format, [_prior.Length, _genreWeights.Length, _candidates.Length], w =>
        {
            w.Array<int>(_itemGenreOffsets);
            w.Array<int>(_itemGenres);
            w.Array<float>(_genreWeights);
            w.Array<float>(_prior);
            w.Array<int>(_candidateOffsets);
            w.Array<int>(_candidates);
        });

    public static GenreProfileModel Load(string dir, GenreProfileParameters parameters)
    {
        var path = Path.Combine(dir, FileName);
        using var r = BinaryArtifact.Open(path, Format);
        var items = r.HeaderInt(0, "items");
        var genres = r.HeaderInt(1, "genres");
        var candidates = r.HeaderInt(2, "candidates");
        var itemGenreOffsets = r.Array<int>(items + 1L, "item genre offsets");
        var itemGenres = r.Array<int>(itemGenreOffsets[items], "item genres");
        var weights = r.Array<float>(genres, "genre weights");
        var prior = r.Array<float>(items, "item priors");
        var candidateOffsets = r.Array<int>(genres + 1L, "candidate offsets");
        var members = r.Array<int>(candidates, "candidates");
        r.End();
        if (itemGenres.Any(g => (uint)g >= (uint)genres) || members.Any(i => (uint)i >= (uint)items) || candidateOffsets[genres] != candidates)
        {
            throw new DataException(path, null, $"a genre outside 0..{genres - 1} or a track outside 0..{items - 1}");
        }

        return new GenreProfileModel(parameters, itemGenreOffsets, itemGenres, weights, prior, candidateOffsets, members);
    }
}
