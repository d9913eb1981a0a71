using Recommender.Tests.Support;

namespace Recommender.Tests.Host;

/// <summary>`serve --urls` and `--http-urls` as a person types them, on a real process.</summary>
public sealed class ServeAddressTests
{
    [Test]
    public async Task Serve_listens_on_both_given_addresses_without_an_override_warning()
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config.Remove("Recommender:HttpUrls");
        config["Logging:LogLevel:Default"] = "Information";
        var http = $"http://127.0.0.1:{FleetServer.FreePort()}";
        await using var serve = await ServeProcess.StartAsync(config, "--http-urls", http);

        using var client = new HttpClient();
        var popular = await client.GetStringAsync(new Uri($"{http}/v1/popular?k=3"));
        Assert.That(popular, Does.Contain("\"items\""), "the JSON routes answer on --http-urls");
        Assert.That((await serve.Client.GetPopularAsync(3)).Count, Is.EqualTo(3), "gRPC answers on --urls");
        var log = serve.Log();
        Assert.That(log, Does.Contain($"Now listening on: {http}"));
        Assert.That(log, Does.Not.Contain("Overriding address"), "Kestrel binds its endpoints without overriding Urls");
    }
}
