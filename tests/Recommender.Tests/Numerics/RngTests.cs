using Recommender.Numerics;

namespace Recommender.Tests.Numerics;

public class RngTests
{
    /// <summary>
    /// The parallel fill against one sequential stream of NextGaussian: the same floats, and the
    /// generator left where the sequential draws leave it, for lengths around the block size.
    /// </summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(262_143)]
    [TestCase(262_144)]
    [TestCase(262_145)]
    [TestCase(3 * 262_144 + 5)]
    public void FillGaussian_EqualsTheSequentialStream(int length)
    {
        var sequential = new Rng(42);
        var expected = new float[length];
        for (var i = 0; i < length; i++)
        {
            expected[i] = (float)sequential.NextGaussian() * 0.01f;
        }

        var parallel = new Rng(42);
        var filled = new float[length];
        parallel.FillGaussian(filled, 0.01f);

        Assert.That(filled, Is.EqualTo(expected));
        Assert.That(parallel.NextULong(), Is.EqualTo(sequential.NextULong()), "the next draw after the fill");
    }
}
