using MathNet.Numerics.LinearAlgebra;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Tests.Models;

public class AlsTests
{
    // 5 users × 6 items, hand-made: two taste groups with one bridge user.
    private static readonly int[][] Rows = [[0, 1, 2], [0, 1], [3, 4, 5], [4, 5], [2, 3]];

    private static InteractionMatrix Matrix()
    {
        var pointers = new int[Rows.Length + 1];
        for (var u = 0; u < Rows.Length; u++)
        {
            pointers[u + 1] = pointers[u] + Rows[u].Length;
        }

        var cols = Rows.SelectMany(r => r).ToArray();
        return InteractionMatrix.FromCsr(Rows.Length, 6, pointers, cols, Enumerable.Repeat(1f, cols.Length).ToArray());
    }

    [Test]
    public void MathNetStorage_HoldsTheEventsAndItsTranspose()
    {
        var m = Matrix();
        var dense = Matrix<float>.Build.Sparse(m.UserItems);
        var transposed = Matrix<float>.Build.Sparse(m.ItemUsers);
        for (var u = 0; u < Rows.Length; u++)
        {
            for (var i = 0; i < 6; i++)
            {
                var expected = Rows[u].Contains(i) ? 1f : 0f;
                Assert.That(dense[u, i], Is.EqualTo(expected));
                Assert.That(transposed[i, u], Is.EqualTo(expected));
            }
        }
    }

    [Test]
    public void Transpose_CarriesGradedValues_AndSharesUniformOnes()
    {
        // Row 0: items 1 (2.0), 3 (5.0); row 1: item 1 (7.0); row 2: items 0 (1.5), 3 (4.0).
        var graded = InteractionMatrix.FromCsr(3, 4, [0, 2, 3, 5], [1, 3, 1, 0, 3], [2f, 5f, 7f, 1.5f, 4f]);
        var t = Matrix<float>.Build.Sparse(graded.ItemUsers);
        Assert.That(t[1, 0], Is.EqualTo(2f));
        Assert.That(t[3, 0], Is.EqualTo(5f));
        Assert.That(t[1, 1], Is.EqualTo(7f));
        Assert.That(t[0, 2], Is.EqualTo(1.5f));
        Assert.That(t[3, 2], Is.EqualTo(4f));
        Assert.That(t[2, 1], Is.EqualTo(0f));
        Assert.That(graded.ItemUsers.Values, Is.Not.SameAs(graded.UserItems.Values));

        var binary = Matrix();
        Assert.That(binary.ItemUsers.Values, Is.SameAs(binary.UserItems.Values), "all ones: one array for both sides");
    }

    /// <summary>
    /// Binary feedback keeps no value array (4 bytes per event): the fit reads 1s in its place and
    /// learns the factors, bit for bit, that the same matrix with every 1 stored learns.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void BinaryMatrix_KeepsNoValues_AndFitsTheFactorsOfStoredOnes(bool bfloat16)
    {
        var rng = new Random(4);
        const int Users = 300, Items = 120;
        var pointers = new int[Users + 1];
        var cols = new List<int>();
        for (var u = 0; u < Users; u++)
        {
            cols.AddRange(Enumerable.Range(0, Items).Where(i => rng.Next(u % 7 == 0 ? 3 : 12) == 0 || i == u % Items));
            pointers[u + 1] = cols.Count;
        }

        var stored = InteractionMatrix.FromCsr(Users, Items, pointers, [.. cols], Enumerable.Repeat(1f, cols.Count).ToArray());
        var binary = InteractionMatrix.FromCsr(Users, Items, pointers, [.. cols], values: null);
        Assert.That(stored.IsBinary, Is.False);
        Assert.That(binary.IsBinary, Is.True);
        Assert.That(binary.UserItems.Values, Is.Empty);
        Assert.That(binary.ItemUsers.Values, Is.Empty);
        var longest = Math.Max(Enumerable.Range(0, Users).Max(u => pointers[u + 1] - pointers[u]), Enumerable.Range(0, Items).Max(i => cols.Count(c => c == i)));
        Assert.That(binary.Ones, Has.Length.EqualTo(longest).And.All.EqualTo(1f), "1s for the longest row of either side");

        var p = new AlsParameters { Factors = 16, Iterations = 4, Seed = 3, Bfloat16Gather = bfloat16 };
        var (fromStored, fromBinary) = (AlsModel.Fit(stored, p), AlsModel.Fit(binary, p));
        Assert.That(fromBinary.UserFactors.ToArray(), Is.EqualTo(fromStored.UserFactors.ToArray()));
        Assert.That(fromBinary.ItemFactors.ToArray(), Is.EqualTo(fromStored.ItemFactors.ToArray()));
        Assert.That(fromBinary.Loss(binary), Is.EqualTo(fromStored.Loss(stored)));
    }

