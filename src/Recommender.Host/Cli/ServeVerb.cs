using System.CommandLine;
using Recommender.Host.Configuration;
using Recommender.Snapshots;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `serve` verb: the long-running gRPC service. Each option given overrides its configuration key.</summary>
internal sealed class ServeVerb : Verb
{
    private readonly Option<string?> _artifacts = CliOption.OptionalText("artifacts", "snapshot root whose current snapshot is served, or s3://bucket/prefix to follow (config Recommender:ArtifactsDir)");
    private readonly Option<string?> _urls = CliOption.OptionalText("urls", "gRPC listen address(es), ';'-separated (config Urls)");
    private readonly Option<string?> _httpUrls = CliOption.OptionalText("http-urls", "JSON routes, /metrics and /openapi.json listen address(es), ';'-separated, empty for none (config Recommender:HttpUrls)");
    private readonly Option<string?> _data = CliOption.OptionalText("data", "input data the nightly retrain reads (config Recommender:DataDir)");
    private readonly Option<string?> _onlineLog = CliOption.OptionalText("online-log", "durable log of listens received online (config Recommender:OnlineLogPath)");
    private readonly Option<string?> _environment = CliOption.OptionalText("environment", "host environment; outside Development the public development ops token is refused (default: ASPNETCORE_ENVIRONMENT, else Production)");

    public ServeVerb()
        : base("serve", "run the gRPC recommendation service (Generic Host, Quartz nightly retrain)") => Options(_artifacts, _urls, _httpUrls, _data, _onlineLog, _environment);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var overrides = new Dictionary<string, string?>();
        void Map(Option<string?> option, string key)
        {
            if (r.GetValue(option) is { } value)
            {
                overrides[key] = value;
            }
        }

        Map(_artifacts, $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.ArtifactsDir)}");
        Map(_data, $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.DataDir)}");
        Map(_onlineLog, $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.OnlineLogPath)}");
        Map(_httpUrls, $"{RecommenderOptions.Section}:{nameof(RecommenderOptions.HttpUrls)}");
        Map(_urls, "Urls");
        try
        {
            await using var app = RecommenderHost.Build([], overrides, environment: r.GetValue(_environment));
            await app.RunAsync();
            return ExitOk;
        }
        catch (SnapshotNotFoundException e)
        {
            await ctx.Error.WriteLineAsync($"error: {e.Message}");
            return ExitFailure;
        }
    }
}
