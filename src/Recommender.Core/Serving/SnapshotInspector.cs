using System.Text.Json;
using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;
using Recommender.Snapshots;

namespace Recommender.Serving;

/// <summary>One list of one user, best first, as a model or the snapshot gives it.</summary>
public sealed record InspectedList(string Name, ScoredItem[] Items);

/// <summary>What <see cref="SnapshotInspector.Inspect"/> gives: the latest listens (newest first) with their days, the listens the models were fitted on, every list, the ranked list's reasons.</summary>
public sealed record UserInspection(int[] LatestItems, ushort[] LatestDays, int[] ModelHistory, IReadOnlyList<InspectedList> Lists, RankedReasons[] Reasons);

/// <summary>Why the ranker scored a track as it did: its feature values, each feature's push (Saabas) and the trees' bias; bias + Σ contributions = score.</summary>
public sealed record RankedReasons(int Item, float Score, float[] Features, double[] Contributions, double Bias);

/// <summary>
/// What the console shows of a snapshot beyond what requests need: every candidate list of a
/// user (each model asked afresh, the served one read from the snapshot), the ranker's reasons,
/// listen days and a search over track and artist names. Loaded on first use (it reads the
/// item-based table, the genre model, the ranker and its feature counts: 1.2 GiB resident at full size, measured)
/// and dropped with its snapshot. Read-only after loading, so calls run side by side.
/// </summary>
public sealed class SnapshotInspector
{
    /// <summary>The lists the console shows per user, in its column order (the served list first, popular last).</summary>
    public static IReadOnlyList<string> ListNames { get; } =
        ["served", "ranked", "blend", "als", "itemknn", "genre", "similar", "popular"];

    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly string _searchText;
    private readonly int[] _searchStarts;

    private SnapshotInspector(ServingSnapshot snapshot, ItemKnnModel itemKnn, GenreProfileModel genre, RankedRecommender ranked, IRecommenderModel blend, SnapshotManifest manifest)
    {
        Snapshot = snapshot;
        ItemKnn = itemKnn;
        Genre = genre;
        Ranked = ranked;
        Blend = blend;
        Manifest = manifest;
        (_searchText, _searchStarts) = SearchText(snapshot.Tracks);
    }

    public ServingSnapshot Snapshot { get; }
    public ItemKnnModel ItemKnn { get; }
    public GenreProfileModel Genre { get; }
    public RankedRecommender Ranked { get; }
    public IRecommenderModel Blend { get; }
    public SnapshotManifest Manifest { get; }

    /// <summary>Reads what inspection needs beside the serving tables; a missing or damaged file is a <see cref="DataException"/> naming it.</summary>
    public static SnapshotInspector Load(ServingSnapshot snapshot)
    {
        var dir = snapshot.Directory;
        var manifest = SnapshotManifest.Read(dir);
        var ids = new ArtifactIds(snapshot.Users, snapshot.Items);
        var itemKnnParameters = Parameter<ItemKnnParameters>(manifest, "item_knn") ?? new ItemKnnParameters();
        var genreParameters = Parameter<GenreProfileParameters>(manifest, "genre") ?? new GenreProfileParameters();
        var weights = Parameter<BlendWeights>(manifest, "blend") ?? BlendWeights.Default;
        var depths = Read(dir, FileNames.Manifest, () => Depths(manifest));
        var itemKnn = Read(dir, FileNames.ItemKnn, () => ItemKnnModel.Load(dir, ids, itemKnnParameters));
        var genre = Read(dir, FileNames.GenreProfile, () => GenreProfileModel.Load(dir, genreParameters));
        var features = Read(dir, FileNames.RankerFeatures, () => FeatureContext.Load(Path.Combine(dir, FileNames.RankerFeatures), snapshot.Als));
        var ranker = Read(dir, FileNames.Ranker, () => GradientBoostedRanker.Load(Path.Combine(dir, FileNames.Ranker)));
        var ranked = new RankedRecommender(snapshot.AlsSearch, itemKnn, genre, snapshot.SimilarToRecent, snapshot.Popular, weights, depths, features, ranker);
        var blend = FusionRecommender.Blend(snapshot.AlsSearch, itemKnn, genre, weights);
        return new SnapshotInspector(snapshot, itemKnn, genre, ranked, blend, manifest);
    }

