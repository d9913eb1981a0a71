using System.Globalization;

namespace Recommender.Host.Cli;

/// <summary>A wrong command line: the message names the argument.</summary>
public sealed class UsageException(string message) : Exception(message);

public sealed record OptionSpec(string Name, string Help, string? Default = null, bool IsFlag = false);

public sealed record VerbSpec(string Name, string Summary, IReadOnlyList<OptionSpec> Options);

/// <summary>"--name value" and "--flag" options of one verb, checked against the verb's spec.</summary>
public sealed class ParsedOptions
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public ParsedOptions(VerbSpec verb, IReadOnlyList<string> args)
    {
        Verb = verb;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"{verb.Name}: unexpected argument '{arg}'");
            }

            var name = arg[2..];
            string? inline = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }

            var spec = verb.Options.FirstOrDefault(o => o.Name == name)
                ?? throw new UsageException($"{verb.Name}: unknown option '--{name}' (options: {string.Join(", ", verb.Options.Select(o => "--" + o.Name))})");
            if (spec.IsFlag)
            {
                _values[name] = "true";
                continue;
            }

            if (inline is null)
            {
                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"{verb.Name}: option '--{name}' needs a value");
                }

                inline = args[++i];
            }

            _values[name] = inline;
        }
    }

    public VerbSpec Verb { get; }

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Flag(string name) => _values.ContainsKey(name);

    public string? String(string name) => _values.TryGetValue(name, out var v) ? v : Spec(name).Default;

    public string Required(string name) => String(name) ?? throw new UsageException($"{Verb.Name}: option '--{name}' is required");

    public int Int(string name, int min, int max = int.MaxValue)
    {
        var text = Required(name);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"{Verb.Name}: option '--{name}' must be an integer in [{min}, {max}] (got '{text}')");
        }

        return value;
    }

    public long Long(string name, long min = long.MinValue)
    {
        var text = Required(name);
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            throw new UsageException($"{Verb.Name}: option '--{name}' must be an integer of at least {min} (got '{text}')");
        }

        return value;
    }

    public float Float(string name, float min)
    {
        var text = Required(name);
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || !float.IsFinite(value))
        {
            throw new UsageException($"{Verb.Name}: option '--{name}' must be a number of at least {min} (got '{text}')");
        }

        return value;
    }

    public double Double(string name, double min)
    {
        var text = Required(name);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || !double.IsFinite(value))
        {
            throw new UsageException($"{Verb.Name}: option '--{name}' must be a number of at least {min} (got '{text}')");
        }

        return value;
    }

    public DateOnly? Date(string name)
    {
        var text = String(name);
        if (text is null)
        {
            return null;
        }

        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            throw new UsageException($"{Verb.Name}: option '--{name}' must be a date yyyy-MM-dd (got '{text}')");
        }

        return date;
    }

    private OptionSpec Spec(string name) => Verb.Options.First(o => o.Name == name);
}
