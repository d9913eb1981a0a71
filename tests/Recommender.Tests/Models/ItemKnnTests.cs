using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Pipeline;
using Recommender.Ranking;

namespace Recommender.Tests.Models;

public class ItemKnnTests
{
    private static EventLog Log(int items, params int[][] users) => Support.TinyLogs.FromUserItems(items, users);

    [Test]
    public void Similarities_MatchTheFormula_ByHand()
    {
        // Tracks A=0, B=1, C=2, D=3. Users: [A,B], [A,B,C], [C,D].
        var log = Log(4, [0, 1], [0, 1, 2], [2, 3]);
        var model = ItemKnnModel.Fit(log, new ItemKnnParameters { Neighbors = 3, Shrink = 0 });
        double w2 = 1 / Math.Log(Math.E + 2), w3 = 1 / Math.Log(Math.E + 3);
        var nA = w2 + w3; // = n(B) = n(C)
        float Sim(int i, int j) => model.Neighbors.ScoresOf(i)[model.Neighbors.NeighborsOf(i).IndexOf(j)];
        Assert.That(Sim(0, 1), Is.EqualTo(1.0).Within(1e-6), "A and B always together");
        Assert.That(Sim(0, 2), Is.EqualTo(w3 / nA).Within(1e-6));
        Assert.That(Sim(2, 3), Is.EqualTo(w2 / Math.Sqrt(nA * w2)).Within(1e-6));
        Assert.That(model.Neighbors.NeighborsOf(0).ToArray(), Is.EqualTo(new[] { 1, 2 }), "best first, never itself, D never met A");

        // User [A]: B (1.0) before C (w3/nA); A itself is excluded.
        var buffer = new ScoredItem[4];
        var n = model.Recommend(0, [0], 4, buffer);
        Assert.That(buffer[..n].Select(x => x.Item), Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public void Rp3Beta_MatchesTheRandomWalk_ByHand()
    {
        // Tracks A=0, B=1, C=2, D=3. Users: [A,B], [A,B,C], [C,D]. Listeners: A 2, B 2, C 2, D 1.
        var log = Log(4, [0, 1], [0, 1, 2], [2, 3]);
        var model = ItemKnnModel.Fit(log, new ItemKnnParameters { Neighbors = 3, Rp3Beta = 0.5f });
        float Sim(int i, int j) => model.Neighbors.ScoresOf(i)[model.Neighbors.NeighborsOf(i).IndexOf(j)];

        // W[i, j] = (1/listeners(i))^½ Σ_u∋i,j (1/|u|)^½ / listeners(j)^½.
        Assert.That(Sim(0, 1), Is.EqualTo(Math.Sqrt(0.5) * (Math.Sqrt(0.5) + Math.Sqrt(1 / 3.0)) * Math.Sqrt(0.5)).Within(1e-6));
        Assert.That(Sim(0, 2), Is.EqualTo(Math.Sqrt(0.5) * Math.Sqrt(1 / 3.0) * Math.Sqrt(0.5)).Within(1e-6));
        Assert.That(Sim(2, 3), Is.EqualTo(Math.Sqrt(0.5) * Math.Sqrt(0.5) * 1).Within(1e-6), "D's one listener: no penalty");
        Assert.That(Sim(3, 2), Is.EqualTo(1 * Math.Sqrt(0.5) * Math.Sqrt(0.5)).Within(1e-6), "the walk from D: C");
        Assert.That(model.Parameters.Method, Is.EqualTo("RP3beta β=0.5"));
    }

    [Test]
    public void Fit_EqualsASlowObviousVersion_OnRandomData()
    {
        var rng = new Rng(3);
        const int Items = 40;
        var users = Enumerable.Range(0, 60).Select(_ => Enumerable.Range(0, Items).Where(_ => rng.Next(5) == 0).ToArray()).Where(x => x.Length > 0).ToArray();
        var p = new ItemKnnParameters { Neighbors = 10, Shrink = 3, MaxUserItems = 6 };
        var model = ItemKnnModel.Fit(Log(Items, users), p);

        // Slow: co-occurrence and norms over each user's latest 6 tracks, then the formula.
        var windows = users.Select(x => x[Math.Max(0, x.Length - p.MaxUserItems)..]).ToArray();
        var weight = windows.Select(x => 1 / Math.Log(Math.E + x.Length)).ToArray();
        var norms = new double[Items];
        var co = new double[Items, Items];
        for (var u = 0; u < windows.Length; u++)
        {
            foreach (var i in windows[u])
            {
                norms[i] += weight[u];
                foreach (var j in windows[u])
                {
                    co[i, j] += weight[u];
                }
            }
        }

        for (var i = 0; i < Items; i++)
        {
            var expected = Enumerable.Range(0, Items).Where(j => j != i && co[i, j] > 0)
                .Select(j => (Item: j, Score: co[i, j] / ((Math.Sqrt(norms[i]) * Math.Sqrt(norms[j])) + p.Shrink)))
                .OrderByDescending(x => x.Score).Take(p.Neighbors).ToArray();
            var scores = model.Neighbors.ScoresOf(i).ToArray();
            Assert.That(scores, Is.EqualTo(expected.Select(x => (float)x.Score)).Within(1e-5f), $"item {i}");
        }
    }

    [Test]
    public void TheWindow_ShrinksUntilTheCoListeningBudgetHolds()
    {
        // Users with 2, 5 and 10 tracks: Σ min(n, w)² = 4 + 25 + 100 = 129 at w = 10.
        var log = Log(10, [0, 1], [0, 1, 2, 3, 4], [.. Enumerable.Range(0, 10)]);
        Assert.That(ItemKnnModel.CoListeningUpdates(log, 10), Is.EqualTo(129));
        Assert.That(ItemKnnModel.WindowWithinBudget(log, 500, 129), Is.EqualTo(500), "within budget: no cap");
        Assert.That(ItemKnnModel.WindowWithinBudget(log, 500, 128), Is.EqualTo(9), "4 + 25 + 81 = 110 fits, 129 does not");
        Assert.That(ItemKnnModel.WindowWithinBudget(log, 500, 12), Is.EqualTo(2), "4 + 4 + 4");
        Assert.That(ItemKnnModel.WindowWithinBudget(log, 500, 0), Is.EqualTo(1), "at least one track");
    }

    [Test]
    public void Ease_MatchesTheClosedForm_ComputedTheObviousWay()
    {
        // Tracks 0..5, track 5 never heard (EASE leaves it out); user 3 heard track 2 twice.
        var log = Log(6, [0, 1], [0, 1, 2], [2, 3], [1, 2, 4, 2], [0, 3, 4], [3, 4]);
        const float Lambda = 0.7f;
        var model = ItemKnnModel.Fit(log, new ItemKnnParameters { Neighbors = 5, EaseLambda = Lambda });

        // Slow and obvious: X over tracks 0..4 (binary), B = I − P·diag(1/diag P).
        var x = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(6, 5);
        for (var u = 0; u < log.NumUsers; u++)
        {
            foreach (var i in log.ItemsOf(u))
            {
                x[u, i] = 1;
            }
        }

        var p = (x.TransposeThisAndMultiply(x) + (MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseIdentity(5) * Lambda)).Inverse();
        for (var i = 0; i < 5; i++)
        {
            var expected = Enumerable.Range(0, 5).Where(j => j != i)
                .Select(j => (Item: j, Weight: -p[i, j] / p[j, j])).Where(t => t.Weight > 0)
                .OrderByDescending(t => t.Weight).ToArray();
            Assert.That(model.Neighbors.NeighborsOf(i).ToArray(), Is.EqualTo(expected.Select(t => t.Item).ToArray()), $"neighbours of {i}");
            Assert.That(model.Neighbors.ScoresOf(i).ToArray(), Is.EqualTo(expected.Select(t => (float)t.Weight).ToArray()).Within(1e-5f), $"weights of {i}");
        }

        Assert.That(model.Neighbors.NeighborsOf(5).Length, Is.Zero, "a track nobody heard has no neighbours");
        Assert.That(model.Parameters.Method, Does.Contain("EASE"));
    }

    [Test]
    public void Ease_AboveItsLimit_CoversTheMostListenedTracks()
    {
        // Listeners: track 0 → 3, 1 → 2, 2 → 2, 3 → 1; a limit of 3 drops track 3 and keeps 1 and 2 (tie).
        var log = Log(4, [0, 1], [0, 2, 3], [0, 1, 2]);
        var model = ItemKnnModel.Fit(log, new ItemKnnParameters { EaseLambda = 0.5f, EaseMaxItems = 3 });
        Assert.That(model.Neighbors.NeighborsOf(3).Length, Is.Zero, "the least listened track is left out");
        Assert.That(Enumerable.Range(0, 3).SelectMany(i => model.Neighbors.NeighborsOf(i).ToArray()), Has.None.EqualTo(3));
        Assert.That(Enumerable.Range(0, 3).Sum(i => model.Neighbors.NeighborsOf(i).Length), Is.GreaterThan(0));
    }

    /// <summary>
    /// Scoring on catalogs of 70K and 300K tracks (where the score array outgrows L2), against the
    /// obvious version: a dictionary summed in history order, then a full sort; bit for bit.
    /// </summary>
    [TestCase(70_000, 500)]
    [TestCase(300_000, 40)]
    public void Recommend_OnALargeCatalog_EqualsTheObviousSum(int items, int maxUserItems)
    {
        var rng = new Random(items);
        var offsets = new int[items + 1];
        var neighbors = new List<int>();
        var sims = new List<float>();
        for (var i = 0; i < items; i++)
        {
            // Neighbours concentrated on a few popular tracks, so that sums of many terms occur.
            var row = Enumerable.Range(0, rng.Next(0, 25)).Select(_ => rng.Next(4) == 0 ? rng.Next(200) : rng.Next(items)).Where(j => j != i).Distinct().ToArray();
            neighbors.AddRange(row);
            sims.AddRange(row.Select(_ => (float)rng.NextDouble() - 0.05f)); // a few non-positive ones: clamped to 1e-9
            offsets[i + 1] = neighbors.Count;
        }

        var model = new ItemKnnModel(new NeighborTable(offsets, [.. neighbors], [.. sims]), new ItemKnnParameters { MaxUserItems = maxUserItems });
        for (var u = 0; u < 40; u++)
        {
            var history = Enumerable.Range(0, rng.Next(1, 700)).Select(_ => u % 3 == 0 ? rng.Next(300) : rng.Next(items)).Distinct().ToArray();
            var sums = new Dictionary<int, float>();
            foreach (var i in history[Math.Max(0, history.Length - maxUserItems)..])
            {
                for (var p = offsets[i]; p < offsets[i + 1]; p++)
                {
                    sums[neighbors[p]] = sums.GetValueOrDefault(neighbors[p]) + MathF.Max(1e-9f, sims[p]);
                }
            }

            var expected = sums.Where(x => !history.Contains(x.Key)).Select(x => new ScoredItem(x.Key, x.Value)).Order().Take(30).ToArray();
            var got = new ScoredItem[30];
            var n = model.Recommend(u, history, 30, got);
            Assert.That(got[..n], Is.EqualTo(expected), $"user {u}, {history.Length} tracks");
        }
    }
}
