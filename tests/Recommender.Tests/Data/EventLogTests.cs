using Recommender.Data;

namespace Recommender.Tests.Data;

public class EventLogTests
{
    /// <summary>
    /// Listeners per track, counted on every core over shares of the events, against one plain
    /// count: a log large enough to be split (2.5M events), and a small one counted in one part.
    /// </summary>
    [TestCase(2_500_000)]
    [TestCase(1_000)]
    public void ItemUserCounts_EqualsCountingEveryEvent(int events)
    {
        const int Users = 5_000, Items = 3_000;
        var rng = new Random(events);
        var items = new int[events];
        for (var e = 0; e < events; e++)
        {
            items[e] = rng.Next(10) == 0 ? Items - 1 : rng.Next(Items - 1); // one very popular track
        }

        var offsets = Enumerable.Range(0, Users + 1).Select(u => (int)((long)events * u / Users)).ToArray();
        var log = new EventLog(IdMap.FromIds(Enumerable.Range(0, Users).Select(u => (long)u)), Items, offsets, items, new ushort[events], new int[events]);

        var expected = new int[Items];
        foreach (var i in items)
        {
            expected[i]++;
        }

        Assert.That(log.ItemUserCounts(), Is.EqualTo(expected));
    }

    private static EventLog RandomLog(int seed, bool dayOrdered, int users = 300, int items = 50)
    {
        var rng = new Random(seed);
        var offsets = new int[users + 1];
        var itemList = new List<int>();
        var dayList = new List<int>();
        for (var u = 0; u < users; u++)
        {
            var count = rng.Next(0, 30);
            var day = 100 + rng.Next(20);
            for (var e = 0; e < count; e++)
            {
                day += rng.Next(0, 4); // repeats allowed: several listens a day
                itemList.Add(rng.Next(items));
                dayList.Add(dayOrdered ? day : 100 + rng.Next(100));
            }

            offsets[u + 1] = itemList.Count;
        }

        return new EventLog(IdMap.FromIds(Enumerable.Range(0, users).Select(u => (long)u)), items, offsets, [.. itemList], [.. dayList.Select(d => (ushort)d)], null);
    }

    /// <summary>
    /// A slice of a day-ordered log is a view on the same arrays, and holds exactly the events a
    /// copy holds, user by user and in order; a slice of a slice too. Out-of-order rows fall back
    /// to the copy.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Slice_OfDayOrderedLog_IsAViewWithTheCopysEvents(int seed)
    {
        var log = RandomLog(seed, dayOrdered: true);
        Assert.That(log.IsDayOrdered, Is.True);
        var (first, last) = log.DayRange();
        var rng = new Random(seed);
        for (var trial = 0; trial < 20; trial++)
        {
            var from = first - 2 + rng.Next(last - first + 4);
            var to = from + rng.Next(last - from + 3);
            var view = log.Slice(from, to);
            var copy = log.Copy(from, to);
            Assert.That(view.IsContiguous, Is.False);
            Assert.That(view.Items, Is.SameAs(log.Items), "a view shares the log's arrays");
            AssertSameEvents(view, copy);
            Assert.That(view.ItemUserCounts(), Is.EqualTo(copy.ItemUserCounts()));
            Assert.That(view.DayRange(), Is.EqualTo(copy.DayRange()));

            var inner = view.Slice(from + 1, to - 1);
            AssertSameEvents(inner, log.Copy(from + 1, to - 1));
        }

        Assert.That(() => log.Slice(first, last).UserOffsets, Throws.InvalidOperationException.With.Message.Contains("Start(u)"));
    }

    [Test]
    public void Slice_OfUnorderedLog_CopiesTheEventsInTheWindow()
    {
        var log = RandomLog(7, dayOrdered: false);
        Assert.That(log.IsDayOrdered, Is.False);
        var slice = log.Slice(130, 170);
        Assert.That(slice.IsContiguous, Is.True);
        for (var u = 0; u < log.NumUsers; u++)
        {
            var expected = Enumerable.Range(log.Start(u), log.CountOf(u)).Where(e => log.Days[e] is >= 130 and < 170).Select(e => log.Items[e]);
            Assert.That(slice.ItemsOf(u).ToArray(), Is.EqualTo(expected.ToArray()), $"user {u}");
        }
    }

    private static void AssertSameEvents(EventLog a, EventLog b)
    {
        Assert.That(a.NumEvents, Is.EqualTo(b.NumEvents));
        for (var u = 0; u < a.NumUsers; u++)
        {
            Assert.That(a.ItemsOf(u).ToArray(), Is.EqualTo(b.ItemsOf(u).ToArray()), $"user {u}'s tracks");
            Assert.That(a.DaysOf(u).ToArray(), Is.EqualTo(b.DaysOf(u).ToArray()), $"user {u}'s days");
        }
    }
}
