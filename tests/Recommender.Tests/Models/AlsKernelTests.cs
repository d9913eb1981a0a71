using Recommender.Numerics;

namespace Recommender.Tests.Models;

public class AlsKernelTests
{
    [Test]
    public void FusedKernel_MatchesTheScalarReference_OverManyWidths()
    {
        var rng = new Rng(17);
        for (var f = 1; f <= 72; f++)
        {
            foreach (var residual in new[] { true, false })
            {
                const int Rows = 50;
                var y = Enumerable.Range(0, Rows * f).Select(_ => (float)rng.NextGaussian()).ToArray();
                var cols = Enumerable.Range(0, 1 + rng.Next(20)).Select(_ => rng.Next(Rows)).ToArray();
                var vals = cols.Select(_ => (float)rng.NextDouble() * 3).ToArray();
                var v = Enumerable.Range(0, f).Select(_ => (float)rng.NextGaussian()).ToArray();
                var start = Enumerable.Range(0, f).Select(_ => (float)rng.NextGaussian()).ToArray();
                var fast = (float[])start.Clone();
                var slow = (float[])start.Clone();
                AlsKernels.Accumulate(y, f, cols, vals, 2.5f, v, fast, residual);
                AlsKernels.AccumulateReference(y, f, cols, vals, 2.5f, v, slow, residual);
                var scale = slow.Select(Math.Abs).Max() + 1;
                Assert.That(fast, Is.EqualTo(slow).Within(2e-4f * scale * f), $"f={f} residual={residual}");
            }
        }
    }

    [Test]
    public void RowOutsideTheMatrix_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AlsKernels.Accumulate(new float[16], 8, [2], [1f], 1f, new float[8], new float[8], residual: true));
    }
}
