using Microsoft.Extensions.Logging;

namespace Recommender.Tests.Support;

/// <summary>A logger that keeps every formatted message, for tests that read what a run logged.</summary>
internal sealed class CapturedLog : ILogger
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
