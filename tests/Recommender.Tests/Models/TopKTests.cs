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
    public void Threshold_IsTheWorstKeptScore()
    {
        var top = new TopK(2);
        Assert.That(top.Threshold, Is.EqualTo(float.NegativeInfinity));
        top.Add(1, 5);
        top.Add(2, 3);
        top.Add(3, 4);
        Assert.That(top.Threshold, Is.EqualTo(4));
    }
}
