using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Generation;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Pipeline;
using Recommender.Ranking;
using Recommender.Tests.Support;

namespace Recommender.Tests.Models;

/// <summary>Fits a model on the shared small dataset; a second call with the same seed must give the same model.</summary>
public abstract class ModelFixture
{
    public abstract string Name { get; }

    public abstract IRecommenderModel Fit(SuiteData data);

    public abstract IRecommenderModel Load(string dir, SuiteData data);

    public override string ToString() => Name;
}

public sealed record SuiteData(EventLog Train, TrackCatalog Catalog, ArtifactIds Ids, int Cutoff);

/// <summary>The one suite every candidate generator (and the ranked recommender) passes.</summary>
[TestFixtureSource(nameof(Models))]
public class CandidateGeneratorSuite(ModelFixture fixture)
{
    private static readonly AlsParameters Als = new() { Factors = 16, Iterations = 5, Seed = 5 };

    public static IEnumerable<ModelFixture> Models() => [new PopularFixture(), new AlsFixture(), new ItemKnnFixture(), new GenreFixture(), new SimilarFixture(), new BlendFixture(), new RankedFixture()];

    internal static readonly Lazy<SuiteData> Shared = new(() =>
    {
        var dir = TestPaths.NewTempDir();
        new SyntheticGenerator(new GeneratorOptions { Users = 800, Tracks = 600, Seed = 11 }, NullLogger.Instance).Generate(dir);
        var data = DataPreparation.Load(dir, NullLogger.Instance);
        var cutoff = EdaReport.DayOf(new DateOnly(2022, 12, 1));
        return new SuiteData(data.Events.Slice(int.MinValue, cutoff), data.Catalog, new ArtifactIds(data.Events.Users, data.Catalog.Items), cutoff);
    });

    private SuiteData Data => Shared.Value;
    private IRecommenderModel _model = null!;

    [OneTimeSetUp]
    public void FitOnce() => _model = fixture.Fit(Data);

    private IEnumerable<int> SomeUsers() => Enumerable.Range(0, Data.Train.NumUsers).Where(u => Data.Train.CountOf(u) > 0).Take(60);

    private ScoredItem[] Recommend(IRecommenderModel model, int user, int k = 10)
    {
        var buffer = new ScoredItem[k];
        var n = model.Recommend(user, Data.Train.ItemsOf(user), k, buffer);
        return buffer[..n];
    }

