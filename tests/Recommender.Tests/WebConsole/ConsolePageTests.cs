using System.Net;
using Recommender.Host.WebConsole;
using Recommender.Tests.Host;

namespace Recommender.Tests.WebConsole;

/// <summary>The console's files as the host serves them: embedded, small, with a strict content policy and revalidation by ETag.</summary>
public sealed class ConsolePageTests
{
    [Test]
    public void ThePagesFiles_AreEmbedded_AndWeighUnder300KB()
    {
        Assert.That(ConsolePage.Files.Keys, Is.EquivalentTo(new[] { "index.html", "console.css", "console.js" }));
        Assert.That(ConsolePage.Files.Values.Sum(), Is.LessThan(300 * 1024), "the issue's budget for the page's own files");
    }

    [Test]
    public async Task Root_IsThePage_WithAContentSecurityPolicy_AndAssetsRevalidateByETag()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };
        using var page = await http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(page.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("script-src 'self'").And.Contain("connect-src 'self'"));
        Assert.That(await page.Content.ReadAsStringAsync(), Does.Contain("/console/console.js"), "no token needed for the page itself: it holds no data");

        using var script = await http.GetAsync(new Uri("/console/console.js", UriKind.Relative));
        Assert.That(script.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/javascript"));
        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri("/console/console.js", UriKind.Relative));
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.That((await http.SendAsync(again)).StatusCode, Is.EqualTo(HttpStatusCode.NotModified));
        Assert.That((await http.GetAsync(new Uri("/console/secrets.json", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
