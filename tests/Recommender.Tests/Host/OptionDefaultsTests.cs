using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Recommender.Host.Cli;
using Recommender.Host.Fleet;
using Recommender.Host;
using Recommender.Host.Configuration;
using Recommender.Host.Retraining;
using Recommender.Host.State;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Ranking;
using Recommender.Tests.Support;

namespace Recommender.Tests.Host;

/// <summary>
/// Every default is written once, in its options type; the configuration file, docs/configuration.md's
/// configuration table and the CLI help must agree with those types.
/// </summary>
public partial class OptionDefaultsTests
{
    private static readonly Dictionary<string, object> Sections = new()
    {
        [RecommenderOptions.Section] = new RecommenderOptions(),
        [S3Options.Section] = new S3Options(),
        [RedisOptions.Section] = new RedisOptions(),
        [LimitsOptions.Section] = new LimitsOptions(),
    };

    [Test]
    public void TheConfigurationFiles_BindToTheOptionsTypesDefaults()
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(TestPaths.RepoRoot, "config", "appsettings.json"), optional: false)
            .Build();
        foreach (var (section, defaults) in Sections)
        {
            var bound = Activator.CreateInstance(defaults.GetType())!;
            config.GetSection(section).Bind(bound);
            foreach (var p in defaults.GetType().GetProperties().Where(p => p.CanWrite))
            {
                Assert.That(p.GetValue(bound), Is.EqualTo(p.GetValue(defaults)), $"config/appsettings.json sets {section}:{p.Name} away from its default: change the options type instead");
            }
        }

        Assert.That(config["Urls"] ?? Endpoints.DefaultGrpcUrl, Is.EqualTo(Endpoints.DefaultGrpcUrl));
    }

    [Test]
    public void TheConfigurationDocTable_ShowsTheOptionsTypesDefaults()
    {
        var doc = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "docs", "configuration.md"));
        var compared = 0;
        foreach (var row in doc.Where(l => KeyRow().IsMatch(l)))
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            var keys = cells[1].Split(',', StringSplitOptions.TrimEntries).Select(k => k.Trim('`')).ToArray();
            var values = cells[2].Split(',', StringSplitOptions.TrimEntries).Select(v => v.Trim('`')).ToArray();
            var section = keys[0].Split(':')[0];
            if (!Sections.TryGetValue(section, out var defaults) || values.Length != keys.Length)
            {
                continue;
            }

            for (var i = 0; i < keys.Length; i++)
            {
                var name = keys[i].Contains(':', StringComparison.Ordinal) ? keys[i].Split(':')[1] : keys[i];
                var property = defaults.GetType().GetProperty(name);
                Assert.That(property, Is.Not.Null, $"docs/configuration.md names {section}:{name}, which {defaults.GetType().Name} does not have");
                var value = Convert.ToString(property!.GetValue(defaults), CultureInfo.InvariantCulture) ?? "";
                var shown = values[i].StartsWith("empty", StringComparison.Ordinal) ? "" : values[i];
                Assert.That(shown, Is.EqualTo(value), $"docs/configuration.md's default of {section}:{name}");
                compared++;
            }
        }

        Assert.That(compared, Is.GreaterThanOrEqualTo(20), "the table's rows were found and read");
    }

    [Test]
    public async Task TheCliHelp_PrintsTheOptionsTypesDefaults()
    {
        var stdout = new StringWriter();
        await RecommenderCli.RunAsync(["--help"], stdout, new StringWriter());
        var help = stdout.ToString();
        var train = new TrainOptions { DataDir = TrainOptions.DefaultDataDir, OutRoot = TrainOptions.DefaultOutRoot };
        var expected = new Dictionary<string, string>
        {
            ["--factors"] = $"{AlsParameters.Default.Factors}",
            ["--iterations"] = $"{AlsParameters.Default.Iterations}",
            ["--warm-iterations"] = $"{train.AlsWarmIterations}",
            ["--eval-users"] = $"{train.EvaluationMaxUsers}",
            ["--seed"] = $"{AlsParameters.Default.Seed}",
            ["--max-ranker-users"] = $"{train.MaxRankerUsers}",
            ["--ranker-trees"] = $"{new RankerParameters().Trees}",
            ["--ranker-leaves"] = $"{new RankerParameters().Leaves}",
            ["--data"] = TrainOptions.DefaultDataDir,
        };
        var trainHelp = help[help.IndexOf("\ntrain:", StringComparison.Ordinal)..help.IndexOf("\nserve:", StringComparison.Ordinal)];
        foreach (var (flag, value) in expected)
        {
            Assert.That(trainHelp, Does.Match($@"\n  {Regex.Escape(flag)} <value>  [^\n]*\(default: {Regex.Escape(value)}\)"), flag);
        }

        Assert.That(trainHelp, Does.Contain($"(default: {TrainOptions.DefaultOutRoot})"));
        Assert.That(help, Does.Contain($"(default: {Endpoints.DefaultGrpcUrl})"));
    }

    /// <summary>A README table row whose first cell is a backticked Section:Key.</summary>
    [GeneratedRegex(@"^\| `[A-Za-z0-9]+:[A-Za-z]+`")]
    private static partial Regex KeyRow();
}

/// <summary>The nightly retrain hands its options to the child as a typed file, not as hand-built arguments.</summary>
public class RetrainOptionsFileTests
{
    [Test]
    public void RetrainOptions_RoundTripThroughTheFile_Exactly()
    {
        var o = new RecommenderOptions { DataDir = "/data/in", AlsFactors = 48, AlsIterations = 7 };
        var train = RetrainRunner.RetrainOptions(o, "/data/online.log", "/data/out") with
        {
            SplitDate = null,
            PopularWindowDays = 30,
            Ranker = new RankerParameters { Trees = 17, MinExamplesPerLeaf = 9 },
            ItemKnn = new ItemKnnParameters { EaseLambda = 200f },
        };
        var path = Path.Combine(TestPaths.NewTempDir(), "train.json");
        train.WriteFile(path);
        var back = TrainOptions.ReadFile(path);
        Assert.That(back, Is.EqualTo(train));
        Assert.That(back.Als.Factors, Is.EqualTo(48));
        Assert.That(back.AllEvents && back.DropDuplicates, "the retrain fits everything");
    }

    [Test]
    public void ABadOptionsFile_IsRefused_NamingTheFileAndTheMissingField()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "train.json");
        File.WriteAllText(path, """{ "DataDir": "/data" }""");
        var e = Assert.Throws<Recommender.Data.DataException>(() => TrainOptions.ReadFile(path))!;
        Assert.That(e.Message, Does.StartWith("train.json").And.Contain("OutRoot"));
    }

    [Test]
    public async Task TrainWithAnOptionsFile_RefusesOtherOptions_NamingThem()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "train.json");
        new TrainOptions { DataDir = "/nowhere", OutRoot = "/nowhere" }.WriteFile(path);
        var stderr = new StringWriter();
        var exit = await RecommenderCli.RunAsync(["train", "--options", path, "--factors", "8"], new StringWriter(), stderr);
        Assert.That(exit, Is.EqualTo(RecommenderCli.ExitUsage));
        Assert.That(stderr.ToString(), Does.Contain("excludes --factors"));
    }
}
