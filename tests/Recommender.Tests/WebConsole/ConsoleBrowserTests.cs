using System.Diagnostics;
using Microsoft.Playwright;
using Recommender.Serving;
using Recommender.Snapshots;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.WebConsole;

/// <summary>
/// The console in a real browser: Debian's chromium driven by Playwright (ExecutablePath: nothing
/// is downloaded), against the host on a real Kestrel on loopback. Screenshots go to the test's
/// output folder, and to RECOMMENDER_SCREENSHOTS when set (docs/console.md's command).
/// </summary>
[NonParallelizable]
public sealed class ConsoleBrowserTests
{
    public const string Browser = "browser";

    /// <summary>The shared synthetic snapshot, or RECOMMENDER_CONSOLE_ARTIFACTS (a trained snapshot root, e.g. lastfm-dev's for docs/console.md's screenshots with real names).</summary>
    private static readonly Lazy<(string Artifacts, ServingSnapshot Snapshot)> Shared = new(() =>
    {
        var artifacts = Environment.GetEnvironmentVariable("RECOMMENDER_CONSOLE_ARTIFACTS") is { Length: > 0 } given ? Path.GetFullPath(given, TestPaths.RepoRoot) : ServiceData.CopyArtifacts();
        return (artifacts, ServingSnapshot.Load(new SnapshotStore(artifacts).RequireCurrent()));
    });

    private RunningService _service = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    private static string Chromium => Environment.GetEnvironmentVariable("RECOMMENDER_CHROMIUM") ?? "/usr/bin/chromium";

