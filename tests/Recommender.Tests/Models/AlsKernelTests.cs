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

    [Test]
    public void GatheredKernel_MatchesTheScalarReference_OverManyWidths()
    {
        var rng = new Rng(23);
        for (var f = 1; f <= 136; f += f < 72 ? 1 : 8)
        {
            foreach (var residual in new[] { true, false })
            {
                const int Rows = 40;
                var y = Enumerable.Range(0, Rows * f).Select(_ => (float)rng.NextGaussian()).ToArray();
                var cols = Enumerable.Range(0, 1 + rng.Next(30)).Select(_ => rng.Next(Rows)).ToArray();
                var vals = cols.Select(_ => (float)rng.NextDouble() * 3).ToArray();
                var v = Enumerable.Range(0, f).Select(_ => (float)rng.NextGaussian()).ToArray();
                var start = Enumerable.Range(0, f).Select(_ => (float)rng.NextGaussian()).ToArray();
                var gathered = new float[cols.Length * f];
                AlsKernels.Gather(y, f, cols, gathered);
                Assert.That(gathered, Is.EqualTo(cols.SelectMany(c => y.Skip(c * f).Take(f))), $"gather f={f}");
                var fast = (float[])start.Clone();
                var slow = (float[])start.Clone();
                AlsKernels.AccumulateGathered(gathered, f, vals, 2.5f, v, fast, residual);
                AlsKernels.AccumulateReference(y, f, cols, vals, 2.5f, v, slow, residual);
                var scale = slow.Select(Math.Abs).Max() + 1;
                Assert.That(fast, Is.EqualTo(slow).Within(2e-4f * scale * f), $"f={f} residual={residual}");
            }
        }
    }

    [Test]
    public void Bfloat16Gather_EqualsRoundingThenWidening_OverManyWidths()
    {
        var rng = new Rng(29);
        for (var f = 1; f <= 136; f += f < 72 ? 1 : 8)
        {
            const int Rows = 30;
            var y = Enumerable.Range(0, Rows * f).Select(_ => (float)(rng.NextGaussian() * 0.1)).ToArray();
            var half = new ushort[y.Length];
            AlsKernels.ToBfloat16(y, half);
            var cols = Enumerable.Range(0, 1 + rng.Next(25)).Select(_ => rng.Next(Rows)).ToArray();
            var gathered = new float[cols.Length * f];
            AlsKernels.GatherBfloat16(half, f, cols, gathered);
            var expected = cols.SelectMany(c => y.Skip(c * f).Take(f)).Select(x => AlsKernels.FromBfloat16(AlsKernels.ToBfloat16(x))).ToArray();
            Assert.That(gathered, Is.EqualTo(expected), $"f={f}");
            // bfloat16 keeps 8 significant bits: every value within 2⁻⁸ of the original, relatively.
            var original = cols.SelectMany(c => y.Skip(c * f).Take(f)).ToArray();
            Assert.That(gathered.Zip(original).All(p => Math.Abs(p.First - p.Second) <= Math.Abs(p.Second) / 256), Is.True, $"f={f}");
        }
    }

    [Test]
    public void Bfloat16Rounding_IsToNearestEven()
    {
        Assert.That(AlsKernels.ToBfloat16(1f), Is.EqualTo(0x3F80));
        Assert.That(AlsKernels.ToBfloat16(-2f), Is.EqualTo(0xC000));
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa (1).
        Assert.That(AlsKernels.ToBfloat16(BitConverter.UInt32BitsToSingle(0x3F808000)), Is.EqualTo(0x3F80));
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ and 1 + 2·2⁻⁷: ties go to the even one (0x3F82).
        Assert.That(AlsKernels.ToBfloat16(BitConverter.UInt32BitsToSingle(0x3F818000)), Is.EqualTo(0x3F82));
        // Just above halfway rounds up.
        Assert.That(AlsKernels.ToBfloat16(BitConverter.UInt32BitsToSingle(0x3F808001)), Is.EqualTo(0x3F81));
        Assert.That(AlsKernels.FromBfloat16(0x3F81), Is.EqualTo(1f + (1f / 128)));
    }

    [Test]
    public void SymmetricMatVec_MatchesTheRowDotProducts_OverManyWidths()
    {
        var rng = new Rng(31);
        for (var f = 1; f <= 136; f += f < 72 ? 1 : 8)
        {
            var a = Enumerable.Range(0, f * f).Select(_ => (float)rng.NextGaussian()).ToArray();
            var m = new float[f * f];
            for (var i = 0; i < f; i++)
            {
                for (var j = 0; j < f; j++)
                {
                    m[(i * f) + j] = a[(i * f) + j] + a[(j * f) + i];
                }
            }

            var v = Enumerable.Range(0, f).Select(_ => (float)rng.NextGaussian()).ToArray();
            var fast = new float[f];
            var slow = new float[f];
            AlsKernels.SymmetricMatVec(m, v, fast);
            for (var i = 0; i < f; i++)
            {
                for (var j = 0; j < f; j++)
                {
                    slow[i] += m[(i * f) + j] * v[j];
                }
            }

            Assert.That(fast, Is.EqualTo(slow).Within(1e-4f * f), $"f={f}");
        }
    }
}
