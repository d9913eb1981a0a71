using Recommender.Evaluation;

namespace Recommender.Tests.Evaluation;

public class MetricsTests
{
    [Test]
    public void HandComputedValues()
    {
        // 4 items; listeners 8, 4, 2, 1 among 16 users.
        var acc = new MetricsAccumulator(3, [8, 4, 2, 1], 16);
        // User A: recommended [0, 1, 2], relevant {1, 3}: one hit at rank 2.
        acc.Add([0, 1, 2], [1, 3]);
        // User B: recommended [3, 0], relevant {3}: one hit at rank 1 (list shorter than k).
        acc.Add([3, 0], [3]);
        // User C: nothing relevant: not evaluated.
        acc.Add([0], []);
        var m = acc.Result();

        Assert.That(m.Users, Is.EqualTo(2));
        Assert.That(m.Precision, Is.EqualTo(((1 / 3.0) + (1 / 3.0)) / 2).Within(1e-12));
        Assert.That(m.Recall, Is.EqualTo((0.5 + 1.0) / 2).Within(1e-12));
        var ndcgA = (1 / Math.Log2(3)) / (1 + (1 / Math.Log2(3)));
        Assert.That(m.Ndcg, Is.EqualTo((ndcgA + 1.0) / 2).Within(1e-12));
        // MAP: A = (1/2) / min(3, 2) = 0.25; B = 1 / 1 = 1.
        Assert.That(m.Map, Is.EqualTo((0.25 + 1.0) / 2).Within(1e-12));
        // Items 0, 1, 2, 3 recommended to evaluated users (C not evaluated) → coverage 4/4.
        Assert.That(m.Coverage, Is.EqualTo(1.0));
        // Novelty: −log2(p) for items 0,1,2 (A) and 3,0 (B): p = 8/16, 4/16, 2/16, 1/16, 8/16.
        Assert.That(m.Novelty, Is.EqualTo((1 + 2 + 3 + 4 + 1) / 5.0).Within(1e-12));
    }
}
