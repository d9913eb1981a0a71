using System.Text.Json;
using Recommender.Data;
using Recommender.Models;
using Recommender.Ranking;

namespace Recommender.Pipeline;

public sealed record TrainOptions
{
    /// <summary>Where generate writes and train, prepare and the service's retrain read, unless told otherwise.</summary>
    public const string DefaultDataDir = "data/synthetic";

    /// <summary>The snapshot root train writes and serve reads, unless told otherwise.</summary>
    public const string DefaultOutRoot = "out/artifacts";

    public required string DataDir { get; init; }

    /// <summary>Snapshot root: snapshots/ID and the current link live here.</summary>
    public required string OutRoot { get; init; }

    /// <summary>Fit before this day, evaluate from it on. Null: the seed's 2022-12-16 when the data spans it, else the day leaving ~10% of events after.</summary>
    public DateOnly? SplitDate { get; init; }

    /// <summary>Fit on everything and skip evaluation (what the nightly retrain serves).</summary>
    public bool AllEvents { get; init; }

    public AlsParameters Als { get; init; } = new();

    /// <summary>
    /// The final ALS fit continues from the validation fit's factors for this many iterations
    /// instead of <see cref="AlsParameters.Iterations"/> from noise: the validation fit saw all but
    /// the last tenth of the same events. Null: a full fit from noise.
    /// </summary>
    public int? AlsWarmIterations { get; init; } = 5;

    /// <summary>
    /// A Spark MLlib ALSModel.save folder (userFactors/, itemFactors/) whose factors replace the
    /// final ALS fit; the validation fit (on the events before the validation window) stays ours.
    /// </summary>
    public string? AlsFactorsDir { get; init; }

    /// <summary>
    /// Choose ALS's regularisation and confidence α on validation (a 3 × 3 grid around
    /// <see cref="Als"/>), when the data before the validation window has at most
    /// <see cref="AlsSearchMaxEvents"/> events; at full size nine more fits would not fit the budget.
    /// </summary>
    public bool SearchAls { get; init; } = true;

    /// <summary>With <see cref="SearchAls"/>: also try the chosen (λ, α) at half and double the factors.</summary>
    public bool SearchAlsFactors { get; init; } = true;

    /// <summary>Whether validation chooses the item-based build: the cosine, RP3β or EASE (EASE only on catalogs up to ItemKnn.EaseMaxItems; none of it above AlsSearchMaxEvents events).</summary>
    public bool SearchItemBased { get; init; } = true;

    /// <summary>The EASE λ values validation tries (Steck's paper and the Last.fm reference land in the hundreds).</summary>
    public static IReadOnlyList<float> EaseLambdaChoices { get; } = [50f, 200f, 500f, 2000f];

    /// <summary>The RP3β popularity penalties validation tries beside the cosine.</summary>
    public static IReadOnlyList<float> Rp3BetaChoices { get; } = [0f, 0.3f, 0.5f];

    public int AlsSearchMaxEvents { get; init; } = 5_000_000;
    public ItemKnnParameters ItemKnn { get; init; } = new();

    /// <summary>The genre-profile generator, one of the blend's three lists.</summary>
    public GenreProfileParameters Genre { get; init; } = new();
    public RankerParameters Ranker { get; init; } = new();

    /// <summary>
    /// Length of the top-popular window ending at the fit cutoff (seed: 2022-09-01..2022-12-15 is
    /// 106 days). Null: the one of <see cref="PopularWindowChoices"/> that scores best on validation.
    /// </summary>
    public int? PopularWindowDays { get; init; }

    /// <summary>The windows validation chooses from, the seed's first: it wins ties.</summary>
    public static readonly int[] PopularWindowChoices = [106, 60, 30, 14, 7];

    public int PersonalK { get; init; } = 100;
    public int RecommendationsK { get; init; } = 50;
    public int SimilarK { get; init; } = 20;

    /// <summary>At most this many users of the validation window (sampled with the ALS seed) train and validate the ranker.</summary>
    public int MaxRankerUsers { get; init; } = 20_000;

    /// <summary>The replay evaluation of the serving blend feeds each test user's first this-many listens as online events.</summary>
    public int ReplayOnlineListens { get; init; } = 3;

    /// <summary>The replay evaluation scores a seeded sample of at most this many test users.</summary>
    public int ReplayMaxUsers { get; init; } = 20_000;

    /// <summary>
    /// The validation window: the days holding the last this-fraction of the fit events. The lists
    /// are scored on the tracks users first heard in it, by models fitted before it, as the test
    /// period scores them after the split.
    /// </summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>
    /// The test-period evaluation scores a seeded sample of at most this many warm users (all cold
    /// users: their lists are popular's). 200K users put the standard error of NDCG@10 near 0.0005,
    /// and at full size scoring every warm user costs more than the rest of the evaluation.
    /// </summary>
    public int EvaluationMaxUsers { get; init; } = 200_000;

    /// <summary>Choose the ranker's leaves, learning rate, feature fraction and trees on validation by cross-fitting (<see cref="ValidationSearch.Ranker"/>); false keeps <see cref="Ranker"/>.</summary>
    public bool SearchRanker { get; init; } = true;

