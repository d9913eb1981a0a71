using System.CommandLine;
using Recommender.Host.Configuration;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `demo` verb (the main job): generate, train with a demo-sized search, and serve in one folder.</summary>
internal sealed class DemoVerb : Verb
{
    private readonly Option<string> _out = CliOption.Text("out", "working directory", "out/demo");
    private readonly Option<string?> _data = CliOption.OptionalText("data", "real input data to use instead of a generated dataset");
    private readonly Option<string> _urls = CliOption.Text("urls", "gRPC listen address", Endpoints.DefaultGrpcUrl);
    private readonly Option<string> _httpUrls = CliOption.Text("http-urls", "JSON routes listen address", Endpoints.DefaultHttpUrl);
    private readonly Option<bool> _noServe = CliOption.Flag("no-serve", "stop after training");

    public DemoVerb()
        : base("demo", "the main job: generate a small dataset (unless --data is given), train it (train --quick), and serve it") => Options(_out, _data, _urls, _httpUrls, _noServe);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var root = r.GetValue(_out)!;
        var data = r.GetValue(_data) ?? Path.Combine(root, "data");
        var artifacts = Path.Combine(root, "artifacts");
        if (r.GetValue(_data) is null)
        {
            var generated = await RecommenderCli.RunAsync(["generate", "--out", data], ctx.Out, ctx.Error);
            if (generated != ExitOk)
            {
                return generated;
            }
        }

        var trained = await RecommenderCli.RunAsync(["train", "--data", data, "--out", artifacts, "--quick"], ctx.Out, ctx.Error);
        if (trained != ExitOk || r.GetValue(_noServe))
        {
            return trained;
        }

        var (urls, http) = (r.GetValue(_urls)!, r.GetValue(_httpUrls)!);
        ctx.Out.WriteLine($"demo folder: {Path.GetFullPath(root)} (data, artifacts, online log); serving {Path.GetFullPath(artifacts)}/current over gRPC on {urls} and JSON on {http}; try: curl -s '{http}/v1/users/1/recommendations?k=5'");
        return await RecommenderCli.RunAsync(["serve", "--artifacts", artifacts, "--data", data, "--online-log", Path.Combine(root, "online", "listens.log"), "--urls", urls, "--http-urls", http, "--environment", "Development"], ctx.Out, ctx.Error);
    }
}
