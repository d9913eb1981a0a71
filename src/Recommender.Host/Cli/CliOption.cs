using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Recommender.Host.Cli;

/// <summary>
/// Typed System.CommandLine options with the project's range checks and messages: a value out of
/// range is a parse error naming the option ("option '--factors' must be an integer in [1, 1024]
/// (got '0')"). Defaults are passed in from the options types that own them, never retyped.
/// </summary>
internal static class CliOption
{
    public static Option<string> Text(string name, string description, string @default) =>
        new("--" + name) { Description = description, DefaultValueFactory = _ => @default };

    /// <summary>A text option with no default: null when not given.</summary>
    public static Option<string?> OptionalText(string name, string description) =>
        new("--" + name) { Description = description };

    /// <summary>A flag: "--flag", "--flag true" and "--flag false" all parse.</summary>
    public static Option<bool> Flag(string name, string description) =>
        new("--" + name) { Description = description, Arity = ArgumentArity.ZeroOrOne };

    public static Option<int> Int(string name, string description, int @default, int min, int max = int.MaxValue) =>
        Checked(new Option<int>("--" + name) { Description = description, DefaultValueFactory = _ => @default }, name, min, max);

    /// <summary>An integer option whose default is described in words (chosen on validation, derived from the data): null when not given.</summary>
    public static Option<int?> OptionalInt(string name, string description, int min, int max = int.MaxValue) =>
        Checked(new Option<int?>("--" + name) { Description = description }, name, min, max);

    public static Option<long> Long(string name, string description, long @default, long min, long max = long.MaxValue) =>
        Checked(new Option<long>("--" + name) { Description = description, DefaultValueFactory = _ => @default }, name, min, max);

    /// <summary>A required integer option (no default).</summary>
    public static Option<long?> RequiredLong(string name, string description, long min) =>
        Checked(new Option<long?>("--" + name) { Description = description, Required = true }, name, min, long.MaxValue);

    public static Option<double> Double(string name, string description, double @default, double min) =>
        Checked(new Option<double>("--" + name) { Description = description, DefaultValueFactory = _ => @default }, name, min);

    public static Option<float?> OptionalFloat(string name, string description, float min) =>
        Checked(new Option<float?>("--" + name) { Description = description }, name, min);

    /// <summary>A day written yyyy-MM-dd: null when not given.</summary>
    public static Option<DateOnly?> Date(string name, string description) => new("--" + name)
    {
        Description = description,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                return date;
            }

            r.AddError($"option '--{name}' must be a date yyyy-MM-dd (got '{text}')");
            return null;
        },
    };

    /// <summary>Whether the option was typed on the command line (not its default).</summary>
    public static bool Given(this ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>The default as help prints it; null when there is none.</summary>
    public static string? DefaultText(Option option) =>
        option.HasDefaultValue && option.ValueType != typeof(bool) ? Convert.ToString(option.GetDefaultValue(), CultureInfo.InvariantCulture) : null;

    private static Option<T> Checked<T>(Option<T> option, string name, long min, long max) => Add(option, text =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? null
            : max == long.MaxValue || max == int.MaxValue
                ? $"option '--{name}' must be an integer of at least {min} (got '{text}')"
                : $"option '--{name}' must be an integer in [{min}, {max}] (got '{text}')");

    private static Option<T> Checked<T>(Option<T> option, string name, double min) => Add(option, text =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v >= min
            ? null
            : $"option '--{name}' must be a number of at least {min.ToString(CultureInfo.InvariantCulture)} (got '{text}')");

    /// <summary>Checks the typed text before conversion, so a bad value gets our message instead of a type-conversion error.</summary>
    private static Option<T> Add<T>(Option<T> option, Func<string, string?> check)
    {
        option.CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (check(text) is { } error)
            {
                r.AddError(error);
                return default!;
            }

            var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            return (T)Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
        };
        return option;
    }
}
