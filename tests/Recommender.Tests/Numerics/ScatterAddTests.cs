using Recommender.Numerics;

namespace Recommender.Tests.Numerics;

public class ScatterAddTests
{
    /// <summary>Against the obvious version with a branch, over many sizes, including every index hit and hit again.</summary>
    [TestCase(1, 5)]
    [TestCase(3, 3)]
    [TestCase(7, 200)]
    [TestCase(64, 10)]
    [TestCase(1000, 5000)]
    public void Add_SumsAndListsEachIndexOnceInFirstHitOrder(int items, int updates)
    {
        var rng = new Random(items * 31 + updates);
        var acc = new float[items];
        var touched = new int[items + 1];
        var count = 0;
        var expectedAcc = new float[items];
        var expectedTouched = new List<int>();
        for (var t = 0; t < updates; t++)
        {
            var j = rng.Next(items);
            var value = (float)rng.NextDouble() + 1e-3f;
            if (expectedAcc[j] == 0)
            {
                expectedTouched.Add(j);
            }

            expectedAcc[j] += value;
            ScatterAdd.Add(acc, touched, ref count, j, value);
        }

        Assert.That(acc, Is.EqualTo(expectedAcc));
        Assert.That(touched[..count], Is.EqualTo(expectedTouched));
    }
}
