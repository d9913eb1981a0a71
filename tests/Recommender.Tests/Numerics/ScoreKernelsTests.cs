using Recommender.Numerics;

namespace Recommender.Tests.Numerics;

public class ScoreKernelsTests
{
    private static float[] Gaussian(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
    }

    [Test]
    public void DotRows_MatchesADoublePrecisionReference_OverManyWidthsAndRowCounts()
    {
        foreach (var f in new[] { 1, 3, 7, 8, 16, 24, 40, 64, 72, 100, 128, 136 })
        {
            foreach (var rows in new[] { 0, 1, 7, 8, 9, 15, 16, 17, 33 })
            {
                var m = Gaussian(rows * f, (ulong)((f * 100) + rows));
                var q = Gaussian(f, (ulong)f);
                var scores = new float[rows];
                ScoreKernels.DotRows(m, f, q, scores);
                for (var r = 0; r < rows; r++)
                {
                    double expected = 0, magnitude = 0;
                    for (var j = 0; j < f; j++)
                    {
                        expected += (double)m[(r * f) + j] * q[j];
                        magnitude += Math.Abs((double)m[(r * f) + j] * q[j]);
                    }

                    Assert.That(scores[r], Is.EqualTo(expected).Within((1e-6 * magnitude) + 1e-6), $"f={f}, rows={rows}, row {r}");
                }
            }
        }
    }

    /// <summary>
    /// DotRowsAbove against DotRows and a scalar test of each score: the same bits, and the mask
    /// set exactly where !(score &lt; threshold), NaN rows included, over widths the kernel
    /// vectorises and not, row counts around the eight-row steps and the 64-bit words, and
    /// stale bits in the mask beforehand.
    /// </summary>
    [Test]
    public void DotRowsAbove_ScoresAsDotRows_AndMarksTheRowsNotBelowTheThreshold()
    {
        foreach (var f in new[] { 8, 12, 64 })
        {
            foreach (var rows in new[] { 0, 1, 7, 8, 9, 63, 64, 65, 127, 128 })
            {
                var m = Gaussian(rows * f, (ulong)((f * 1000) + rows));
                if (rows > 5)
                {
                    m[(5 * f) + 1] = float.NaN; // row 5 scores NaN
                }

                var q = Gaussian(f, (ulong)(f + 7));
                var expected = new float[rows];
                ScoreKernels.DotRows(m, f, q, expected);
                foreach (var threshold in new[] { float.NegativeInfinity, -1f, 0f, 0.5f, float.PositiveInfinity })
                {
                    var scores = new float[rows];
                    var above = new ulong[2];
                    above.AsSpan().Fill(ulong.MaxValue); // stale bits: the kernel clears the words it covers
                    ScoreKernels.DotRowsAbove(m, f, q, scores, threshold, above);
                    Assert.That(scores, Is.EqualTo(expected), $"f={f}, rows={rows}");
                    for (var r = 0; r < rows; r++)
                    {
                        var marked = (above[r >> 6] >> (r & 63) & 1) == 1;
                        Assert.That(marked, Is.EqualTo(!(expected[r] < threshold)), $"f={f}, rows={rows}, threshold {threshold}, row {r} scoring {expected[r]}");
                    }

                    for (var r = rows; r < ((rows + 63) / 64) * 64; r++)
                    {
                        Assert.That(above[r >> 6] >> (r & 63) & 1, Is.Zero, $"bit {r} past the rows");
                    }

                    var walked = new List<int>();
                    foreach (var r in ScoreKernels.MarkedRows(above, rows))
                    {
                        walked.Add(r);
                    }

                    Assert.That(walked, Is.EqualTo(Enumerable.Range(0, rows).Where(r => !(expected[r] < threshold)).ToList()), "MarkedRows walks the marked rows in order, none past the words of the rows");
                }
            }
        }
    }

    [TestCase(64)]
    [TestCase(32)]
    [TestCase(12)]
    public void DotRows_GivesARowTheSameBits_WhereverItsBlockStarts(int f)
    {
        // Batched IVF scans score a row inside blocks that start elsewhere than one-query scans do.
        const int Rows = 29;
        var m = Gaussian(Rows * f, 5);
        var q = Gaussian(f, 6);
        var whole = new float[Rows];
        ScoreKernels.DotRows(m, f, q, whole);
        for (var start = 0; start < Rows; start++)
        {
            for (var length = 1; start + length <= Rows; length += 3)
            {
                var part = new float[length];
                ScoreKernels.DotRows(m.AsSpan(start * f, length * f), f, q, part);
                Assert.That(part, Is.EqualTo(whole.AsSpan(start, length).ToArray()), $"rows {start}..{start + length}");
            }
        }
    }

    [Test]
    public void DotRows_RejectsAQueryOfTheWrongWidth_OrTooFewRows()
    {
        Assert.Throws<ArgumentException>(() => ScoreKernels.DotRows(new float[64], 8, new float[7], new float[8]));
        Assert.Throws<ArgumentException>(() => ScoreKernels.DotRows(new float[63], 8, new float[8], new float[8]));
    }
}
