using Microsoft.Extensions.Logging;
using Recommender.Diagnostics;
using Recommender.Tests.Support;

namespace Recommender.Tests.Diagnostics;

public class StageProgressTests
{
    [Test]
    public void ReportsPercentageAndTimeLeft_AtMostOncePerSixtyFourthOfTheWork()
    {
        var log = new CapturedLog();
        var progress = new StageProgress(log, "ranking", 640, TimeSpan.Zero);
        for (var i = 0; i < 640; i++)
        {
            progress.Add(1);
        }

        Assert.That(progress.Done, Is.EqualTo(640));
        Assert.That(log.Messages, Has.Count.InRange(1, 64));
        Assert.That(log.Messages[0], Does.StartWith("ranking: 2% (10/640), about ").And.EndWith(" s left"));
        Assert.That(log.Messages[^1], Does.StartWith("ranking: 100% (640/640)"));
    }

    [Test]
    public void StaysQuiet_WithinTheInterval()
    {
        var log = new CapturedLog();
        var progress = new StageProgress(log, "similar", 1000, TimeSpan.FromHours(1));
        Parallel.For(0, 1000, _ => progress.Add(1));
        Assert.That(progress.Done, Is.EqualTo(1000), "every unit counted across threads");
        Assert.That(log.Messages, Is.Empty);
    }
}
