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

    private sealed record Verb(VerbSpec Spec, Func<ParsedOptions, CliContext, Task<int>> Run);

    /// <summary>A default as the help prints it.</summary>
    internal static string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    internal static string Text(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly Verb[] Verbs =
    [
        new(GenerateVerb.Spec, GenerateVerb.RunAsync),
        new(PrepareVerb.Spec, PrepareVerb.RunAsync),
        new(TrainVerb.Spec, TrainVerb.RunAsync),
        new(ServeVerb.Spec, ServeVerb.RunAsync),
        new(PublishVerb.Spec, PublishVerb.RunAsync),
        new(RecommendVerb.Spec, RecommendVerb.RunAsync),
        new(LoadTest.Spec, LoadTest.RunAsync),
        new(Bench.Spec, Bench.RunAsync),
        new(DemoVerb.Spec, DemoVerb.RunAsync),
    ];

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            PrintHelp(stdout);
            return args.Length == 0 ? ExitUsage : ExitOk;
        }

        var verb = Verbs.FirstOrDefault(v => v.Spec.Name == args[0]);
        if (verb is null)
        {
            await stderr.WriteLineAsync($"unknown verb '{args[0]}'; verbs: {string.Join(", ", Verbs.Select(v => v.Spec.Name))}");
            return ExitUsage;
        }

        if (args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            PrintVerbHelp(stdout, verb.Spec);
            return ExitOk;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }));
        var context = new CliContext(loggerFactory, stdout, stderr, args[1..]);
        try
        {
            var options = new ParsedOptions(verb.Spec, args[1..]);
            return await verb.Run(options, context);
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

    private static void PrintHelp(TextWriter w)
    {
        w.WriteLine("usage: Recommender.Host <verb> [options]   (dotnet run -c Release --project src/Recommender.Host -- <verb> ...)");
        w.WriteLine();
        foreach (var v in Verbs)
        {
            PrintVerbHelp(w, v.Spec);
        }
    }

    private static void PrintVerbHelp(TextWriter w, VerbSpec spec)
    {
        w.WriteLine($"{spec.Name}: {spec.Summary}");
        foreach (var o in spec.Options)
        {
            var value = o.IsFlag ? "" : " <value>";
            var def = o.Default is null ? "" : $" (default: {o.Default})";
            w.WriteLine($"  --{o.Name}{value}  {o.Help}{def}");
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
