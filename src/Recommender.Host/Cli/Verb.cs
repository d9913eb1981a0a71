using System.CommandLine;

namespace Recommender.Host.Cli;

/// <summary>One verb of the executable: its System.CommandLine command with typed options, and what it does.</summary>
internal abstract class Verb(string name, string summary)
{
    public Command Command { get; } = new(name, summary);

    public string Name => Command.Name;

    public string Summary => Command.Description ?? "";

    /// <summary>Runs the verb on a parse result without errors.</summary>
    public abstract Task<int> RunAsync(ParseResult result, CliContext ctx);

    protected void Options(params Option[] options)
    {
        foreach (var o in options)
        {
            Command.Options.Add(o);
        }
    }
}