    /// <summary>
    /// Scratch arrays are pooled per model and handed between threads: many threads asking at
    /// once, each user several times, must get exactly the lists one thread gets (a scratch array
    /// returned dirty would leak one user's scores or exclusions into another's list).
    /// </summary>
    [Test]
    public void ConcurrentCalls_GiveTheSameListsAsSequentialOnes()
    {
        var users = SomeUsers().ToArray();
        var expected = users.ToDictionary(u => u, u => Recommend(_model, u, 20));
        var mismatches = 0;
        Parallel.For(0, users.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var u = users[(i * 7) % users.Length];
            if (!Recommend(_model, u, 20).SequenceEqual(expected[u]))
            {
                Interlocked.Increment(ref mismatches);
            }
        });
        Assert.That(mismatches, Is.Zero);
    }

    [Test]
    public void Output_HasAtMostKDistinctValidItemsBestFirst()
    {
        var nonEmpty = 0;
        foreach (var u in SomeUsers())
        {
            var list = Recommend(_model, u);
            nonEmpty += list.Length > 0 ? 1 : 0;
            Assert.That(list.Length, Is.LessThanOrEqualTo(10));
            Assert.That(list.Select(s => s.Item).Distinct().Count(), Is.EqualTo(list.Length));
            Assert.That(list.Select(s => s.Item), Is.All.InRange(0, Data.Train.NumItems - 1));
            Assert.That(list.Select(s => s.Score), Is.Ordered.Descending);
        }

        Assert.That(nonEmpty, Is.GreaterThan(50), "most users get recommendations");
    }

    [Test]
    public void Output_NeverHoldsAListenedTrack()
    {
        foreach (var u in SomeUsers())
        {
            var heard = Data.Train.ItemsOf(u).ToArray();
            Assert.That(Recommend(_model, u, 50).Select(s => s.Item).Intersect(heard), Is.Empty, $"user {u}");
        }
    }

    [Test]
    public void SaveThenLoad_GivesIdenticalOutput()
    {
        var dir = TestPaths.NewTempDir();
        _model.Save(dir, Data.Ids);
        var loaded = fixture.Load(dir, Data);
        foreach (var u in SomeUsers())
        {
            Assert.That(Recommend(loaded, u), Is.EqualTo(Recommend(_model, u)), $"user {u}");
        }
    }

    [Test]
    public void SecondFitWithTheSameSeed_GivesTheSameResult()
    {
        var again = fixture.Fit(Data);
        foreach (var u in SomeUsers())
        {
            Assert.That(Recommend(again, u), Is.EqualTo(Recommend(_model, u)), $"user {u}");
        }
    }

    private sealed class PopularFixture : ModelFixture
    {
        public override string Name => "popular";

        public override IRecommenderModel Fit(SuiteData d) => PopularModel.Fit(d.Train, d.Cutoff - 106, d.Cutoff);

        public override IRecommenderModel Load(string dir, SuiteData d) => PopularModel.Load(dir, d.Ids);
    }

    private sealed class AlsFixture : ModelFixture
    {
        public override string Name => "als";

        public override IRecommenderModel Fit(SuiteData d) => AlsRecommender.Fit(d.Train, Als);

        public override IRecommenderModel Load(string dir, SuiteData d) => AlsRecommender.Load(dir);
    }

    private sealed class ItemKnnFixture : ModelFixture
    {
        private static readonly ItemKnnParameters Parameters = new() { Neighbors = 30 };

        public override string Name => "itemknn";

        public override IRecommenderModel Fit(SuiteData d) => ItemKnnModel.Fit(d.Train, Parameters);

        public override IRecommenderModel Load(string dir, SuiteData d) => ItemKnnModel.Load(dir, d.Ids, Parameters);
    }

    /// <summary>The genre profile saves nothing: "loading" it is rebuilding it from the snapshot's tracks and listens.</summary>
    private sealed class GenreFixture : ModelFixture
    {
        public override string Name => "genre";

        public override IRecommenderModel Fit(SuiteData d) => GenreProfileModel.Fit(d.Train, d.Catalog.Genres, new GenreProfileParameters());

        public override IRecommenderModel Load(string dir, SuiteData d) => GenreProfileModel.Load(dir, new GenreProfileParameters());
    }

    private sealed class BlendFixture : ModelFixture
    {
        private static readonly ItemKnnParameters KnnParameters = new() { Neighbors = 30 };
        private static readonly BlendWeights Weights = new(0.5f, 1f);

        public override string Name => "blend";

        public override IRecommenderModel Fit(SuiteData d) =>
            FusionRecommender.Blend(AlsRecommender.Fit(d.Train, Als), ItemKnnModel.Fit(d.Train, KnnParameters), GenreProfileModel.Fit(d.Train, d.Catalog.Genres, new GenreProfileParameters()), Weights);

        public override IRecommenderModel Load(string dir, SuiteData d)
        {
            // The blend saves nothing of its own: its parts are saved beside it (as a snapshot holds them).
            var parts = (FusionRecommender)Fit(d);
            foreach (var (model, _) in parts.Parts)
            {
                model.Save(dir, d.Ids);
            }

            return FusionRecommender.Blend(AlsRecommender.Load(dir), ItemKnnModel.Load(dir, d.Ids, KnnParameters), GenreProfileModel.Load(dir, new GenreProfileParameters()), Weights);
        }
    }

    private sealed class SimilarFixture : ModelFixture
    {
        public override string Name => "similar";

        public override IRecommenderModel Fit(SuiteData d) => SimilarToRecentModel.Fit(d.Train, AlsRecommender.Fit(d.Train, Als).Model);

        public override IRecommenderModel Load(string dir, SuiteData d) => SimilarToRecentModel.Load(dir, d.Ids);
    }

    internal sealed class RankedFixture : ModelFixture
    {
        /// <summary>Depths other than the defaults: save and load must carry them (the manifest does in a snapshot).</summary>
        private static readonly CandidateDepths Depths = new(70, 50, 60, 10, 10);

        public override string Name => "ranked";

        public override IRecommenderModel Fit(SuiteData d)
        {
            // Generators before 2022-11-01, labels from then to the cutoff.
            var labelFrom = EdaReport.DayOf(new DateOnly(2022, 11, 1));
            var history = d.Train.Slice(int.MinValue, labelFrom);
            var labels = d.Train.Slice(labelFrom, d.Cutoff);
            var alsA = AlsRecommender.Fit(history, Als);
            var knnA = ItemKnnModel.Fit(history, new ItemKnnParameters());
            var simA = SimilarToRecentModel.Fit(history, alsA.Model);
            var popA = PopularModel.Fit(history, labelFrom - 106, labelFrom);
            var featA = new FeatureContext(history, d.Catalog, labelFrom, alsA.Model, 106);
            var genreA = GenreProfileModel.Fit(history, d.Catalog.Genres, new GenreProfileParameters());
            var sources = new CandidateSources(alsA, knnA, genreA, simA, popA, BlendWeights.Default, Depths);
            var rows = new List<(float[] X, float[] Y, uint G)>();
            for (var u = 0; u < history.NumUsers; u++)
            {
                if (labels.CountOf(u) == 0)
                {
                    continue;
                }

                var candidates = new Candidate[Depths.Total];
                var n = RankedRecommender.Candidates(sources, u, history.ItemsOf(u), candidates);
                var truth = labels.ItemsOf(u).ToArray();
                var y = candidates[..n].Select(c => truth.Contains(c.Item) ? 1f : 0f).ToArray();
                var x = new float[n * FeatureContext.FeatureCount];
                featA.Compute(u, alsA.Model.UserVector(u), history.ItemsOf(u), candidates.AsSpan(0, n), x);
                rows.Add((x, y, (uint)u));
            }

            var ranker = GradientBoostedRanker.Fit(
                rows.SelectMany(r => r.X).ToArray(),
                rows.SelectMany(r => r.Y).ToArray(),
                rows.SelectMany(r => Enumerable.Repeat(r.G, r.Y.Length)).ToArray(),
                new RankerParameters { Trees = 20, MinExamplesPerLeaf = 20 });
            var als = AlsRecommender.Fit(d.Train, Als);
            return new RankedRecommender(als, ItemKnnModel.Fit(d.Train, new ItemKnnParameters()), GenreProfileModel.Fit(d.Train, d.Catalog.Genres, new GenreProfileParameters()),
                SimilarToRecentModel.Fit(d.Train, als.Model), PopularModel.Fit(d.Train, d.Cutoff - 106, d.Cutoff), BlendWeights.Default, Depths,
                new FeatureContext(d.Train, d.Catalog, d.Cutoff, als.Model, 106), ranker);
        }

        public override IRecommenderModel Load(string dir, SuiteData d) =>
            RankedRecommender.Load(dir, d.Ids, new ItemKnnParameters(), new GenreProfileParameters(), BlendWeights.Default, Depths);
    }
}

