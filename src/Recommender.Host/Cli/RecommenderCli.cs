using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Diagnostics;
using Recommender.Data;

namespace Recommender.Host.Cli;

/// <summary>The verbs of the one executable: offline jobs, the service and its client.</summary>
public static partial class RecommenderCli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;
    public const int ExitBadData = 3;

    /// <summary>A default as the help prints it.</summary>
    internal static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The verbs, in the order the help lists them; built per call (a command tree holds no state between runs).</summary>
    private static Verb[] CreateVerbs() =>
    [
        new GenerateVerb(),
        new PrepareVerb(),
        new TrainVerb(),
        new ServeVerb(),
        new PublishVerb(),
        new RecommendVerb(),
        new LoadTest(),
        new SoakTest(),
        new JsonFlood(),
        new InspectLatency(),
        new Bench(),
        new DemoVerb(),
    ];

    /// <summary>The command tree (System.CommandLine) for tools that read it, such as shell completion.</summary>
    internal static RootCommand CreateRoot(out IReadOnlyList<Verb> verbs)
    {
        var all = CreateVerbs();
        var root = new RootCommand("Personal music recommendations: the offline pipeline, the gRPC service and its client");
        foreach (var v in all)
        {
            root.Subcommands.Add(v.Command);
        }

        verbs = all;
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = CreateRoot(out var verbs);
        if (args.Length == 0)
        {
            PrintHelp(stdout, verbs);
            return ExitUsage;
        }

        if (args[0] is "help")
        {
            PrintHelp(stdout, verbs);
            return ExitOk;
        }

        if (!args[0].StartsWith('-') && !args[0].StartsWith('[') && verbs.All(v => v.Name != args[0]))
        {
            await stderr.WriteLineAsync($"error: unknown verb '{args[0]}'{Suggestion(args[0], verbs.Select(v => v.Name))}; verbs: {string.Join(", ", verbs.Select(v => v.Name))}");
            return ExitUsage;
        }

        var result = root.Parse(args);
        var verb = verbs.FirstOrDefault(v => v.Command == result.CommandResult.Command);
        if (result.Action is HelpAction)
        {
            if (verb is null)
            {
                PrintHelp(stdout, verbs);
            }
            else
            {
                PrintVerbHelp(stdout, verb);
            }

            return ExitOk;
        }

        if (result.Action is not null and not ParseErrorAction)
        {
            // Directives ([suggest] for shell completion) and --version: System.CommandLine's own
            // actions (a verb has none: it runs below). No signal handling of its own: serve and train have theirs.
            return await result.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null });
        }

        if (verb is null)
        {
            foreach (var error in result.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            PrintHelp(stderr, verbs);
            return ExitUsage;
        }

        if (result.Errors.Count > 0)
        {
            foreach (var message in ErrorMessages(result, verb))
            {
                await stderr.WriteLineAsync($"error: {verb.Name}: {message}");
            }

            return ExitUsage;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }));
        var context = new CliContext(loggerFactory, stdout, stderr);
        try
        {
            return await verb.RunAsync(result, context);
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return ExitUsage;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            await stderr.WriteLineAsync($"error: invalid configuration: {string.Join("; ", e.Failures)}");
            return ExitUsage;
        }
        catch (DataException e)
        {
            await stderr.WriteLineAsync($"error: bad input: {e.Message}");
            return ExitBadData;
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return ExitUsage;
        }
        catch (Exception e) when (Failure(e) is { } failure)
        {
            // Disk full, permission denied, a missing folder, a crashed stage: one line, exit 1, no stack trace.
            await stderr.WriteLineAsync($"error: {failure}");
            return ExitFailure;
        }
    }

    /// <summary>
    /// The parse errors in our words: an unknown option is named with the nearest option of the
    /// verb and the verb's options; the others (a bad value, a missing value) as the parser or our
    /// range checks phrased them, each naming its option.
    /// </summary>
    private static IEnumerable<string> ErrorMessages(ParseResult result, Verb verb)
    {
        var names = verb.Command.Options.Select(o => o.Name).ToArray();
        var unknown = result.UnmatchedTokens.ToHashSet(StringComparer.Ordinal);
        foreach (var token in unknown)
        {
            yield return token.StartsWith('-')
                ? $"unknown option '{token}'{Suggestion(token, names)}; options: {string.Join(", ", names)}"
                : $"unexpected argument '{token}'";
        }

        foreach (var error in result.Errors.Where(e => !unknown.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))))
        {
            yield return error.Message;
        }
    }

    /// <summary>" (did you mean 'x'?)" for the nearest known name within a few edits, else nothing.</summary>
    internal static string Suggestion(string typed, IEnumerable<string> known)
    {
        var best = known.Select(k => (Name: k, Distance: EditDistance(typed, k))).OrderBy(x => x.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(2, typed.Length / 3) ? $" (did you mean '{best.Name}'?)" : "";
    }

    /// <summary>Levenshtein distance, two rows.</summary>
    internal static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>The one-line cause of a failed verb: the innermost I/O error (it names the file), else the first cause.</summary>
    internal static string? Failure(Exception e)
    {
        if (e is OutOfMemoryException or OperationCanceledException)
        {
            return null;
        }

        var causes = new List<Exception>();
        void Walk(Exception x)
        {
            causes.Add(x);
            if (x is AggregateException a)
            {
                foreach (var inner in a.InnerExceptions)
                {
                    Walk(inner);
                }
            }
            else if (x.InnerException is { } inner)
            {
                Walk(inner);
            }
        }

        Walk(e);
        var io = causes.LastOrDefault(c => c is IOException or UnauthorizedAccessException);
        var cause = io ?? causes.FirstOrDefault(c => c is not AggregateException and not System.Reflection.TargetInvocationException) ?? e;
        var message = cause.Message.ReplaceLineEndings(" ");
        return cause is IOException or UnauthorizedAccessException or DataException ? message : $"{message} ({cause.GetType().Name})";
    }

    private static void PrintHelp(TextWriter w, IReadOnlyList<Verb> verbs)
    {
        w.WriteLine("usage: Recommender.Host <verb> [options]   (dotnet run -c Release --project src/Recommender.Host -- <verb> ...)");
        w.WriteLine();
        foreach (var v in verbs)
        {
            PrintVerbHelp(w, v);
        }
    }

    private static void PrintVerbHelp(TextWriter w, Verb verb)
    {
        w.WriteLine($"{verb.Name}: {verb.Summary}");
        foreach (var o in verb.Command.Options)
        {
            var value = o.ValueType == typeof(bool) ? "" : " <value>";
            var required = o.Required ? " (required)" : "";
            var def = CliOption.DefaultText(o) is { } d ? $" (default: {d})" : "";
            w.WriteLine($"  {o.Name}{value}  {o.Description}{required}{def}");
        }

        w.WriteLine();
    }

    public static long PeakMemoryMb()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024 * 1024);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Verb} finished in {Seconds:F1} s, peak working set {PeakMb} MB")]
    public static partial void LogDone(ILogger logger, string verb, double seconds, long peakMb);
}
