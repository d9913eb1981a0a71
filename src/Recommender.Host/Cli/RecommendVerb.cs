using static Recommender.Host.Cli.RecommenderCli;
using Recommender.Host.Configuration;

namespace Recommender.Host.Cli;

/// <summary>The `recommend` verb: asks a running service through the client SDK.</summary>
internal static class RecommendVerb
{
    public static VerbSpec Spec { get; } = new VerbSpec("recommend", "ask a running service for a user's recommendations",
    [
        new("user", "user id"),
        new("k", "how many tracks", "10"),
        new("address", "service address", Endpoints.DefaultGrpcUrl),
    ]);

    public static async Task<int> RunAsync(ParsedOptions o, CliContext ctx)
    {
        var user = o.Long("user", 0);
        var k = o.Int("k", 1, 10_000);
        using var client = Recommender.Client.RecommenderClient.Connect(o.Required("address"));
        try
        {
            var (snapshot, items) = await client.GetRecommendationsAsync(user, k);
            ctx.Out.WriteLine($"user {user}, snapshot {snapshot}:");
            for (var r = 0; r < items.Count; r++)
            {
                var i = items[r];
                ctx.Out.WriteLine($"{r + 1,3}. {i.TrackId,10}  {i.Name}  [{string.Join(", ", i.Artists)}] ({string.Join(", ", i.Genres)})  {i.Score:F4} {i.Source}");
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