    /// <summary>
    /// The ranker's settings are searched only up to this many training rows: on small data the
    /// choice matters (lastfm-dev's ~10K rows overfit 100 trees of 7 leaves), and ten fits cost seconds;
    /// at full size (~380K rows) they would cost minutes for a ranker that already has the data it needs.
    /// </summary>
    public int RankerSearchMaxRows { get; init; } = 200_000;

    /// <summary>Negatives kept per ranker user (all positives are kept), sampled with the seed.</summary>
    public int RankerNegatives { get; init; } = 30;

    /// <summary>How many of the RankerNegatives are the blend's best-ranked negatives (hard: what the ranker must learn to push down); the rest are random candidates.</summary>
    public int RankerHardNegatives { get; init; } = 0;

    /// <summary>At most this many consecutive label windows (the latest validates) feed the ranker and the validation, while the ranker has fewer than MaxRankerUsers users. 10 rather than 6: on lastfm-dev six windows (988 user-windows) could not tell the blend from the genre list within one standard error; nine (1,232) can.</summary>
    public int MaxLabelWindows { get; init; } = 10;

    /// <summary>
    /// The same pipeline with a demo-sized search (`train --quick`, what `demo` runs): ALS keeps
    /// its default λ, α and factors instead of searching 3 × 3 grid points and two factor counts,
    /// the item-based build is chosen between the cosine and RP3β without EASE (four dense
    /// inverses of the catalog), and the ranker learns from at most 3 label windows instead of
    /// 10. Every list is still scored on validation and the served list still passes the gate.
    /// </summary>
    public TrainOptions Quick() => this with
    {
        SearchAls = false,
        SearchAlsFactors = false,
        ItemKnn = ItemKnn with { EaseMaxItems = 0 },
        MaxLabelWindows = QuickLabelWindows,
        SearchRanker = false,
    };

    /// <summary>Label windows of <see cref="Quick"/>.</summary>
    public const int QuickLabelWindows = 3;

    /// <summary>Test seam: the ranker learns from shuffled labels (a useless ranker), to show the validation gate at work.</summary>
    internal bool ShuffleRankerLabels { get; init; }

    /// <summary>Users per block when every user's ALS top-k and served list are computed and written (the files do not depend on it; a test seam).</summary>
    internal int UserListBlock { get; init; } = 16 * Ranking.RankedRecommender.BatchUsers;

    /// <summary>Users sampled to measure the IVF index's recall against exact search.</summary>
    public int RecallSampleUsers { get; init; } = 500;

    public bool DropDuplicates { get; init; }

    /// <summary>A diagnostic: after each stage, a full collection measures the live heap for the stage log (about a second a stage at full size); off, the log gives the heap as the last collection left it.</summary>
    public bool MeasureLiveHeap { get; init; }

    /// <summary>Only the latest this-many days of the log (the online listens included) are read; null: all of it. Bounds what a retrain holds as the log grows.</summary>
    public int? TrainWindowDays { get; init; }

    /// <summary>A log of listens received online (see OnlineEventLog); they join the training data.</summary>
    public string? OnlineEventsPath { get; init; }

    /// <summary>Where the run reports its stage and progress (<see cref="Diagnostics.RunProgressFile"/>); null for nowhere.</summary>
    public string? ProgressPath { get; init; }

    private static readonly JsonSerializerOptions FileJson = new() { WriteIndented = true }; // `required` members are enforced on reading by default

    /// <summary>
    /// Writes every setting to a JSON file (atomically): how the service hands its nightly retrain
    /// to a child `train --options FILE`, so the child fits exactly these options, typed, and no
    /// setting is turned into a command-line string and parsed back.
    /// </summary>
    public void WriteFile(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, FileJson));

    /// <summary>Reads a file written by <see cref="WriteFile"/>; a bad file is a <see cref="DataException"/> naming it and the field.</summary>
    public static TrainOptions ReadFile(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainOptions>(File.ReadAllBytes(path), FileJson)
                ?? throw new DataException(path, null, "holds no train options (null)");
        }
        catch (JsonException e)
        {
            throw new DataException(path, null, $"not valid train options: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new DataException(path, null, $"cannot be read: {e.Message}", e);
        }
    }

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            yield return "data directory is required";
        }

        if (AllEvents && SplitDate is not null)
        {
            yield return "--split-date and --all-events exclude each other";
        }

        foreach (var failure in Als.Validate("ALS factors", "ALS iterations", "ALS tolerance"))
        {
            yield return failure;
        }

        if (AlsWarmIterations is < 1)
        {
            yield return $"ALS warm-start iterations must be at least 1 (got {AlsWarmIterations})";
        }

        if (EvaluationMaxUsers < 1)
        {
            yield return $"evaluation users must be at least 1 (got {EvaluationMaxUsers})";
        }

        if (TrainWindowDays is < 1)
        {
            yield return $"training window must be at least one day (got {TrainWindowDays})";
        }

        if (PopularWindowDays is < 1)
        {
            yield return $"popular window must be at least one day (got {PopularWindowDays})";
        }

        if (PersonalK < 10 || RecommendationsK < 10)
        {
            yield return "list lengths must be at least 10 (metrics use k = 5 and 10)";
        }

        if (UserListBlock < 1)
        {
            yield return $"user list block must be at least one user (got {UserListBlock})";
        }

        foreach (var failure in Genre.Validate())
        {
            yield return failure;
        }
    }
}