/// <summary>Ranking in batches with buffers kept between them (how every user is ranked) equals ranking one user at a time.</summary>
public class RankedBatchTests
{
    [Test]
    public void Batches_OfChangingSizes_ReusingTheBuffers_EqualOneUserAtATime()
    {
        var data = CandidateGeneratorSuite.Shared.Value;
        var ranked = (RankedRecommender)new CandidateGeneratorSuite.RankedFixture().Fit(data);
        var users = Enumerable.Range(0, data.Train.NumUsers).Where(u => data.Train.CountOf(u) > 0).Take(150).ToArray();
        var expected = users.Select(u =>
        {
            var buffer = new ScoredItem[10];
            return buffer[..ranked.Recommend(u, data.Train.ItemsOf(u), 10, buffer)];
        }).ToArray();

        // A large batch first, then smaller ones: the second and later calls read buffers longer than they need and dirty from before.
        var buffers = new RankingBuffers();
        var got = new List<ScoredItem[]>();
        foreach (var size in new[] { 90, 7, 1, 52 })
        {
            got.AddRange(ranked.RecommendBatch(users.Skip(got.Count).Take(size).ToArray(), data.Train.ItemsOf, 10, buffers));
        }

        Assert.That(got, Has.Count.EqualTo(users.Length));
        Assert.That(expected.Count(e => e.Length == 10), Is.GreaterThan(100), "most users get full lists");
        for (var i = 0; i < users.Length; i++)
        {
            Assert.That(got[i], Is.EqualTo(expected[i]), $"user {users[i]}");
        }
    }
}

public class FeatureContextTests
{
    /// <summary>The "artist played recently" feature from per-artist bit masks equals the scan of the latest listens it replaced.</summary>
    [Test]
    public void ArtistPlayedRecently_FromMasks_EqualsTheScanOfTheLatestListens()
    {
        Assert.That(FeatureContext.RecentArtistWindow, Is.InRange(1, 64), "one bit per listen in a 64-bit mask");
        var data = CandidateGeneratorSuite.Shared.Value;
        var als = AlsModel.Fit(InteractionMatrix.FromEvents(data.Train), new AlsParameters { Factors = 8, Iterations = 2, Seed = 1 });
        var context = new FeatureContext(data.Train, data.Catalog, data.Cutoff, als, 106);
        const int Column = 18;
        Assert.That(FeatureContext.FeatureNames[Column], Does.Contain("artist"));
        var nonZero = 0;
        foreach (var u in Enumerable.Range(0, data.Train.NumUsers).Where(u => data.Train.CountOf(u) > 0).Take(200))
        {
            var history = data.Train.ItemsOf(u).ToArray();
            var candidates = Enumerable.Range(0, data.Train.NumItems).Where(i => !history.Contains(i)).Take(150).Select(i => new Candidate { Item = i }).ToArray();
            var features = new float[candidates.Length * FeatureContext.FeatureCount];
            context.Compute(u, als.UserVector(u), history, candidates, features);
            var recent = history.AsSpan(Math.Max(0, history.Length - FeatureContext.RecentArtistWindow));
            for (var c = 0; c < candidates.Length; c++)
            {
                var expected = ArtistPlayedInByScan(context, candidates[c].Item, recent);
                Assert.That(features[(c * FeatureContext.FeatureCount) + Column], Is.EqualTo(expected), $"user {u}, track {candidates[c].Item}");
                nonZero += expected > 0 ? 1 : 0;
            }
        }

        Assert.That(nonZero, Is.GreaterThan(100), "the data must have candidates by recently played artists");
    }