    private static T Read<T>(string dir, string file, Func<T> load)
    {
        if (!File.Exists(Path.Combine(dir, file)))
        {
            throw new DataException(Path.Combine(dir, file), null, "is missing: the snapshot was trained by an older build; train again to inspect it");
        }

        try
        {
            return load();
        }
        catch (Exception e) when (e is not DataException and not OutOfMemoryException)
        {
            throw new DataException(Path.Combine(dir, file), null, $"cannot be read: {e.Message}", e);
        }
    }

    /// <summary>The ranker's candidate depths; a snapshot trained before they were chosen read the defaults.</summary>
    private static CandidateDepths Depths(SnapshotManifest manifest)
    {
        var depths = manifest.Parameters?["candidate_depths"] is { } node ? node.Deserialize<CandidateDepths>(SnakeCase) : CandidateDepths.Default;
        return depths.Validate().FirstOrDefault() is { } problem ? throw new InvalidDataException($"parameters.candidate_depths: {problem}") : depths;
    }

    private static T? Parameter<T>(SnapshotManifest manifest, string name)
        where T : class =>
        manifest.Parameters?[name] is { } node ? node.Deserialize<T>(SnakeCase) : null;

    /// <summary>How many listens the snapshot holds for a dense user (−1: none).</summary>
    public int ListenCount(int user) => Snapshot.HistoryOf(user).Length;

    /// <summary>The user's latest <paramref name="max"/> snapshot listens, newest first, with each one's day (days since 1970-01-01).</summary>
    public (int[] Items, ushort[] Days) LatestListens(int user, int max) => Latest(user, DaysOf(user), max);

    private (int[] Items, ushort[] Days) Latest(int user, ushort[] days, int max)
    {
        var history = Snapshot.HistoryOf(user);
        var n = Math.Min(max, history.Length);
        var items = history[^n..].ToArray();
        var latest = days[^n..];
        Array.Reverse(items);
        Array.Reverse(latest);
        return (items, latest);
    }

    /// <summary>The day of each of the user's snapshot listens, in history order: one read of the user's slice of listen_days.bin.</summary>
    private ushort[] DaysOf(int user)
    {
        var length = Snapshot.HistoryOf(user).Length;
        if (length == 0)
        {
            return [];
        }

        var days = new ushort[length];
        UserHistory.ReadDays(Path.Combine(Snapshot.Directory, FileNames.ListenDays), Snapshot.HistoryItems.Length, Snapshot.HistoryOffsets.Span[user], days);
        return days;
    }

    /// <summary>
    /// The user's listens the models were fitted on: every listen of the snapshot, or, when it was
    /// trained with a held-out test period, those before it (as the pipeline wrote its lists from them).
    /// </summary>
    public int[] ModelHistory(int user) => ModelHistory(user, FittedBeforeSplit ? DaysOf(user) : []);

    /// <summary>Whether the models saw only the listens before a test period (then a user's days are needed to know which).</summary>
    private bool FittedBeforeSplit => Manifest.Split is { SplitDay: not null, AllEvents: false };

    private int[] ModelHistory(int user, ushort[] days)
    {
        var history = Snapshot.HistoryOf(user);
        if (Manifest.Split is not { SplitDay: { } split, AllEvents: false } plan || history.Length == 0)
        {
            return history.ToArray();
        }

        var (from, to) = (DayOf(plan.FirstDay), DayOf(split));
        var kept = new List<int>(history.Length);
        for (var e = 0; e < history.Length; e++)
        {
            if (days[e] >= from && days[e] < to)
            {
                kept.Add(history[e]);
            }
        }

        return [.. kept];
    }

    /// <summary>
    /// Everything the console shows of a user in one pass: the latest listens with their days, the
    /// listens the models were fitted on, every list and the ranked list's reasons (the user's days
    /// read once, the ranking done once).
    /// </summary>
    public UserInspection Inspect(int user, int k, int latest)
    {
        var days = DaysOf(user);
        var history = ModelHistory(user, days);
        var reasons = Explain(user, history, k);
        var (items, latestDays) = Latest(user, days, latest);
        return new UserInspection(items, latestDays, history, Lists(user, history, reasons, k), reasons);
    }

    private static int DayOf(DateOnly date) => date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    /// <summary>
    /// Every list of <see cref="ListNames"/> for a dense user (−1 for one the snapshot does not
    /// know), from the listens the models were fitted on (<see cref="ModelHistory"/>): the served
    /// list as recommendations.parquet holds it, the others from their models, each excluding
    /// those listens.
    /// </summary>
    public IReadOnlyList<InspectedList> Lists(int user, int k)
    {
        var history = ModelHistory(user);
        return Lists(user, history, Explain(user, history, k), k);
    }

