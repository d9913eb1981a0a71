using Recommender.Numerics;

namespace Recommender.Tests.Numerics;

public class ScratchPoolTests
{
    [Test]
    public void ARentedArray_IsReusedOnceReturned_AndTwoRentersGetTwoArrays()
    {
        var pool = new ScratchPool<float>(5);
        var a = pool.Rent();
        var b = pool.Rent();
        Assert.That(a, Is.Not.SameAs(b));
        Assert.That(a, Has.Length.EqualTo(5).And.All.EqualTo(0f));
        pool.Return(a);
        Assert.That(pool.Rent(), Is.SameAs(a));
    }

    [Test]
    public void AnArrayOfAnotherLength_IsRefused()
    {
        var pool = new ScratchPool<int>(5);
        Assert.That(() => pool.Return(new int[4]), Throws.ArgumentException.With.Message.Contains("not rented here"));
    }
}
