using Recommender.Snapshots;
using static Recommender.Host.Cli.RecommenderCli;
using Recommender.Host.Configuration;

namespace Recommender.Host.Cli;

/// <summary>The `serve` verb: the long-running gRPC service.</summary>
internal static class ServeVerb
{
    public static VerbSpec Spec { get; } = new VerbSpec("serve", "run the gRPC recommendation service (Generic Host, Quartz nightly retrain)",
    [
        new("artifacts", "snapshot root whose current snapshot is served, or s3://bucket/prefix to follow (config Recommender:ArtifactsDir)"),
        new("urls", "gRPC listen address(es), ';'-separated (config Urls)"),
        new("http-urls", "JSON routes, /metrics and /openapi.json listen address(es), ';'-separated, empty for none (config Recommender:HttpUrls)"),
        new("data", "input data the nightly retrain reads (config Recommender:DataDir)"),
        new("online-log", "durable log of listens received online (config Recommender:OnlineLogPath)"),
        new("environment", "host environment; outside Development the public development ops token is refused (default: ASPNETCORE_ENVIRONMENT, else Production)"),
    ]);

    public static async Task<int> RunAsync(ParsedOptions o, CliContext ctx)
    {
        var overrides = new Dictionary<string, string?>();
        void Map(string option, string key)
        {
            if (o.String(option) is { } value)
            {
                overrides[key] = value;
            }
        }

        Map("artifacts", $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.ArtifactsDir)}");
        Map("data", $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.DataDir)}");
        Map("online-log", $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.OnlineLogPath)}");
        Map("http-urls", $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.HttpUrls)}");
        Map("urls", "Urls");
        try
        {
            await using var app = RecommenderHost.Build([], overrides, environment: o.String("environment"));
            await app.RunAsync();
            return ExitOk;
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException e)
        {
            await ctx.Error.WriteLineAsync($"error: invalid configuration: {string.Join("; ", e.Failures)}");
            return ExitUsage;
        }
        catch (SnapshotNotFoundException e)
        {
            await ctx.Error.WriteLineAsync($"error: {e.Message}");
            return ExitFailure;
        }
    }
}