    private IReadOnlyList<InspectedList> Lists(int user, int[] history, RankedReasons[] ranked, int k)
    {
        var buffer = new ScoredItem[k];
        ScoredItem[] Ask(IRecommenderModel model) => buffer.AsSpan(0, model.Recommend(user, history, k, buffer)).ToArray();
        var served = new ScoredItem[Math.Min(k, Snapshot.Recommendations.ItemsOf(user).Length)];
        for (var r = 0; r < served.Length; r++)
        {
            served[r] = new ScoredItem(Snapshot.Recommendations.ItemsOf(user)[r], Snapshot.Recommendations.ScoresOf(user)[r]);
        }

        return
        [
            new("served", served),
            new("ranked", [.. ranked.Select(r => new ScoredItem(r.Item, r.Score))]),
            new("blend", Ask(Blend)),
            new("als", user >= 0 && user < Snapshot.Als.Users ? Ask(Snapshot.AlsSearch) : []),
            new("itemknn", Ask(ItemKnn)),
            new("genre", Ask(Genre)),
            new("similar", Ask(Snapshot.SimilarToRecent)),
            new("popular", Ask(Snapshot.Popular)),
        ];
    }

    /// <summary>
    /// The ranked list of a dense user with the reasons for each track: the same candidates,
    /// features and trees as the pipeline's ranking, one user at a time.
    /// </summary>
    public RankedReasons[] Explain(int user, int k) => Explain(user, ModelHistory(user), k);

    private RankedReasons[] Explain(int user, int[] history, int k)
    {
        var candidates = new Candidate[Ranked.Depths.Total];
        var count = RankedRecommender.Candidates(Ranked.Sources(), user, history, candidates);
        const int F = FeatureContext.FeatureCount;
        var features = new float[count * F];
        var vector = user >= 0 && user < Snapshot.Als.Users ? Snapshot.Als.UserVector(user) : [];
        Ranked.Features.Compute(user, vector, history, candidates.AsSpan(0, count), features);
        var scores = new float[count];
        Ranked.Ranker.Score(features, count, scores);
        var top = new TopK(k);
        var slots = new Dictionary<int, int>(count);
        for (var c = 0; c < count; c++)
        {
            top.Add(candidates[c].Item, scores[c]); // by track, as the pipeline's ranking: ties break the same way
            slots[candidates[c].Item] = c;
        }

        var best = top.ToArray();
        var reasons = new RankedReasons[best.Length];
        for (var r = 0; r < best.Length; r++)
        {
            var c = slots[best[r].Item];
            var row = features.AsSpan(c * F, F).ToArray();
            var contributions = new double[F];
            var bias = Ranked.Ranker.Trees.Contributions(row, contributions);
            reasons[r] = new RankedReasons(candidates[c].Item, scores[c], row, contributions, bias);
        }

        return reasons;
    }

    /// <summary>
    /// Tracks whose name or artists contain <paramref name="query"/> (case-insensitive), the most
    /// listened first: one vectorised substring scan over all names and artists, lower-cased once at load.
    /// </summary>
    public int[] Search(string query, int max)
    {
        var needle = query.Trim().ToLowerInvariant();
        if (needle.Length == 0 || max <= 0)
        {
            return [];
        }

        const int MaxMatches = 5000; // ordered by listeners among the first this many matches
        var matches = new List<int>();
        var text = _searchText.AsSpan();
        var at = 0;
        while (matches.Count < MaxMatches)
        {
            var found = text[at..].IndexOf(needle, StringComparison.Ordinal);
            if (found < 0)
            {
                break;
            }

            var position = at + found;
            var item = _searchStarts.AsSpan().BinarySearch(position);
            item = item >= 0 ? item : ~item - 1;
            matches.Add(item);
            at = item + 1 < _searchStarts.Length ? _searchStarts[item + 1] : text.Length; // the next track: one match per track
        }

        var listeners = Ranked.Features.Listeners;
        return [.. matches.OrderByDescending(i => listeners[i]).ThenBy(i => i).Take(max)];
    }

    private static (string Text, int[] Starts) SearchText(TrackTable tracks)
    {
        var text = new System.Text.StringBuilder();
        var starts = new int[tracks.Count];
        for (var i = 0; i < tracks.Count; i++)
        {
            starts[i] = text.Length;
            text.Append(tracks.Name(i).ToLowerInvariant()).Append('\u0001');
            foreach (var artist in tracks.Artists(i))
            {
                text.Append(artist.ToLowerInvariant()).Append('\u0001');
            }

            text.Append('\n');
        }

        return (text.ToString(), starts);
    }
}
