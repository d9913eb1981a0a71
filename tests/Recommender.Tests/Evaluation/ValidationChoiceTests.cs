using Recommender.Evaluation;

namespace Recommender.Tests.Evaluation;

public class ValidationChoiceTests
{
    private static MetricSet[] At10(double ndcg, int users) => [new MetricSet(10, users, 0, 0, ndcg, 0, 0, 0)];

    private static ValidationReport Choose(params (string Name, double[] PerUser)[] lists) =>
        ValidationReport.Choose(lists[0].PerUser.Length,
            lists.ToDictionary(l => l.Name, l => At10(l.PerUser.Average(), l.PerUser.Length)),
            lists.ToDictionary(l => l.Name, l => (IReadOnlyList<double>)l.PerUser));

    [Test]
    public void ClearlyBetter_NeedsMoreThanOneStandardError()
    {
        // Differences 1, 0, 1, 0: mean 0.5, sample sd √(1/3), standard error √(1/3)/2 ≈ 0.289 < 0.5.
        Assert.That(ValidationReport.ClearlyBetter([1, 0, 1, 0], [0, 0, 0, 0]), Is.True);

        // Differences 1, −1, 1, 0: mean 0.25, sd √(0.9167), standard error ≈ 0.479 > 0.25.
        Assert.That(ValidationReport.ClearlyBetter([1, 0, 1, 0], [0, 1, 0, 0]), Is.False);
        Assert.That(ValidationReport.ClearlyBetter([0.5], [0]), Is.False, "one user proves nothing");
        Assert.That(() => ValidationReport.ClearlyBetter([1, 0], [0]), Throws.ArgumentException);
    }

    [Test]
    public void AComplexListWithinNoiseOfASimplerOne_IsNotServed()
    {
        // ranked has the highest mean (0.35 against ALS's 0.3) but the paired difference is noise.
        var v = Choose(
            ("popular", [0.1, 0.0, 0.1, 0.0]),
            ("als", [0.6, 0.0, 0.6, 0.0]),
            ("ranked", [1.0, 0.0, 0.0, 0.4]));
        Assert.That(v.Served, Is.EqualTo("als"));
        Assert.That(v.BestSingle, Is.EqualTo("als"));
        Assert.That(v.Margin, Is.EqualTo(0.3 - 0.35).Within(1e-12), "served minus the best other list");

        // The gate's two steps, by hand. als − popular: 0.5, 0, 0.5, 0 → mean 0.25, standard error
        // √(0.25/3/4) ≈ 0.1443. ranked − als: 0.4, 0, −0.6, 0.4 → mean 0.05, √(0.67/3/4) ≈ 0.2363.
        Assert.That(v.Gate.Select(g => (g.Candidate, g.Against, g.Replaces)), Is.EqualTo(new[] { ("als", "popular", true), ("ranked", "als", false) }));
        Assert.That(v.Gate[0].Difference, Is.EqualTo(0.25).Within(1e-12));
        Assert.That(v.Gate[0].StandardError, Is.EqualTo(Math.Sqrt(0.25 / 12)).Within(1e-12));
        Assert.That(v.Gate[1].Difference, Is.EqualTo(0.05).Within(1e-12));
        Assert.That(v.Gate[1].StandardError, Is.EqualTo(Math.Sqrt(0.67 / 12)).Within(1e-12));
        Assert.That(v.ToMarkdown(), Does.Contain("| ranked | als | +0.0500 | 0.2363 | no |"));
    }

    [Test]
    public void AListThatClearlyBeatsTheSimplerChoice_IsServed()
    {
        var v = Choose(
            ("popular", [0.1, 0.0, 0.1, 0.0]),
            ("als", [0.2, 0.1, 0.2, 0.1]),
            ("ranked", [0.5, 0.3, 0.6, 0.4]));
        Assert.That(v.Served, Is.EqualTo("ranked"));
        Assert.That(v.BestSingle, Is.EqualTo("als"));
    }

    [Test]
    public void TheBlend_MustBeatTheGenreProfile_NotJustAls()
    {
        // genre clearly beats ALS; the blend beats ALS clearly too, but is within noise of genre.
        var v = Choose(
            ("popular", [0.1, 0.0, 0.1, 0.0]),
            ("als", [0.2, 0.1, 0.2, 0.1]),
            ("genre", [0.5, 0.3, 0.6, 0.4]),
            ("blend", [0.9, 0.3, 0.2, 0.5]));
        Assert.That(v.Served, Is.EqualTo("genre"));
        Assert.That(v.BestSingle, Is.EqualTo("genre"));
        Assert.That(ValidationReport.Candidates, Is.EqualTo(new[] { "popular", "als", "itemknn", "genre", "similar", "blend", "ranked" }), "simplest first: ties and noise go to the simpler list");
    }

    [Test]
    public void MetricsAccumulator_KeepsEachUsersNdcg_OnlyWhenAsked()
    {
        var kept = new MetricsAccumulator(2, [1, 1, 1], 3, keepUserNdcg: true);
        var plain = new MetricsAccumulator(2, [1, 1, 1], 3);
        foreach (var acc in new[] { kept, plain })
        {
            acc.Add([0, 1], [0]); // hit at rank 1: 1
            acc.Add([0, 1], []); // nothing to predict: not a user
            acc.Add([0, 1], [1, 2]); // hit at rank 2: (1/log2 3) / (1 + 1/log2 3)
        }

        Assert.That(kept.UserNdcg, Is.EqualTo(new[] { 1, (1 / Math.Log2(3)) / (1 + (1 / Math.Log2(3))) }).Within(1e-12));
        Assert.That(plain.UserNdcg, Is.Empty);
    }
}

public sealed class CandidateListTests
{
    [Test]
    public void Every_list_round_trips_through_its_name()
    {
        foreach (var list in Recommender.Evaluation.CandidateLists.All)
        {
            Assert.That(Recommender.Evaluation.CandidateLists.Parse(list.Name()), Is.EqualTo(list));
        }

        Assert.That(Recommender.Evaluation.CandidateLists.All.Select(l => l.Name()), Is.Unique);
    }

    [Test]
    public void An_unknown_name_is_refused_naming_it_instead_of_serving_popular()
    {
        var e = Assert.Throws<ArgumentException>(() => Recommender.Evaluation.CandidateLists.Parse("ranker"));
        Assert.That(e!.Message, Does.Contain("'ranker'").And.Contain("ranked"));
    }
}
