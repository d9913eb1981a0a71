namespace Recommender.Host.Cli;

/// <summary>A wrong command line found after parsing (options that exclude each other, a bad list): the message names the option; exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
