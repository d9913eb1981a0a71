using Recommender.Numerics;

namespace Recommender.Tests.Models;

public class TopKTests
{
    [Test]
    public void MatchesAFullSort_ManyLengthsAndKs()
    {
        var rng = new Rng(3);
        foreach (var n in new[] { 0, 1, 2, 7, 31, 100, 1000 })
        {
            foreach (var k in new[] { 0, 1, 5, 10, 64, 2000 })
            {
                // Few distinct scores so that ties are common and the tie rule is exercised.
                var scores = Enumerable.Range(0, n).Select(_ => (float)rng.Next(20)).ToArray();
                var top = new TopK(k);
                for (var i = 0; i < n; i++)
                {
                    top.Add(i, scores[i]);
                }

                var expected = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k).ToArray();
                Assert.That(top.ToArray().Select(s => s.Item), Is.EqualTo(expected), $"n={n} k={k}");
            }
        }
    }

    [Test]
    public void Threshold_NeverPassesTheKthBestSoFar_AndRisesOnceTheBufferFills()
    {
        const int K = 10;
        var rng = new Rng(8);
        var top = new TopK(K);
        Assert.That(top.Threshold, Is.EqualTo(float.NegativeInfinity));
        var seen = new List<float>();
        for (var i = 0; i < 500; i++)
        {
            var score = (float)rng.NextGaussian();
            seen.Add(score);
            top.Add(i, score);
            var kth = seen.Count < K ? float.NegativeInfinity : seen.OrderByDescending(x => x).ElementAt(K - 1);
            Assert.That(top.Threshold, Is.LessThanOrEqualTo(kth), $"after {i + 1} adds");
        }

        Assert.That(top.Threshold, Is.GreaterThan(float.NegativeInfinity));
        Assert.That(top.Count, Is.EqualTo(K));
    }

    [Test]
    public void SelectFirst_PutsTheKSmallestInFront_WithTheKthLast()
    {
        var rng = new Rng(9);
        foreach (var n in new[] { 1, 2, 3, 10, 57, 300 })
        {
            for (var k = 1; k <= n; k += Math.Max(1, n / 7))
            {
                // Many equal scores: the item id decides among them.
                var a = Enumerable.Range(0, n).Select(i => new ScoredItem(rng.Next(1000), rng.Next(5))).ToArray();
                var expected = a.Order().ToArray();
                TopK.SelectFirst(a, k);
                Assert.That(a[..k].Order(), Is.EqualTo(expected[..k]), $"n={n} k={k}");
                Assert.That(a[k - 1], Is.EqualTo(expected[k - 1]), $"n={n} k={k}");
            }
        }
    }
}
