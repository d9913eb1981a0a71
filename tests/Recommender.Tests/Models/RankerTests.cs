using Recommender.Numerics;
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

        Assert.That(together, Is.EqualTo(ranker.ScoreWithMlNet(features, rows)), "the flat trees score as ML.NET does");
    }

    /// <summary>
    /// The flat trees against ML.NET's transformer, bit for bit: rankers of several sizes, rows
    /// that sit exactly on split thresholds, more rows than one scoring block or task, and a
    /// model saved and loaded again.
    /// </summary>
    [TestCase(1, 2, 5, 50)]
    [TestCase(10, 7, 5, 300)]
    [TestCase(60, 31, 3, 20_000)]
    public void FlatTrees_ScoreBitForBitAsMlNet(int trees, int leaves, int minPerLeaf, int rows)
    {
        const int F = FeatureContext.FeatureCount, PerGroup = 25;
        var rng = new Random(trees * 31 + rows);
        var features = new float[rows * F];
        for (var i = 0; i < features.Length; i++)
        {
            // A few distinct values per feature: many rows fall exactly on a threshold.
            features[i] = i % 3 == 0 ? rng.Next(4) : (float)(rng.NextDouble() * 10 - 5);
        }

        var labels = Enumerable.Range(0, rows).Select(r => features[r * F] + features[r * F + 1] > 2 || rng.Next(10) == 0 ? 1f : 0f).ToArray();
        var groups = Enumerable.Range(0, rows).Select(r => (uint)(r / PerGroup)).ToArray();
        var ranker = GradientBoostedRanker.Fit(features, labels, groups, new RankerParameters { Trees = trees, Leaves = leaves, MinExamplesPerLeaf = minPerLeaf });
        Assert.That(ranker.Trees.Trees, Is.EqualTo(trees));

        var reference = ranker.ScoreWithMlNet(features, rows);
        Assert.That(reference.Distinct().Count(), Is.GreaterThan(1), "the trees must split");
        Assert.That(ranker.Score(features, rows), Is.EqualTo(reference));

        var path = Path.Combine(Path.GetTempPath(), $"ranker-{Guid.NewGuid():N}.zip");
        try
        {
            ranker.Save(path);
            var loaded = GradientBoostedRanker.Load(path);
            Assert.That(loaded.Score(features, rows), Is.EqualTo(reference), "after save and load");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Saabas attribution: per row, bias + Σ contributions is the score the trees give it; a
    /// feature no tree splits on (constant here) gets exactly zero; the bias is the same for every row.
    /// </summary>
    [Test]
    public void Contributions_AddUpToTheScore_AndSkipFeaturesNoTreeSplitsOn()
    {
        const int F = FeatureContext.FeatureCount, Rows = 1500, Constant = 5;
        var rng = new Random(23);
        var features = new float[Rows * F];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = i % F == Constant ? 1f : (float)(rng.NextDouble() * 4);
        }

        var labels = Enumerable.Range(0, Rows).Select(r => features[r * F] + features[(r * F) + 3] > 4 || rng.Next(8) == 0 ? 1f : 0f).ToArray();
        var groups = Enumerable.Range(0, Rows).Select(r => (uint)(r / 15)).ToArray();
        var trees = GradientBoostedRanker.Fit(features, labels, groups, new RankerParameters { Trees = 15, Leaves = 7, MinExamplesPerLeaf = 5 }).Trees;
        var scores = new float[Rows];
        trees.ScoreByWalk(features, scores);
        var contributions = new double[F];
        var biases = new HashSet<double>();
        var moved = new bool[F];
        for (var r = 0; r < Rows; r++)
        {
            var bias = trees.Contributions(features.AsSpan(r * F, F), contributions);
            biases.Add(bias);
            Assert.That(bias + contributions.Sum(), Is.EqualTo(scores[r]).Within(1e-5), $"row {r}");
            Assert.That(contributions[Constant], Is.Zero, "a constant feature is never split on");
            for (var f = 0; f < F; f++)
            {
                moved[f] |= contributions[f] != 0;
            }
        }

        Assert.That(biases, Has.Count.EqualTo(1), "the bias depends on the trees only");
        Assert.That(moved[0] && moved[3], "the two features the labels follow must push rows up or down");
        Assert.Throws<ArgumentException>(() => trees.Contributions(features.AsSpan(0, F - 1), contributions));
    }

    /// <summary>
    /// The vector walk (eight rows per step) against the one-row walk: NaN and ±∞ values, values
    /// exactly on thresholds, and every row count from 1 to 130 (partial blocks and groups).
    /// </summary>
    [Test]
    public void VectorWalk_ScoresAsTheRowWalk_WithNaNInfinitiesAndPartialBlocks()
    {
        Assume.That(TreeEnsemble.Vectorized, "AVX2 is absent: Score is the row walk itself");
        const int F = FeatureContext.FeatureCount, Rows = 2000;
        var rng = new Random(17);
        var features = new float[Rows * F];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = i % 3 == 0 ? rng.Next(4) : (float)(rng.NextDouble() * 10 - 5);
        }

        var labels = Enumerable.Range(0, Rows).Select(r => features[r * F] + features[(r * F) + 2] > 2 || rng.Next(10) == 0 ? 1f : 0f).ToArray();
        var groups = Enumerable.Range(0, Rows).Select(r => (uint)(r / 20)).ToArray();
        var trees = GradientBoostedRanker.Fit(features, labels, groups, new RankerParameters { Trees = 20, Leaves = 7, MinExamplesPerLeaf = 5 }).Trees;

        // Now the odd values, on the features the trees split on.
        float[] odd = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0, 1, 2, 3];
        for (var r = 0; r < Rows; r += 3)
        {
            features[(r * F) + (r % F)] = odd[r % odd.Length];
            features[r * F] = odd[(r / 3) % odd.Length];
        }

        for (var rows = 1; rows <= 130; rows++)
        {
            var fast = new float[rows];
            var slow = new float[rows];
            var from = rows * 7 % (Rows - rows);
            trees.Score(features.AsSpan(from * F, rows * F), fast);
            trees.ScoreByWalk(features.AsSpan(from * F, rows * F), slow);
            Assert.That(fast, Is.EqualTo(slow), $"{rows} rows from row {from}");
        }

        var all = new float[Rows];
        var reference = new float[Rows];
        trees.Score(features, all);
        trees.ScoreByWalk(features, reference);
        Assert.That(all, Is.EqualTo(reference));
        Assert.That(reference.Distinct().Count(), Is.GreaterThan(10), "the trees must split");
    }

    [Test]
    public void SampleNegatives_KeepsEveryPositive_AndTheAskedNumberOfNegatives()
    {
        var candidates = Enumerable.Range(0, 50).Select(i => new Candidate { Item = i }).ToArray();
        var labels = Enumerable.Range(0, 50).Select(i => i % 10 == 3 ? 1f : 0f).ToArray();
        var kept = RankerTraining.SampleNegatives(candidates, labels, 7, new Rng(1));
        Assert.That(kept, Is.EqualTo(5 + 7));
        Assert.That(labels[..5], Is.All.EqualTo(1f));
        Assert.That(labels[5..kept], Is.All.EqualTo(0f));
        Assert.That(candidates[..5].Select(c => c.Item), Is.EquivalentTo(new[] { 3, 13, 23, 33, 43 }));
        Assert.That(candidates.Select(c => c.Item).Distinct().Count(), Is.EqualTo(50), "a permutation: nothing lost or doubled");
        for (var c = 0; c < 50; c++)
        {
            Assert.That(labels[c], Is.EqualTo(candidates[c].Item % 10 == 3 ? 1f : 0f), "labels move with their candidates");
        }
    }

    [Test]
    public void SampleNegatives_Hard_KeepsTheBlendsBestRankedNegatives_ThenRandomOnes()
    {
        // Track i has blend rank 50 − i: the highest tracks are the blend's best.
        var candidates = Enumerable.Range(0, 50).Select(i => new Candidate { Item = i, BlendRank = 50 - i }).ToArray();
        var labels = Enumerable.Range(0, 50).Select(i => i is 49 or 10 ? 1f : 0f).ToArray();
        var kept = RankerTraining.SampleNegatives(candidates, labels, 6, new Rng(3), hard: 4);
        Assert.That(kept, Is.EqualTo(2 + 6));
        Assert.That(candidates[..2].Select(c => c.Item), Is.EquivalentTo(new[] { 49, 10 }));
        Assert.That(candidates[2..6].Select(c => c.Item), Is.EqualTo(new[] { 48, 47, 46, 45 }), "the best-ranked negatives, best first (49 is a positive)");
        Assert.That(candidates[6..8].Select(c => c.Item), Is.All.LessThan(45).And.All.Not.EqualTo(10), "then random negatives from the rest");
        Assert.That(candidates.Select(c => c.Item).Distinct().Count(), Is.EqualTo(50), "a permutation: nothing lost or doubled");
    }

    [Test]
    public void TreePrefix_ScoresAsTheShorterFit()
    {
        const int F = FeatureContext.FeatureCount, Rows = 1200;
        var rng = new Rng(9);
        var features = new float[Rows * F];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = (float)rng.NextDouble();
        }

        var labels = Enumerable.Range(0, Rows).Select(r => features[(r * F) + 2] + (0.3f * features[(r * F) + 5]) > 0.8f ? 1f : 0f).ToArray();
        var groups = Enumerable.Range(0, Rows).Select(r => (uint)(r / 30)).ToArray();
        var p = new RankerParameters { Trees = 12, Leaves = 5, MinExamplesPerLeaf = 10 };
        var shortFit = GradientBoostedRanker.Fit(features, labels, groups, p);
        var longFit = GradientBoostedRanker.Fit(features, labels, groups, p with { Trees = 30 });
        Assert.That(longFit.Trees.Trees, Is.EqualTo(30));
        var expected = shortFit.Score(features, Rows);
        var prefix = new float[Rows];
        longFit.Trees.Prefix(12).Score(features, prefix);
        Assert.That(prefix, Is.EqualTo(expected), "boosting adds trees: the first 12 of 30 are the 12-tree model");
        var all = new float[Rows];
        longFit.Trees.Score(features, all);
        Assert.That(all, Is.Not.EqualTo(expected), "and the other 18 change the scores");
        Assert.That(longFit.FeatureGains[2], Is.GreaterThan(longFit.FeatureGains[10]), "the label's feature carries more gain than a noise feature");
        Assert.That(longFit.FeatureGains, Has.Length.EqualTo(F).And.All.GreaterThanOrEqualTo(0));
    }

    /// <summary>
    /// The fit over the label windows' groups reads each group's own arrays (no flat copy): it
    /// learns the same trees as the flat fit over those rows laid out by hand, groups of uneven
    /// sizes, each group its own query.
    /// </summary>
    [Test]
    public void FitOverGroups_LearnsTheSameTreesAsTheFlatFitOverTheirRows()
    {
        const int F = FeatureContext.FeatureCount;
        var rng = new Rng(17);
        var groups = Enumerable.Range(0, 60).Select(g =>
        {
            var n = 3 + rng.Next(40);
            var x = new float[n * F];
            for (var i = 0; i < x.Length; i++)
            {
                x[i] = (float)rng.NextDouble();
            }

            var y = Enumerable.Range(0, n).Select(r => x[(r * F) + 4] > 0.7f ? 1f : 0f).ToArray();
            return new RankerGroup(g, 0, x, y);
        }).ToArray();
        var p = new RankerParameters { Trees = 15, Leaves = 5, MinExamplesPerLeaf = 8 };

        var features = groups.SelectMany(g => g.Features).ToArray();
        var labels = groups.SelectMany(g => g.Labels).ToArray();
        var ids = groups.SelectMany((g, i) => Enumerable.Repeat((uint)i, g.Labels.Length)).ToArray();
        var flat = GradientBoostedRanker.Fit(features, labels, ids, p);
        var overGroups = RankerTraining.Fit(groups, p);

        var rows = labels.Length;
        var expected = flat.Score(features, rows);
        Assert.That(expected.Distinct().Count(), Is.GreaterThan(5), "the trees must split");
        Assert.That(overGroups.Score(features, rows), Is.EqualTo(expected));
        Assert.That(RankerTraining.Fit(groups, p, shuffleLabelsSeed: 3).Score(features, rows), Is.Not.EqualTo(expected), "shuffled labels teach other trees");
    }
}
