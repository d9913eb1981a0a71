using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Tests.Support;

namespace Recommender.Tests.Models;

public class GenreProfileTests
{
    // Tracks 0..4 with raw genres 0:[10], 1:[10, 20], 2:[20], 3:[30], 4:[10] (track 4 never heard).
    private static readonly IdLists Genres = new([0, 1, 3, 4, 5, 6], [10, 10, 20, 20, 30, 10]);

    // Listeners: track 0 two, tracks 1, 2, 3 one each, track 4 none. Genre listens: 10 → 3, 20 → 2, 30 → 1.
    private static EventLog Listens() => TinyLogs.FromUserItems(5, [[0], [0, 1], [3], [2]]);

    /// <summary>GenreIdf 1 and PopularityExponent 1 keep the hand computation simple: weights 1/3, 1/2, 1; priors 1 + listeners.</summary>
    private static readonly GenreProfileParameters Simple = new() { GenreIdf = 1, PopularityExponent = 1 };

    private static ScoredItem[] Recommend(GenreProfileModel model, int[] history, int k = 10)
    {
        var buffer = new ScoredItem[k];
        return buffer[..model.Recommend(0, history, k, buffer)];
    }

    [Test]
    public void Scores_AreTheProfileOverTheTracksGenres_TimesThePrior_ComputedByHand()
    {
        var model = GenreProfileModel.Fit(Listens(), Genres, Simple);

        // History [0]: profile {10: 1/3}. Track 1 (genres 10, 20, prior 2): 2/3; track 4 (genre 10, never heard, prior 1): 1/3.
        var list = Recommend(model, [0]);
        Assert.That(list.Select(s => s.Item), Is.EqualTo(new[] { 1, 4 }));
        Assert.That(list[0].Score, Is.EqualTo(2f / 3).Within(1e-6));
        Assert.That(list[1].Score, Is.EqualTo(1f / 3).Within(1e-6));

        // History [0, 2]: profile {10: 1/3, 20: 1/2}; track 1 sums both: (1/3 + 1/2) × 2 = 5/3.
        var both = Recommend(model, [0, 2]);
        Assert.That(both.Select(s => s.Item), Is.EqualTo(new[] { 1, 4 }));
        Assert.That(both[0].Score, Is.EqualTo(5f / 3).Within(1e-6));
    }

    [Test]
    public void Candidates_ComeFromTheStrongestGenres_AndEachGenresMostListenedTracks()
    {
        // History [0, 3]: profile {10: 1/3, 30: 1}. One genre: only 30, whose one track was heard.
        Assert.That(Recommend(GenreProfileModel.Fit(Listens(), Genres, Simple with { TopGenres = 1 }), [0, 3]), Is.Empty);
        Assert.That(Recommend(GenreProfileModel.Fit(Listens(), Genres, Simple with { TopGenres = 2 }), [0, 3]).Select(s => s.Item), Is.EqualTo(new[] { 1, 4 }));

        // One track per genre: genre 10 offers track 0 (two listeners), already heard.
        Assert.That(Recommend(GenreProfileModel.Fit(Listens(), Genres, Simple with { ItemsPerGenre = 1 }), [0]), Is.Empty);
        // Genre 20's tracks 1 and 2 tie on one listener: the lower index is offered.
        Assert.That(Recommend(GenreProfileModel.Fit(Listens(), Genres, Simple with { ItemsPerGenre = 1 }), [2]).Select(s => s.Item), Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public void WithEveryGenreAndTrackAllowed_TheListIsTheExactTopKOfAFullScan()
    {
        var rng = new Rng(3);
        const int items = 300, genres = 25;
        var offsets = new int[items + 1];
        var values = new List<long>();
        for (var i = 0; i < items; i++)
        {
            foreach (var g in Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => 100 + (long)rng.Next(genres)).Distinct())
            {
                values.Add(g);
            }

            offsets[i + 1] = values.Count;
        }

        var users = Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 1 + rng.Next(20)).Select(_ => rng.Next(items)).Distinct().ToArray()).ToArray();
        var log = TinyLogs.FromUserItems(items, users);
        var model = GenreProfileModel.Fit(log, new IdLists(offsets, [.. values]), new GenreProfileParameters { TopGenres = genres, ItemsPerGenre = items });
        for (var u = 0; u < users.Length; u++)
        {
            var history = log.ItemsOf(u).ToArray();
            var profile = model.Profile(history);
            var expected = Enumerable.Range(0, items).Where(i => !history.Contains(i)).Select(i => new ScoredItem(i, model.Score(profile, i))).Where(s => s.Score > 0).Order().Take(10).ToArray();
            Assert.That(Recommend(model, history), Is.EqualTo(expected), $"user {u}");
        }
    }

    [Test]
    public void Fit_RefusesGenresForAnotherCatalog_NamingTheArgument()
    {
        var error = Assert.Throws<ArgumentException>(() => GenreProfileModel.Fit(TinyLogs.FromUserItems(6, [[0]]), Genres, Simple));
        Assert.That(error!.ParamName, Is.EqualTo("genres"));
        Assert.That(error.Message, Does.Contain("5 tracks").And.Contain("6"));
    }

    [Test]
    public void Validate_ListsEveryBadSetting()
    {
        var failures = new GenreProfileParameters { GenreIdf = -1, PopularityExponent = float.NaN, TopGenres = 0 }.Validate().ToArray();
        Assert.That(failures, Has.Length.EqualTo(3));
        Assert.That(failures[0], Does.Contain("GenreIdf"));
        Assert.That(failures[1], Does.Contain("PopularityExponent"));
        Assert.That(failures[2], Does.Contain("TopGenres"));
    }
}

public class ScoreFusionTests
{
    [Test]
    public void Fuse_SumsWeightedMinMaxScaledScores_ComputedByHand()
    {
        // A scales to 5: 1, 6: 0.5, 7: 0; B (weight 2) to 6: 1, 8: 0; each plus the 0.001 floor.
        ScoredItem[] a = [new(5, 10), new(6, 6), new(7, 2)];
        ScoredItem[] b = [new(6, 3), new(8, 1)];
        var destination = new ScoredItem[4];
        var n = FusionRecommender.Fuse([a, b], [1f, 2f], 4, destination);
        Assert.That(destination[..n].Select(s => s.Item), Is.EqualTo(new[] { 6, 5, 8, 7 }));
        Assert.That(destination[0].Score, Is.EqualTo(0.501f + (2 * 1.001f)).Within(1e-6));
        Assert.That(destination[1].Score, Is.EqualTo(1.001f).Within(1e-6));
        Assert.That(destination[2].Score, Is.EqualTo(0.002f).Within(1e-6));
        Assert.That(destination[3].Score, Is.EqualTo(0.001f).Within(1e-6));
    }

    [Test]
    public void Fuse_IgnoresAListOfWeightZero_AndScalesAOneItemListToOne()
    {
        ScoredItem[] a = [new(1, 0.3f)];
        ScoredItem[] b = [new(2, 9f), new(3, 1f)];
        var destination = new ScoredItem[3];
        var n = FusionRecommender.Fuse([a, b], [1f, 0f], 3, destination);
        Assert.That(destination[..n], Is.EqualTo(new[] { new ScoredItem(1, 1.001f) }));
    }
}
