using Recommender.Data;
using Recommender.Evaluation;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Serving;

namespace Recommender.Tests.Serving;

/// <summary>
/// Eight tracks, one known user (dense 0) who heard track 0 and whose offline list is [1, 2, 3];
/// track 5's neighbours are [2, 4]; popular is [6, 7, 2]. The user's online listen is track 5.
/// </summary>
public class BlenderTests
{
    private static BlendSources Sources()
    {
        var personal = new ScoredListsBuilder(1, null, 3);
        personal.Set(0, [new ScoredItem(1, 0.9f), new ScoredItem(2, 0.8f), new ScoredItem(3, 0.7f)]);
        var similarOffsets = new int[9];
        for (var i = 6; i < 9; i++)
        {
            similarOffsets[i] = 2; // only track 5 has neighbours
        }

        var similar = new NeighborTable(similarOffsets, [2, 4], [0.9f, 0.5f]);
        var sequential = new NeighborTable(new int[9], [], []);
        var factors = Enumerable.Range(0, 16).Select(i => ((i * 7) % 5) / 5f).ToArray();
        var als = new AlsRecommender(new AlsModel(2, new[] { 0.5f, 0.5f }, factors, new AlsParameters { Factors = 2 }));
        return new BlendSources(new RecommendationTable(personal), new SimilarToRecentModel(similar, sequential), als,
            DenseKernels.Gram(als.Model.ItemFactors, 2, 0.1f), new PopularModel([6, 7, 2], [10, 9, 8]), 8);
    }

    private static int[] Blend(BlendStrategy strategy, int user = 0, int[]? history = null) =>
        [.. Blender.Recommend(Sources(), user, history ?? [0], [5], 6, strategy).Select(x => x.Item)];

    [Test]
    public void Interleave_AlternatesOnlineAndPersonal_ThenPopular() =>
        Assert.That(Blend(BlendStrategy.Interleave), Is.EqualTo(new[] { 2, 1, 4, 3, 6, 7 }));

    [Test]
    public void RankFusion_LiftsWhatTheListsAgreeOn()
    {
        // 2 is in all three lists (1/61 + 1/62 + 1/63); 1 and 6 head one list each (1/61, personal
        // before popular on the tie); 4 and 7 are second (1/62); 3 is third (1/63).
        var blended = Blender.Recommend(Sources(), 0, [0], [5], 6, BlendStrategy.RankFusion);
        Assert.That(blended.Select(x => x.Item), Is.EqualTo(new[] { 2, 1, 6, 4, 7, 3 }));
        Assert.That(blended.Select(x => x.Source), Is.EqualTo(new[]
        {
            RecommendationSource.Online, RecommendationSource.Personal, RecommendationSource.Popular,
            RecommendationSource.Online, RecommendationSource.Popular, RecommendationSource.Personal,
        }));
        Assert.That(blended[0].Score, Is.EqualTo((1 / 61f) + (1 / 62f) + (1 / 63f)).Within(1e-6f));
    }

    [Test]
    public void OfflineOnly_IgnoresOnlineNeighbours_ButKeepsTheListenOut()
    {
        Assert.That(Blend(BlendStrategy.OfflineOnly), Is.EqualTo(new[] { 1, 2, 3, 6, 7, 4 }));
        Assert.That(Blend(BlendStrategy.OfflineOnly, user: -1, history: []), Is.EqualTo(new[] { 6, 7, 2, 0, 1, 3 }), "a cold user gets popular, then index order; 5 (heard online) never");
    }

    [Test]
    public void EveryStrategy_ReturnsKDistinctUnheardTracks([Values] BlendStrategy strategy, [Values(-1, 0)] int user)
    {
        var items = Blend(strategy, user, user < 0 ? [] : [0]);
        Assert.That(items, Has.Length.EqualTo(6).And.Unique);
        Assert.That(items, Has.None.EqualTo(5));
        Assert.That(items, user < 0 ? Has.All.InRange(0, 7) : Has.None.EqualTo(0));
    }

    [Test]
    public void Replay_ScoresEachStrategyOnTheListensAfterTheOnlineOnes()
    {
        // The user heard 0 before the split and 5, 2, 4 after: 5 goes online, {2, 4} is the truth.
        // Interleave [2, 1, 4, ...]: DCG 1 + 1/log2(4) = 1.5; fusion [2, 1, 6, 4, ...]: 1 + 1/log2(5);
        // offline [1, 2, 3, 6, 7, 4]: 1/log2(3) + 1/log2(7). IDCG = 1 + 1/log2(3).
        var users = IdMap.FromSorted([42]);
        var train = new EventLog(users, 8, [0, 1], [0], [100], [1]);
        var test = new EventLog(users, 8, [0, 3], [5, 2, 4], [200, 201, 202], [2, 3, 4]);
        var report = ReplayReport.Run(train, test, Sources(), onlineListens: 1, maxUsers: 10, seed: 1);

        var idcg = 1 + (1 / Math.Log2(3));
        var ndcg = report.Rows.ToDictionary(r => r.Strategy, r => r.Warm.Ndcg);
        Assert.That(ndcg["Interleave"], Is.EqualTo(1.5 / idcg).Within(1e-9));
        Assert.That(ndcg["RankFusion"], Is.EqualTo((1 + (1 / Math.Log2(5))) / idcg).Within(1e-9));
        Assert.That(ndcg["OfflineOnly"], Is.EqualTo(((1 / Math.Log2(3)) + (1 / Math.Log2(7))) / idcg).Within(1e-9));
        Assert.That(report.BestWarm, Is.EqualTo(BlendStrategy.Interleave));
        Assert.That(report.Rows.All(r => r.Warm.Users == 1 && r.Cold.Users == 0));
        Assert.That(report.BestCold, Is.EqualTo(BlendChoice.Default.Cold), "no cold users: the default");
    }

    [Test]
    public void Replay_SkipsUsersWithNothingLeftToPredict()
    {
        // After the online listen, the user only re-heard 0 (already in history): nothing to score.
        var users = IdMap.FromSorted([42]);
        var train = new EventLog(users, 8, [0, 1], [0], [100], [1]);
        var test = new EventLog(users, 8, [0, 2], [5, 0], [200, 201], [2, 3]);
        var report = ReplayReport.Run(train, test, Sources(), onlineListens: 1, maxUsers: 10, seed: 1);
        Assert.That(report.Rows.All(r => r.Warm.Users == 0 && r.Cold.Users == 0));
    }
}