    /// <summary>
    /// The transpose (one range of users per core) against the obvious one built entry by entry:
    /// rows of very different lengths, empty rows and columns, graded values; row by row, the
    /// users ascending with their values.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(997)]
    public void Transpose_EqualsTheEntryByEntryTranspose(int users)
    {
        const int Items = 50;
        var rng = new Random(users);
        var pointers = new int[users + 1];
        var cols = new List<int>();
        var vals = new List<float>();
        for (var u = 0; u < users; u++)
        {
            // A few heavy rows, many light or empty ones; columns 40.. never used.
            var row = Enumerable.Range(0, 40).Where(_ => rng.Next(u % 50 == 0 ? 2 : 12) == 0).ToArray();
            cols.AddRange(row);
            vals.AddRange(row.Select(_ => (float)rng.Next(1, 9)));
            pointers[u + 1] = cols.Count;
        }

        var matrix = InteractionMatrix.FromCsr(users, Items, pointers, [.. cols], [.. vals]);
        var expected = Enumerable.Range(0, Items).Select(_ => new List<(int User, float Value)>()).ToArray();
        for (var u = 0; u < users; u++)
        {
            for (var e = pointers[u]; e < pointers[u + 1]; e++)
            {
                expected[cols[e]].Add((u, vals[e]));
            }
        }

        var t = matrix.ItemUsers;
        for (var i = 0; i < Items; i++)
        {
            var row = Enumerable.Range(t.RowPointers[i], t.RowPointers[i + 1] - t.RowPointers[i]).Select(e => (t.ColumnIndices[e], t.Values[e])).ToArray();
            Assert.That(row, Is.EqualTo(expected[i].ToArray()), $"track {i}");
        }
    }

    /// <summary>The slow, obvious solve: x = (YᵀY + λI + Σ(c−1)yyᵀ)⁻¹ Σ c y with dense MathNet algebra.</summary>
    private static double[] ExactRow(int[] items, float[] y, int f, float lambda, float alpha)
    {
        var yMatrix = Matrix<double>.Build.Dense(y.Length / f, f, (r, c) => y[(r * f) + c]);
        var a = yMatrix.TransposeThisAndMultiply(yMatrix) + (lambda * Matrix<double>.Build.DenseIdentity(f));
        var b = Vector<double>.Build.Dense(f);
        foreach (var i in items)
        {
            var yi = yMatrix.Row(i);
            a += alpha * yi.OuterProduct(yi);
            b += (1 + alpha) * yi;
        }

        return a.Solve(b).ToArray();
    }

    [Test]
    public void ConjugateGradientRow_ConvergesToTheExactSolve()
    {
        const int F = 4;
        var rng = new Rng(1);
        var y = Enumerable.Range(0, 6 * F).Select(_ => (float)rng.NextGaussian()).ToArray();
        var gram = DenseKernels.Gram(y, F, 0.5f);
        foreach (var items in Rows)
        {
            var x = new float[F];
            AlsModel.SolveRow(x, items, Enumerable.Repeat(1f, items.Length).ToArray(), y, null, gram, 3f, 50, new AlsModel.RowScratch(F));
            var exact = ExactRow(items, y, F, 0.5f, 3f);
            Assert.That(x.Select(v => (double)v), Is.EqualTo(exact).Within(1e-3), string.Join(",", items));
        }
    }

