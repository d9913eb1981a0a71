using System.CommandLine;
using Recommender.Host.Cli;

namespace Recommender.Tests.Host;

/// <summary>The verbs' command line on System.CommandLine: typed values, our messages and exit codes.</summary>
public sealed class CommandLineTests
{
    private static async Task<(int Exit, string Out, string Error)> Run(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var exit = await RecommenderCli.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [TestCase(new[] { "train", "--all-events" }, true)]
    [TestCase(new[] { "train", "--all-events", "true" }, true)]
    [TestCase(new[] { "train", "--all-events", "false" }, false)]
    [TestCase(new[] { "train", "--all-events=false" }, false)]
    [TestCase(new[] { "train" }, false)]
    public void A_flag_takes_an_optional_true_or_false(string[] args, bool expected)
    {
        var result = RecommenderCli.CreateRoot(out _).Parse(args);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.GetValue<bool>("--all-events"), Is.EqualTo(expected));
    }

    [Test]
    public void Options_are_typed_and_take_their_defaults_from_the_options_types()
    {
        var result = RecommenderCli.CreateRoot(out _).Parse(["train", "--factors", "32", "--split-date", "2010-06-01"]);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.GetValue<int>("--factors"), Is.EqualTo(32));
        Assert.That(result.GetValue<DateOnly?>("--split-date"), Is.EqualTo(new DateOnly(2010, 6, 1)));
        Assert.That(result.GetValue<int>("--iterations"), Is.EqualTo(Recommender.Models.AlsParameters.Default.Iterations));
        Assert.That(result.GetValue<int?>("--popular-days"), Is.Null, "chosen on validation unless given");
    }

    [Test]
    public async Task An_unknown_option_is_named_with_the_nearest_one()
    {
        var (exit, _, error) = await Run("prepare", "--dta", "x");
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(error, Does.Contain("unknown option '--dta' (did you mean '--data'?)").And.Contain("options: --data, --out"));
    }

    [Test]
    public async Task An_unknown_verb_is_named_with_the_nearest_one()
    {
        var (exit, _, error) = await Run("trian");
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(error, Does.Contain("unknown verb 'trian' (did you mean 'train'?)"));
    }

    [TestCase("--factors", "0", "option '--factors' must be an integer in [1, 1024] (got '0')")]
    [TestCase("--factors", "many", "option '--factors' must be an integer in [1, 1024] (got 'many')")]
    [TestCase("--split-date", "2010-6-1", "option '--split-date' must be a date yyyy-MM-dd (got '2010-6-1')")]
    [TestCase("--als-tolerance", "-1", "option '--als-tolerance' must be a number of at least 0 (got '-1')")]
    [TestCase("--seed", "-3", "option '--seed' must be an integer of at least 0 (got '-3')")]
    public async Task A_bad_value_is_a_usage_error_naming_the_option(string option, string value, string message)
    {
        var (exit, _, error) = await Run("train", option, value);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(error, Does.Contain($"error: train: {message}"));
    }

    [Test]
    public async Task A_required_option_missing_is_named()
    {
        var (exit, _, error) = await Run("recommend");
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(error, Does.Contain("'--user'"));
    }

    [Test]
    public async Task Shell_completion_suggests_the_verbs_options()
    {
        // What dotnet-suggest asks: the command line and the cursor position.
        var (exit, output, _) = await Run("[suggest:12]", "train --fact");
        Assert.That(exit, Is.Zero);
        Assert.That(output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "--factors" }));
    }

    [Test]
    public async Task Help_of_one_verb_lists_its_options_with_their_defaults()
    {
        var (exit, output, _) = await Run("generate", "--help");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.StartWith("generate: ").And.Contain("  --users <value>  number of users (default: 3000)"));
    }

    [TestCase("train", "trian", 2)]
    [TestCase("--factors", "--factor", 1)]
    [TestCase("", "abc", 3)]
    [TestCase("kitten", "sitting", 3)]
    public void Edit_distance_is_Levenshtein(string a, string b, int expected)
    {
        Assert.That(RecommenderCli.EditDistance(a, b), Is.EqualTo(expected));
        Assert.That(RecommenderCli.EditDistance(b, a), Is.EqualTo(expected));
    }
}
