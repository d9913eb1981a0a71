
namespace Recommender.Host.Cli;

/// <summary>What a verb gets besides its options.</summary>
public sealed record CliContext(ILoggerFactory Loggers, TextWriter Out, TextWriter Error, string[] RawArgs)
{
    public ILogger Logger(string category) => Loggers.CreateLogger(category);
}
