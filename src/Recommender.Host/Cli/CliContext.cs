namespace Recommender.Host.Cli;

/// <summary>What a verb gets besides its parsed options.</summary>
public sealed record CliContext(ILoggerFactory Loggers, TextWriter Out, TextWriter Error)
{
    public ILogger Logger(string category) => Loggers.CreateLogger(category);
}
