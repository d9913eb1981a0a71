using System.CommandLine;
using Recommender.Host.Configuration;
using static Recommender.Host.Cli.RecommenderCli;

namespace Recommender.Host.Cli;

/// <summary>The `recommend` verb: asks a running service through the client SDK.</summary>
internal sealed class RecommendVerb : Verb
{
    private readonly Option<long?> _user = CliOption.RequiredLong("user", "user id", 0);
    private readonly Option<int> _k = CliOption.Int("k", "how many tracks", 10, 1, 10_000);
    private readonly Option<string> _address = CliOption.Text("address", "service address", Endpoints.DefaultGrpcUrl);

    public RecommendVerb()
        : base("recommend", "ask a running service for a user's recommendations") => Options(_user, _k, _address);

    public override async Task<int> RunAsync(ParseResult r, CliContext ctx)
    {
        var user = r.GetValue(_user)!.Value;
        using var client = Recommender.Client.RecommenderClient.Connect(r.GetValue(_address)!);
        try
        {
            var (snapshot, items) = await client.GetRecommendationsAsync(user, r.GetValue(_k));
            ctx.Out.WriteLine($"user {user}, snapshot {snapshot}:");
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                ctx.Out.WriteLine($"{i + 1,3}. {item.TrackId,10}  {item.Name}  [{string.Join(", ", item.Artists)}] ({string.Join(", ", item.Genres)})  {item.Score:F4} {item.Source}");
            }

            return ExitOk;
        }
        catch (Grpc.Core.RpcException e)
        {
            await ctx.Error.WriteLineAsync($"error: {e.StatusCode}: {e.Status.Detail}");
            return ExitFailure;
        }
    }
}
