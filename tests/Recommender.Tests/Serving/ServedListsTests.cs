using Recommender.Serving;

namespace Recommender.Tests.Serving;

public sealed class ServedListsTests
{
    [Test]
    public void A_listen_is_a_hit_only_when_its_track_was_in_the_users_last_list()
    {
        var served = new ServedLists(1024);
        Assert.That(served.Classify(7, 100), Is.EqualTo(ListenOutcome.Unserved), "nothing served yet");
        served.Remember(7, [100, 200, 300]);
        Assert.That(served.Classify(7, 200), Is.EqualTo(ListenOutcome.Hit));
        Assert.That(served.Classify(7, 400), Is.EqualTo(ListenOutcome.Miss));
        Assert.That(served.Classify(8, 200), Is.EqualTo(ListenOutcome.Unserved), "another user's list");

        served.Remember(7, [400]);
        Assert.That(served.Classify(7, 200), Is.EqualTo(ListenOutcome.Miss), "the last list replaces the one before");
        Assert.That(served.Classify(7, 400), Is.EqualTo(ListenOutcome.Hit));
        Assert.That(served.Classify(7, -1), Is.EqualTo(ListenOutcome.Miss));
        Assert.That(served.Classify(7, (long)int.MaxValue + 400), Is.EqualTo(ListenOutcome.Miss), "not mistaken for 400 after a cast");
    }

    [Test]
    public void Memory_is_bounded_a_newer_user_takes_an_older_ones_slot()
    {
        var served = new ServedLists(1);
        served.Remember(1, [10]);
        served.Remember(2, [20]);
        Assert.That(served.Classify(1, 10), Is.EqualTo(ListenOutcome.Unserved), "forgotten, not mistaken for user 2's list");
        Assert.That(served.Classify(2, 20), Is.EqualTo(ListenOutcome.Hit));
    }

    [Test]
    public void Only_the_head_of_a_long_list_is_remembered()
    {
        var served = new ServedLists(16);
        served.Remember(3, [.. Enumerable.Range(0, ServedLists.MaxTracks + 5)]);
        Assert.That(served.Classify(3, ServedLists.MaxTracks - 1), Is.EqualTo(ListenOutcome.Hit));
        Assert.That(served.Classify(3, ServedLists.MaxTracks), Is.EqualTo(ListenOutcome.Miss));
    }

    [Test]
    public void Users_spread_over_the_slots()
    {
        var served = new ServedLists(1 << 12);
        for (var u = 0; u < 2048; u++)
        {
            served.Remember(u, [u]);
        }

        var kept = Enumerable.Range(0, 2048).Count(u => served.Classify(u, u) == ListenOutcome.Hit);
        Assert.That(kept, Is.GreaterThan(1500), "half-full table: most consecutive ids keep their own slot");
    }

    [TestCase(0)]
    [TestCase(3)]
    public void The_slot_count_is_a_power_of_two(int slots) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ServedLists(slots));
}
