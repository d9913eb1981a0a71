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

    /// <summary>Writers and readers on the same few slots: a reader sees a whole list of its user or none, never a mix of two.</summary>
    [Test]
    public void Readers_never_see_half_a_list_while_writers_replace_it()
    {
        var served = new ServedLists(4); // few slots: users collide and lists are rewritten all the time
        const int Reads = 300_000;
        var readersDone = 0;
        var torn = 0L;
        var hits = 0L;
        // Threads of their own, and a fixed amount of reading: a busy test run's thread pool cannot starve them.
        var writers = Enumerable.Range(0, 2).Select(w => new Thread(() =>
        {
            var round = 0;
            var list = new int[ServedLists.MaxTracks];
            while (Volatile.Read(ref readersDone) < 2)
            {
                var user = (long)(round++ % 8);
                // Every list of user u holds u * 1000 + 0..15, rotated: any mix of two users' lists shows a foreign id.
                for (var i = 0; i < list.Length; i++)
                {
                    list[i] = (int)(user * 1000) + ((i + round) % list.Length);
                }

                served.Remember(user, list);
            }
        })).ToArray();
        var readers = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var rng = new Random(r);
            for (var n = 0; n < Reads; n++)
            {
                var user = rng.Next(8);
                var outcome = served.Classify(user, (user * 1000) + rng.Next(ServedLists.MaxTracks));
                if (outcome == ListenOutcome.Miss)
                {
                    Interlocked.Increment(ref torn); // its own list holds every one of these ids
                }
                else if (outcome == ListenOutcome.Hit)
                {
                    Interlocked.Increment(ref hits);
                }
            }

            Interlocked.Increment(ref readersDone);
        })).ToArray();
        foreach (var t in writers.Concat(readers))
        {
            t.Start();
        }

        foreach (var t in writers.Concat(readers))
        {
            t.Join();
        }

        Assert.That(torn, Is.Zero, "a user's own id read as a miss: a torn list");
        Assert.That(hits, Is.GreaterThan(1000), "readers did read whole lists");
    }

    [Test]
    public void The_table_is_allocated_once_and_reports_its_users()
    {
        var served = new ServedLists(1 << 10);
        Assert.That(served.Footprint(), Is.EqualTo((0L, 1024L * ServedLists.BytesPerSlot)));
        served.Remember(1, [1, 2, 3]);
        served.Remember(2, [4]);
        served.Remember(1, [5]);
        Assert.That(served.Footprint(), Is.EqualTo((2L, 1024L * 80)), "two users, 80 B per slot whatever they hold");
    }

    [TestCase(0)]
    [TestCase(3)]
    public void The_slot_count_is_a_power_of_two(int slots) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ServedLists(slots));
}
