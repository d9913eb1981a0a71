using MathNet.Numerics.LinearAlgebra;
using Recommender.Numerics;

namespace Recommender.Tests.Numerics;

public class SymmetricInverseTests
{
    /// <summary>Sizes around the block (64) and chunk (16) edges, checked against MathNet's general inverse.</summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(15)]
    [TestCase(16)]
    [TestCase(17)]
    [TestCase(63)]
    [TestCase(64)]
    [TestCase(65)]
    [TestCase(130)]
    [TestCase(203)]
    public void Invert_MatchesMathNet(int n)
    {
        var rng = new Random(n);

        // XᵀX + λI of a random 0/1 matrix: the shape EASE inverts.
        var x = Matrix<double>.Build.Dense(n + 7, n, (_, _) => rng.Next(3) == 0 ? 1 : 0);
        var a = (x.TransposeThisAndMultiply(x) + (Matrix<double>.Build.DenseIdentity(n) * 2.5)).ToRowMajorArray();
        var expected = Matrix<double>.Build.DenseOfRowMajor(n, n, a).Inverse();

        var inverse = SymmetricInverse.Invert((double[])a.Clone(), n);

        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                Assert.That(inverse[(i * n) + j], Is.EqualTo(expected[i, j]).Within(1e-9), $"[{i}, {j}]");
            }
        }
    }

    [Test]
    public void Invert_RefusesAMatrixThatIsNotPositiveDefinite()
    {
        double[] a = [1, 2, 2, 1]; // eigenvalues 3 and −1
        Assert.That(() => SymmetricInverse.Invert(a, 2), Throws.ArgumentException.With.Message.Contains("not positive definite"));
    }

    [Test]
    public void Invert_NamesAShapeMismatch() =>
        Assert.That(() => SymmetricInverse.Invert(new double[5], 2), Throws.ArgumentException.With.Message.Contains("2 × 2"));
}