    /// <summary>The obvious version: the share of the listens that have any of the item's artists.</summary>
    private static float ArtistPlayedInByScan(FeatureContext context, int item, ReadOnlySpan<int> listens)
    {
        var artists = context.ArtistsOf(item).ToArray();
        if (artists.Length == 0 || listens.Length == 0)
        {
            return 0;
        }

        var hits = 0;
        foreach (var h in listens)
        {
            hits += context.ArtistsOf(h).ToArray().Intersect(artists).Any() ? 1 : 0;
        }

        return hits / (float)listens.Length;
    }
}

/// <summary>The user, track and user–track features added for issue 27, each against its obvious version.</summary>
public class FeatureContextNewFeatureTests
{
    private static int Column(string name) => Array.IndexOf(FeatureContext.FeatureNames, name);

    [Test]
    public void UserAndTrackFeatures_EqualTheirObviousVersions()
    {
        var data = CandidateGeneratorSuite.Shared.Value;
        var train = data.Train;
        var als = AlsModel.Fit(InteractionMatrix.FromEvents(train), new AlsParameters { Factors = 8, Iterations = 2, Seed = 1 });
        var context = new FeatureContext(train, data.Catalog, data.Cutoff, als, 106);
        const int F = FeatureContext.FeatureCount;

        // Each track's first day, from every event.
        var firstDay = Enumerable.Repeat(int.MaxValue, train.NumItems).ToArray();
        for (var u = 0; u < train.NumUsers; u++)
        {
            for (var e = train.Start(u); e < train.End(u); e++)
            {
                firstDay[train.Items[e]] = Math.Min(firstDay[train.Items[e]], train.Days[e]);
            }
        }

        var checkedListensAgo = 0;
        foreach (var u in Enumerable.Range(0, train.NumUsers).Where(u => train.CountOf(u) > 0).Take(100))
        {
            var history = train.ItemsOf(u).ToArray();
            var candidates = Enumerable.Range(0, train.NumItems).Where(i => !history.Contains(i)).Take(120).Select(i => new Candidate { Item = i }).ToArray();
            var features = new float[candidates.Length * F];
            context.Compute(u, als.UserVector(u), history, candidates, features);

            var lastDay = Enumerable.Range(train.Start(u), train.CountOf(u)).Max(e => train.Days[e]);
            var genres = history.SelectMany(i => context.GenresOf(i).ToArray()).ToArray();
            var entropy = -genres.GroupBy(g => g).Sum(g => (double)g.Count() / genres.Length * Math.Log((double)g.Count() / genres.Length));
            var latest = history[Math.Max(0, history.Length - FeatureContext.RecentArtistWindow)..];
            var newShare = latest.Count(i => data.Cutoff - firstDay[i] <= FeatureContext.NewTrackDays) / (float)latest.Length;
            for (var c = 0; c < candidates.Length; c++)
            {
                var row = features.AsSpan(c * F, F);
                var item = candidates[c].Item;
                Assert.That(row[Column("user_days_since_last_listen")], Is.EqualTo(data.Cutoff - lastDay), $"user {u}");
                Assert.That(row[Column("user_genre_entropy")], Is.EqualTo(entropy).Within(1e-5), $"user {u}");
                Assert.That(row[Column("user_new_track_share")], Is.EqualTo(newShare), $"user {u}");
                Assert.That(row[Column("item_age_days")], Is.EqualTo(firstDay[item] == int.MaxValue ? -1 : data.Cutoff - firstDay[item]), $"track {item}");

                // The latest listen sharing an artist with the candidate: how many listens ago, log-scaled.
                var artists = context.ArtistsOf(item).ToArray();
                var last = Array.FindLastIndex(history, h => context.ArtistsOf(h).ToArray().Intersect(artists).Any());
                var expected = last < 0 ? -1 : MathF.Log(1 + history.Length - (last + 1));
                Assert.That(row[Column("artist_listens_ago")], Is.EqualTo(expected), $"user {u}, track {item}");
                checkedListensAgo += last >= 0 ? 1 : 0;
            }
        }

        Assert.That(checkedListensAgo, Is.GreaterThan(100), "the data must have candidates by artists the users heard");
    }
}