    [Test]
    public void Gram_MatchesTheScalarDefinitionOverManySizes()
    {
        var rng = new Rng(2);
        foreach (var (n, f) in new[] { (1, 1), (3, 5), (17, 8), (40_000, 3), (100, 33) })
        {
            var y = Enumerable.Range(0, n * f).Select(_ => (float)rng.NextGaussian()).ToArray();
            var gram = DenseKernels.Gram(y, f, 0.25f);
            for (var a = 0; a < f; a++)
            {
                for (var b = 0; b < f; b++)
                {
                    double expected = a == b ? 0.25 : 0;
                    for (var r = 0; r < n; r++)
                    {
                        expected += (double)y[(r * f) + a] * y[(r * f) + b];
                    }

                    Assert.That(gram[(a * f) + b], Is.EqualTo(expected).Within(1e-3 * Math.Max(1, Math.Abs(expected))), $"n={n} f={f}");
                }
            }
        }
    }

    [Test]
    public void Fit_LossFallsAndTheGroupsSeparate()
    {
        var losses = new List<double>();
        var model = AlsModel.Fit(Matrix(), new AlsParameters { Factors = 4, Iterations = 8, Regularization = 0.1f, Alpha = 5, CgSteps = 4 }, it => losses.Add(it.Loss));
        for (var i = 1; i < losses.Count; i++)
        {
            Assert.That(losses[i], Is.LessThanOrEqualTo(losses[i - 1] * 1.0001), $"iteration {i + 1}");
        }

        // User 1 listened to 0 and 1: item 2 (same group) must outrank items 4 and 5 (other group).
        Assert.That(model.Score(1, 2), Is.GreaterThan(model.Score(1, 4)));
        Assert.That(model.Score(3, 3), Is.GreaterThan(model.Score(3, 0)));
    }

    [Test]
    public void Fit_StopsAtTheFirstIterationThatGainsLessThanTheTolerance()
    {
        var p = new AlsParameters { Factors = 4, Iterations = 60, Regularization = 0.1f, Alpha = 5, CgSteps = 2 };
        var every = new List<double>();
        AlsModel.Fit(Matrix(), p with { Tolerance = 0 }, it => every.Add(it.Loss));
        Assert.That(every, Has.Count.EqualTo(60), "tolerance 0 runs every iteration");

        // The iteration where the run above first gained less than 0.1%, found by hand from its losses.
        var expected = Enumerable.Range(1, every.Count - 1).First(i => every[i - 1] - every[i] < 1e-3 * every[i - 1]) + 1;
        Assert.That(expected, Is.InRange(3, 59), "the data must converge within the run for this test to say anything");
        var stopped = new List<double>();
        var model = AlsModel.Fit(Matrix(), p with { Tolerance = 1e-3 }, it => stopped.Add(it.Loss));
        Assert.That(stopped, Is.EqualTo(every.Take(expected)), "the same iterations, up to the first flat one");
        Assert.That(model.Parameters.Iterations, Is.EqualTo(60));
    }

    [TestCase(100.0, 99.0, 1e-3, false)]
    [TestCase(100.0, 99.95, 1e-3, true)]
    [TestCase(100.0, 100.5, 1e-3, true)] // a rising loss stops too
    [TestCase(100.0, 99.95, 0.0, false)] // tolerance 0: never
    [TestCase(double.NaN, 50.0, 1e-3, false)] // the first iteration has nothing to compare with
    [TestCase(100.0, double.NaN, 1e-3, false)] // no loss computed
    public void Converged_ComparesTheGainWithTheToleranceOfThePreviousLoss(double previous, double loss, double tolerance, bool expected) =>
        Assert.That(AlsModel.Converged(previous, loss, tolerance), Is.EqualTo(expected));

