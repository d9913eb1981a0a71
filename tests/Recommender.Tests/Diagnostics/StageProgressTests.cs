using Microsoft.Extensions.Logging;
using Recommender.Diagnostics;

namespace Recommender.Tests.Diagnostics;

public class StageProgressTests
{
    private sealed class Captured : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }

    [Test]
    public void ReportsPercentageAndTimeLeft_AtMostOncePerSixtyFourthOfTheWork()
    {
        var log = new Captured();
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
        var log = new Captured();
        var progress = new StageProgress(log, "similar", 1000, TimeSpan.FromHours(1));
        Parallel.For(0, 1000, _ => progress.Add(1));
        Assert.That(progress.Done, Is.EqualTo(1000), "every unit counted across threads");
        Assert.That(log.Messages, Is.Empty);
    }
}
