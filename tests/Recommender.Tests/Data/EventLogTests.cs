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
        var log = new EventLog(IdMap.FromIds(Enumerable.Range(0, Users).Select(u => (long)u)), Items, offsets, items, new int[events], new int[events]);

        var expected = new int[Items];
        foreach (var i in items)
        {
            expected[i]++;
        }

        Assert.That(log.ItemUserCounts(), Is.EqualTo(expected));
    }
}