    [Test]
    public void Validate_NamesAToleranceOutsideZeroToOne()
    {
        var failures = new AlsParameters { Tolerance = 1 }.Validate("f", "i", "--als-tolerance").ToList();
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Does.Contain("--als-tolerance").And.Contain("got 1"));
        Assert.That(new AlsParameters { Tolerance = -0.1 }.Validate("f", "i", "t"), Is.Not.Empty);
        Assert.That(new AlsParameters { Tolerance = double.NaN }.Validate("f", "i", "t"), Is.Not.Empty);
        Assert.That(new AlsParameters { Tolerance = 0 }.Validate("f", "i", "t"), Is.Empty);
    }

    [Test]
    public void Bfloat16Gathers_GiveTheFloat32Fit_WithinRounding()
    {
        // 300 users in 5 taste groups of 40 tracks each, 12 listens per user (one in six outside the group).
        var rng = new Rng(5);
        const int Users = 300, Items = 200, Per = 12;
        var pointers = new int[Users + 1];
        var cols = new List<int>();
        for (var u = 0; u < Users; u++)
        {
            var group = u % 5;
            var row = new SortedSet<int>();
            while (row.Count < Per)
            {
                row.Add(rng.Next(6) == 0 ? rng.Next(Items) : (group * 40) + rng.Next(40));
            }

            cols.AddRange(row);
            pointers[u + 1] = cols.Count;
        }

        var matrix = InteractionMatrix.FromCsr(Users, Items, pointers, [.. cols], Enumerable.Repeat(1f, cols.Count).ToArray());
        var p = new AlsParameters { Factors = 16, Iterations = 6 };
        double LastLoss(AlsParameters q)
        {
            var loss = 0.0;
            AlsModel.Fit(matrix, q, it => loss = it.Loss);
            return loss;
        }

        var exact = AlsModel.Fit(matrix, p with { Bfloat16Gather = false });
        var rounded = AlsModel.Fit(matrix, p);
        Assert.That(rounded.ItemFactors.ToArray(), Is.Not.EqualTo(exact.ItemFactors.ToArray()), "the bfloat16 path must actually be taken");
        Assert.That(LastLoss(p), Is.EqualTo(LastLoss(p with { Bfloat16Gather = false })).Within(0.5).Percent);

        // Each user's best unseen track lies in the same group under both fits.
        var agree = 0;
        for (var u = 0; u < Users; u++)
        {
            int Best(AlsModel m) => Enumerable.Range(0, Items).Where(i => !cols.Skip(pointers[u]).Take(Per).Contains(i)).MaxBy(i => m.Score(u, i));
            agree += Best(exact) / 40 == Best(rounded) / 40 ? 1 : 0;
        }

        Assert.That(agree, Is.GreaterThanOrEqualTo(Users * 95 / 100));
    }

    [Test]
    public void Fit_SameSeedSameFactors_SaveLoadRoundTrips()
    {
        var p = new AlsParameters { Factors = 8, Iterations = 3, Seed = 9 };
        var a = AlsModel.Fit(Matrix(), p);
        var b = AlsModel.Fit(Matrix(), p);
        Assert.That(b.UserFactors.ToArray(), Is.EqualTo(a.UserFactors.ToArray()));
        Assert.That(b.ItemFactors.ToArray(), Is.EqualTo(a.ItemFactors.ToArray()));
        var c = AlsModel.Fit(Matrix(), p with { Seed = 10 });
        Assert.That(c.ItemFactors.ToArray(), Is.Not.EqualTo(a.ItemFactors.ToArray()));

        var path = Path.Combine(Support.TestPaths.NewTempDir(), "als.bin");
        a.Save(path);
        var loaded = AlsModel.Load(path);
        Assert.That(loaded.UserFactors.ToArray(), Is.EqualTo(a.UserFactors.ToArray()));
        Assert.That(loaded.ItemFactors.ToArray(), Is.EqualTo(a.ItemFactors.ToArray()));
        Assert.That(loaded.Parameters, Is.EqualTo(a.Parameters with { ComputeLoss = true }));
    }

    [Test]
    public void WarmStart_ContinuesTheFit_ExactlyAsMoreIterationsWould()
    {
        var p = new AlsParameters { Factors = 8, Iterations = 6, Seed = 5 };
        var whole = AlsModel.Fit(Matrix(), p);
        var half = AlsModel.Fit(Matrix(), p with { Iterations = 3 });
        var continued = AlsModel.Fit(Matrix(), p with { Iterations = 3 }, continueFrom: half);
        Assert.That(continued.UserFactors.ToArray(), Is.EqualTo(whole.UserFactors.ToArray()));
        Assert.That(continued.ItemFactors.ToArray(), Is.EqualTo(whole.ItemFactors.ToArray()));
        Assert.That(continued.ItemFactors.Equals(half.ItemFactors), Is.True, "the start's arrays are taken over, not copied");
    }

    [Test]
    public void WarmStart_WithOtherShapes_NamesTheArgument()
    {
        var start = AlsModel.Fit(Matrix(), new AlsParameters { Factors = 4, Iterations = 1 });
        var e = Assert.Throws<ArgumentException>(() => AlsModel.Fit(Matrix(), new AlsParameters { Factors = 8, Iterations = 1 }, continueFrom: start));
        Assert.That(e!.ParamName, Is.EqualTo("continueFrom"));
        Assert.That(e.Message, Does.Contain("8 factors"));
    }

    [Test]
    public void Loss_MatchesTheDefinition_ExactAndSampled()
    {
        var matrix = Matrix();
        var p = new AlsParameters { Factors = 3, Iterations = 2, Regularization = 0.3f, Alpha = 4 };
        var model = AlsModel.Fit(matrix, p);

        // Σ over the given users and all items of c(p − x·y)², scaled, plus λ(‖X‖² + ‖Y‖²).
        double Brute(int[] users, double scale)
        {
            double sum = 0;
            foreach (var u in users)
            {
                for (var i = 0; i < 6; i++)
                {
                    var pref = Rows[u].Contains(i) ? 1.0 : 0.0;
                    var c = 1 + (p.Alpha * pref);
                    var e = pref - model.Score(u, i);
                    sum += c * e * e;
                }
            }

            var reg = model.UserFactors.ToArray().Sum(v => (double)v * v) + model.ItemFactors.ToArray().Sum(v => (double)v * v);
            return (sum * scale) + (p.Regularization * reg);
        }

        Assert.That(model.Loss(matrix), Is.EqualTo(Brute([0, 1, 2, 3, 4], 1)).Within(1e-4).Percent);
        // Two users of five: stride 3 samples users 0 and 3, scaled by 5/2.
        var sampled = new AlsModel(model.Factors, model.UserFactors, model.ItemFactors, p with { LossSampleUsers = 2 });
        Assert.That(sampled.Loss(matrix), Is.EqualTo(Brute([0, 3], 5 / 2.0)).Within(1e-4).Percent);
    }

    [Test]
    public void FoldIn_IsTheExactUserSolveForTheGivenItems()
    {
        var model = AlsModel.Fit(Matrix(), new AlsParameters { Factors = 4, Iterations = 5, Regularization = 0.2f, Alpha = 2 });
        var folded = model.FoldIn([0, 1]);
        var exact = ExactRow([0, 1], model.ItemFactors.ToArray(), 4, 0.2f, 2f);
        Assert.That(folded.Select(v => (double)v), Is.EqualTo(exact).Within(1e-4));
    }
}