    [OneTimeSetUp]
    public async Task Start()
    {
        if (!File.Exists(Chromium))
        {
            Require.Missing(Browser, $"needs Debian's chromium at {Chromium} (apt-get install chromium; RECOMMENDER_CHROMIUM names another)");
        }

        _service = await RunningService.StartAsync(ServiceData.Config(Shared.Value.Artifacts));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }
    }

    /// <summary>A page with the console open and the token typed into its form; console errors and page errors are collected.</summary>
    private async Task<(IPage Page, List<string> Errors)> OpenAsync(bool withToken = true)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 1000 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(90_000); // a full-size snapshot (RECOMMENDER_CONSOLE_ARTIFACTS) loads its inspector on first use: ~30 s
        var errors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add(m.Text);
            }
        };
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(_service.HttpAddress + "/");
        if (withToken)
        {
            await page.FillAsync("#token-input", ServiceData.Token);
            await page.ClickAsync("#token-form button[type=submit]");
        }

        return (page, errors);
    }

    private static async Task Shot(IPage page, string name)
    {
        var dirs = new List<string> { Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots") };
        if (Environment.GetEnvironmentVariable("RECOMMENDER_SCREENSHOTS") is { Length: > 0 } docs)
        {
            dirs.Add(Path.GetFullPath(docs, TestPaths.RepoRoot));
        }

        foreach (var dir in dirs)
        {
            Directory.CreateDirectory(dir);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, $"console-{name}.png"), FullPage = true });
        }
    }

    /// <summary>A user with a served list and at least 12 listens; <paramref name="skip"/> picks another one (a test that logs listens takes its own user).</summary>
    private static (int Dense, long Raw) KnownUser(ServingSnapshot s, int skip = 0)
    {
        var u = Enumerable.Range(0, s.Users.Count).Where(u => s.HistoryOf(u).Length >= 12 && s.Recommendations.ItemsOf(u).Length >= 10).Skip(skip).First();
        return (u, s.Users.RawId(u));
    }

    [Test]
    public async Task EveryPage_LoadsWithoutAConsoleError()
    {
        var snapshot = Shared.Value.Snapshot;
        var (_, user) = KnownUser(snapshot);
        var track = snapshot.Items.RawId(snapshot.Popular.Items[0]);
        // Some traffic for the overview's online figures: lists served, then listens of which every third is a hit.
        var users = Enumerable.Range(0, snapshot.Users.Count).Where(u => snapshot.Recommendations.ItemsOf(u).Length >= 10).Skip(5).Take(30).Select(snapshot.Users.RawId).ToArray();
        for (var i = 0; i < users.Length; i++)
        {
            var (_, served) = await _service.Client.GetRecommendationsAsync(users[i], 10);
            await _service.Client.LogListenAsync(users[i], i % 3 == 0 ? served[i % 10].TrackId : snapshot.Items.RawId(snapshot.Popular.Items[snapshot.Popular.Items.Length - 1 - i]));
        }

        var (page, errors) = await OpenAsync();
        var pages = new (string Hash, string Selector, string Name)[]
        {
            ("#/", "[data-figure='Served list']", "overview"),
            ("#/runs", "#retrain-button", "runs"),
            ("#/data", "#quality-table", "data"),
            ($"#/users/{user}", "#columns .column.served li", "user"),
            ($"#/tracks/{track}", "#neighbours .column li", "track"),
            ($"#/tracks?q={Uri.EscapeDataString(snapshot.Tracks[snapshot.Popular.Items[0]].Artists[0])}", "#search-results tbody tr", "search"),
        };
        foreach (var (hash, selector, name) in pages)
        {
            await page.GotoAsync($"{_service.HttpAddress}/{hash}");
            await page.WaitForSelectorAsync(selector);
            await Shot(page, name);
            Assert.That(errors, Is.Empty, $"console errors on {hash}");
            Assert.That(await page.IsVisibleAsync("#message"), Is.False, $"{hash}: {await page.TextContentAsync("#message")}");
            if (name == "overview")
            {
                Assert.That(await page.TextContentAsync("[data-figure='Served list']"), Is.EqualTo(snapshot.ServedList));
                Assert.That(await page.TextContentAsync("[data-figure='Users']"), Is.EqualTo(snapshot.Users.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
                Assert.That(await page.TextContentAsync("[data-figure='Hit rate (72 h)']"), Is.Not.EqualTo("—"), "the listens above are counted");
            }
        }
    }

    [Test]
    public async Task TheUserPage_ShowsTheHistoryAndEveryListColumn_WithTheRightTrackNames()
    {
        var snapshot = Shared.Value.Snapshot;
        var (dense, raw) = KnownUser(snapshot);
        var reply = await _service.Client.InspectUserAsync(raw, k: 10, history: 50);
        var (page, errors) = await OpenAsync();
        var started = Stopwatch.GetTimestamp();
        await page.GotoAsync($"{_service.HttpAddress}/#/users/{raw}");
        await page.WaitForSelectorAsync("#columns .column.popular li");
        TestContext.Out.WriteLine($"user page rendered in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms (navigation, RPC and drawing)");

        var history = await page.Locator("#history tbody tr td:nth-child(2)").AllTextContentsAsync();
        var expected = snapshot.HistoryOf(dense).ToArray().Reverse().Take(50).Select(i => snapshot.Tracks[i].Name);
        Assert.That(history, Is.EqualTo(expected), "the snapshot's listens, newest first");

        foreach (var list in new[] { reply.Answer }.Concat(reply.Lists))
        {
            var names = await page.Locator($"#columns .column.{list.Name} li .name a").AllTextContentsAsync();
            Assert.That(names, Is.EqualTo(list.Items.Select(i => i.Name)), $"column {list.Name}");
        }

        Assert.That(await page.Locator("#columns .column").CountAsync(), Is.EqualTo(SnapshotInspector.ListNames.Count + 1));
        Assert.That(await page.TextContentAsync("#reasons-sum"), Does.StartWith("score"), "the first ranked track's reasons are shown");
        Assert.That(await page.Locator("#reasons-table tbody tr").CountAsync(), Is.EqualTo(Recommender.Ranking.FeatureContext.FeatureCount));
        Assert.That(errors, Is.Empty);
    }

    [Test]
    public async Task LoggingAListen_TakesTheTrackOutOfTheServedColumn()
    {
        var snapshot = Shared.Value.Snapshot;
        var (_, raw) = KnownUser(snapshot, skip: 1);
        var reply = await _service.Client.InspectUserAsync(raw, k: 10);
        var track = reply.Lists.Single(l => l.Name == "served").Items.First(i => !i.Heard).TrackId;
        var (page, errors) = await OpenAsync();
        await page.GotoAsync($"{_service.HttpAddress}/#/users/{raw}");
        var item = page.Locator($"#columns .column.served li[data-track='{track}']");
        await item.WaitForAsync();
        await item.Locator("button").ClickAsync();
        await page.WaitForSelectorAsync($"#columns .column.served li[data-track='{track}']", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
        await page.WaitForSelectorAsync("#history .badge.online");
        Assert.That(await page.Locator($"#columns .column.answer li[data-track='{track}']").CountAsync(), Is.Zero, "the answer leaves it out too");
        Assert.That(await page.TextContentAsync("#message"), Does.Contain($"Logged a listen of track {track}"));
        await Shot(page, "user-after-listen");
        Assert.That(errors, Is.Empty);
    }

    [Test]
    public async Task TheRetrainButton_WithoutAToken_ShowsThe401Message()
    {
        var (page, _) = await OpenAsync(withToken: false);
        await page.GotoAsync($"{_service.HttpAddress}/#/runs");
        await page.WaitForSelectorAsync("#retrain-button");
        await page.ClickAsync("#retrain-button");
        await page.WaitForFunctionAsync("() => document.getElementById('message').textContent.includes('401')");
        Assert.That(await page.TextContentAsync("#message"), Does.Contain("401 Unauthorized").And.Contain("ops token"));
        Assert.That(await page.IsVisibleAsync("#token-panel"), Is.True, "the token form opens");
        await Shot(page, "runs-without-token");
        Assert.That(await _service.Client.ListRunsAsync(), Is.Empty, "no run was started");
    }
}
