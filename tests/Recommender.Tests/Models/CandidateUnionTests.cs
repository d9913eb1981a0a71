using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Tests.Models;

/// <summary>The ranker's candidate union against the generators' own lists and the blend they make.</summary>
public class CandidateUnionTests
{
    private static readonly CandidateDepths[] DepthCases = [CandidateDepths.Default, new(80, 60, 50, 0, 10), new(50, 50, 100, 0, 0)];

    [TestCaseSource(nameof(DepthCases))]
    public void Candidates_CarryEachGeneratorsRank_TheBlendsScoreAndRank_AndTheirSourceCount(CandidateDepths depths)
    {
        var data = CandidateGeneratorSuite.Shared.Value;
        var train = data.Train;
        var als = AlsRecommender.Fit(train, new AlsParameters { Factors = 16, Iterations = 5, Seed = 5 });
        var itemKnn = ItemKnnModel.Fit(train, new ItemKnnParameters());
        var genre = GenreProfileModel.Fit(train, data.Catalog.Genres, new GenreProfileParameters());
        var similar = SimilarToRecentModel.Fit(train, als.Model);
        var popular = PopularModel.Fit(train, data.Cutoff - 106, data.Cutoff);
        var weights = new BlendWeights(0.5f, 2f);
        var sources = new CandidateSources(als, itemKnn, genre, similar, popular, weights, depths);
        var blend = FusionRecommender.Blend(als, itemKnn, genre, weights);
        var blendRanked = 0;
        foreach (var u in Enumerable.Range(0, train.NumUsers).Where(u => train.CountOf(u) > 0).Take(60))
        {
            var history = train.ItemsOf(u).ToArray();
            var candidates = new Candidate[depths.Total];
            var n = RankedRecommender.Candidates(sources, u, history, candidates);
            var union = candidates[..n];
            Assert.That(union.Select(c => c.Item).Distinct().Count(), Is.EqualTo(n), "each track once");

            ScoredItem[] List(IRecommenderModel model, int depth)
            {
                var buffer = new ScoredItem[depth];
                return buffer[..model.Recommend(u, history, depth, buffer)];
            }

            var lists = new[]
            {
                List(als, depths.Als), List(itemKnn, depths.ItemKnn), List(genre, depths.Genre),
                List(similar, depths.Similar), List(popular, depths.Popular),
            };
            Assert.That(union.Select(c => c.Item), Is.EquivalentTo(lists.SelectMany(l => l.Select(x => x.Item)).Distinct()), $"user {u}: the union of the lists");
            foreach (var c in union)
            {
                Assert.That(c.Sources, Is.EqualTo(lists.Count(l => l.Any(x => x.Item == c.Item))), $"user {u}, track {c.Item}: its generators");
                int RankIn(int source) => Array.FindIndex(lists[source], x => x.Item == c.Item) is var r and >= 0 ? r + 1 : depths[source] + 1;
                Assert.That((c.AlsRank, c.ItemKnnRank, c.GenreRank, c.SimilarRank, c.PopularRank), Is.EqualTo((RankIn(0), RankIn(1), RankIn(2), RankIn(3), RankIn(4))), $"user {u}, track {c.Item}: its rank in each list (depth + 1 when absent)");
            }

            // The blend's own top 50, in order, is the candidates ordered by blend rank; its scores are
            // theirs, however deeper the candidates read its parts.
            var fused = List(blend, RankedRecommender.BlendCandidates);
            var byRank = union.Where(c => c.BlendRank <= RankedRecommender.BlendCandidates).OrderBy(c => c.BlendRank).ToArray();
            Assert.That(byRank.Select(c => c.Item), Is.EqualTo(fused.Select(x => x.Item)), $"user {u}: the blend's order");
            Assert.That(byRank.Select(c => c.BlendRank), Is.EqualTo(Enumerable.Range(1, byRank.Length)));
            for (var r = 0; r < fused.Length; r++)
            {
                Assert.That(byRank[r].BlendScore, Is.EqualTo(fused[r].Score).Within(1e-5f), $"user {u}, rank {r + 1}");
            }

            blendRanked += byRank.Length;
        }

        Assert.That(blendRanked, Is.GreaterThan(60 * 30), "most users get a long blend");
    }
}

/// <summary>The genre profile's list against its definition, scored track by track.</summary>
public class GenreProfileReferenceTests
{
    [Test]
    public void Recommend_EqualsScoringEveryCandidateOfTheStrongestGenres()
    {
        var data = CandidateGeneratorSuite.Shared.Value;
        var parameters = new GenreProfileParameters { TopGenres = 4, ItemsPerGenre = 60 };
        var model = GenreProfileModel.Fit(data.Train, data.Catalog.Genres, parameters);
        var compared = 0;
        foreach (var u in Enumerable.Range(0, data.Train.NumUsers).Where(u => data.Train.CountOf(u) > 0).Take(150))
        {
            var history = data.Train.ItemsOf(u).ToArray();
            var profile = model.Profile(history);
            var strongest = Enumerable.Range(0, model.NumGenres).Where(g => profile[g] > 0)
                .OrderByDescending(g => profile[g]).ThenBy(g => g).Take(parameters.TopGenres);
            var expected = strongest.SelectMany(g => model.CandidatesOf(g).ToArray()).Distinct().Where(i => !history.Contains(i))
                .Select(i => new ScoredItem(i, model.Score(profile, i))).Order().Take(20).ToArray();
            var buffer = new ScoredItem[20];
            var got = buffer[..model.Recommend(u, history, 20, buffer)];
            Assert.That(got, Is.EqualTo(expected), $"user {u}");
            compared += got.Length;
        }

        Assert.That(compared, Is.GreaterThan(150 * 15), "most users get long lists");
    }
}
