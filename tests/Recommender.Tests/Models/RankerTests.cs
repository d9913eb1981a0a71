using Recommender.Ranking;

namespace Recommender.Tests.Models;

public class RankerTests
{
    [Test]
    public void ScoringManyRowsAtOnce_EqualsScoringEachRowAlone()
    {
        // Ten groups of 20 rows; the label follows feature 0, so the trees split on it.
        const int Groups = 10, PerGroup = 20, F = FeatureContext.FeatureCount;
        var rng = new Random(5);
        var rows = Groups * PerGroup;
        var features = Enumerable.Range(0, rows * F).Select(_ => (float)rng.NextDouble()).ToArray();
        var labels = Enumerable.Range(0, rows).Select(r => features[r * F] > 0.6f ? 1f : 0f).ToArray();
        var groups = Enumerable.Range(0, rows).Select(r => (uint)(r / PerGroup)).ToArray();
        var ranker = GradientBoostedRanker.Fit(features, labels, groups, new RankerParameters { Trees = 10, MinExamplesPerLeaf = 5 });

        var together = ranker.Score(features, rows);
        var alone = Enumerable.Range(0, rows).Select(r => ranker.Score(features.AsSpan(r * F, F).ToArray(), 1)[0]).ToArray();
        Assert.That(together, Is.EqualTo(alone));
        Assert.That(together.Distinct().Count(), Is.GreaterThan(1), "the rows must not all score alike");
        Assert.That(together.Where((_, r) => labels[r] == 1).Average(), Is.GreaterThan(together.Where((_, r) => labels[r] == 0).Average()));

        // Slices scored on several threads at once give every row the score one pass gives it.
        foreach (var slices in new[] { 2, 3, 7 })
        {
            Assert.That(ranker.Score(features, rows, slices), Is.EqualTo(together), $"{slices} slices");
        }
    }
}
