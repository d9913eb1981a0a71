using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Pipeline;
using Recommender.Tests.Support;

namespace Recommender.Tests.Pipeline;

/// <summary>
/// The training window (`train --window-days`, Recommender:TrainWindowDays) on TinyData, whose
/// six rows span 2022-01-05..2022-02-15: users 7 (01-05, 01-06, 02-01), 3 (02-10, 02-11 of an
/// unknown track) and 5 (02-15).
/// </summary>
public class TrainWindowTests
{
    private static readonly string Dir = TinyData.Create();

    private static int Day(int month, int day) => EdaReport.DayOf(new DateOnly(2022, month, day));

    [Test]
    public void TenDays_KeepTheLatestTenDays_AndLeaveOutUsersHeardOnlyBefore()
    {
        var data = DataPreparation.Load(Dir, NullLogger.Instance, windowDays: 10);
        var events = data.Events;
        Assert.That(events.DayRange(), Is.EqualTo((Day(2, 10), Day(2, 15))));
        Assert.That(events.NumEvents, Is.EqualTo(2), "user 3's known track on 02-10 and user 5's on 02-15");
        Assert.That(Enumerable.Range(0, events.Users.Count).Select(u => events.Users.RawId(u)), Is.EquivalentTo(new long[] { 3, 5 }), "user 7 listened only before the window");
        Assert.That(data.Quality.Interactions.EventsBeforeWindow, Is.EqualTo(3));
        Assert.That(data.Quality.Interactions.UnknownTrackEvents, Is.EqualTo(1), "the unknown track's row is inside the window");
        Assert.That(data.Quality.ToMarkdown(), Does.Contain("| events before the training window (left out) | 3 |"));
    }

    [Test]
    public void AWindowLongerThanTheLog_KeepsEverything()
    {
        var all = DataPreparation.Load(Dir, NullLogger.Instance);
        var windowed = DataPreparation.Load(Dir, NullLogger.Instance, windowDays: 365);
        Assert.That(windowed.Events.NumEvents, Is.EqualTo(all.Events.NumEvents).And.EqualTo(5));
        Assert.That(windowed.Events.Items, Is.EqualTo(all.Events.Items));
        Assert.That(windowed.Events.Days, Is.EqualTo(all.Events.Days));
        Assert.That(windowed.Quality.Interactions.EventsBeforeWindow, Is.Zero);
    }

    [Test]
    public void OnlineListens_CountAsTheLog_TheirLatestDayEndsTheWindow()
    {
        // A listen of user 7 on 03-01: the window of 10 days is 02-20..03-01, which only it is in.
        var online = new[] { new OnlineEvent(7, 300, new DateTime(2022, 3, 1, 12, 0, 0, DateTimeKind.Utc)) };
        var data = DataPreparation.Load(Dir, NullLogger.Instance, onlineEvents: online, windowDays: 10);
        Assert.That(data.Events.NumEvents, Is.EqualTo(1));
        Assert.That(data.Events.Users.RawId(0), Is.EqualTo(7));
        Assert.That(data.Events.Days[0], Is.EqualTo(Day(3, 1)));
        Assert.That(data.Quality.Interactions.EventsBeforeWindow, Is.EqualTo(6), "every exported row, the unknown track's too");
        Assert.That(data.Quality.Interactions.UnknownTrackEvents, Is.Zero);
    }

    [Test]
    public void AWindowOfNoDays_IsRefused_ByTheOptionsCheck()
    {
        var options = new TrainOptions { DataDir = Dir, OutRoot = TestPaths.NewTempDir(), TrainWindowDays = 0 };
        Assert.That(options.Validate(), Has.Some.Contains("training window must be at least one day (got 0)"));
    }
}
