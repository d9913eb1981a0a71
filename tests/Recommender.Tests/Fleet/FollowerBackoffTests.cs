using Recommender.Host.Fleet;

namespace Recommender.Tests.Fleet;

/// <summary>The follower's wait between polls: the interval after a success, doubling with jitter while the store fails, capped.</summary>
public class FollowerBackoffTests
{
    [Test]
    public void AfterASuccess_ItIsThePollInterval_WhateverTheJitter()
    {
        Assert.That(SnapshotFollower.Backoff(TimeSpan.FromSeconds(10), 0, 0.99), Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [TestCase(1, 2)]
    [TestCase(2, 4)]
    [TestCase(3, 8)]
    [TestCase(4, 16)]
    [TestCase(5, 30)] // 32 polls, capped at 30
    [TestCase(50, 30)]
    public void AfterFailures_ItDoubles_UpToTheCap_WithinTheJitterBand(int failures, int polls)
    {
        var poll = TimeSpan.FromSeconds(10);
        Assert.That(SnapshotFollower.Backoff(poll, failures, 0.0), Is.EqualTo(poll * polls * 0.5), "the lowest jitter: half");
        Assert.That(SnapshotFollower.Backoff(poll, failures, 0.5), Is.EqualTo(poll * polls), "the middle: the doubled wait itself");
        Assert.That(SnapshotFollower.Backoff(poll, failures, 0.999), Is.LessThan(poll * polls * 1.5));
    }
}
