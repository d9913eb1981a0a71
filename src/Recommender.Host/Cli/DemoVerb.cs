using static Recommender.Host.Cli.RecommenderCli;
using Recommender.Host.Configuration;

namespace Recommender.Host.Cli;

/// <summary>The `demo` verb (the main job): generate, train and serve in one folder.</summary>
internal static class DemoVerb
{
    public static VerbSpec Spec { get; } = new VerbSpec("demo", "the main job: generate a small dataset (unless --data is given), train, and serve it",
    [
        new("out", "working directory", "out/demo"),
        new("data", "real input data to use instead of a generated dataset"),
        new("urls", "listen address", Endpoints.DefaultGrpcUrl),
        new("no-serve", "stop after training", IsFlag: true),
    ]);

    public static async Task<int> RunAsync(ParsedOptions o, CliContext ctx)
    {
        var root = o.Required("out");
        var data = o.String("data") ?? Path.Combine(root, "data");
        var artifacts = Path.Combine(root, "artifacts");
        if (!o.Has("data"))
        {
            var generated = await RecommenderCli.RunAsync(["generate", "--out", data], ctx.Out, ctx.Error);
            if (generated != ExitOk)
            {
                return generated;
            }
        }

        var trained = await RecommenderCli.RunAsync(["train", "--data", data, "--out", artifacts, "--quick"], ctx.Out, ctx.Error);
        if (trained != ExitOk || o.Flag("no-serve"))
        {
            return trained;
        }

        ctx.Out.WriteLine($"demo folder: {Path.GetFullPath(root)} (data, artifacts, online log); serving {Path.GetFullPath(artifacts)}/current over gRPC on {o.Required("urls")} and JSON on {Endpoints.DefaultHttpUrl}; try: curl -s '{Endpoints.DefaultHttpUrl}/v1/users/1/recommendations?k=5'");
        return await RecommenderCli.RunAsync(["serve", "--artifacts", artifacts, "--data", data, "--online-log", Path.Combine(root, "online", "listens.log"), "--urls", o.Required("urls"), "--environment", "Development"], ctx.Out, ctx.Error);
    }
}
