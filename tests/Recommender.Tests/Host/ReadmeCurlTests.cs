using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Recommender.Tests.Support;

namespace Recommender.Tests.Host;

/// <summary>
/// Every curl line of the README's HTTP/JSON block, run as written against a real server on
/// loopback: only the address, the example track id (one the test catalog has) and $OPS_TOKEN
/// differ. A README example that stops working fails here.
/// </summary>
public partial class ReadmeCurlTests
{
    private const string ReadmeAddress = "http://127.0.0.1:5081";
    private const string ReadmeTrack = "53404";

    [GeneratedRegex(@"### Over HTTP/JSON \(curl\).*?```sh\n(?<block>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CurlBlock();

    private static string[] CurlLines()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var match = CurlBlock().Match(readme);
        Assert.That(match.Success, "README.md has a '### Over HTTP/JSON (curl)' section with a ```sh block");
        return [.. match.Groups["block"].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("curl ", StringComparison.Ordinal))];
    }

    [Test]
    public async Task EveryCurlLineOfTheReadme_AnswersJson()
    {
        if (!File.Exists("/usr/bin/curl"))
        {
            Require.Missing(Require.Curl, "the curl command is not installed (apt-get install curl)");
        }

        var lines = CurlLines();
        Assert.That(lines, Has.Length.GreaterThanOrEqualTo(9), "the README's curl examples");
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        Assert.That(service.HttpAddress, Does.StartWith("http://127.0.0.1:"));
        var track = (await service.Client.GetPopularAsync(1))[0].TrackId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var seen = new List<string>();
        foreach (var line in lines)
        {
            var command = line.Replace(ReadmeAddress, service.HttpAddress.TrimEnd('/'), StringComparison.Ordinal).Replace(ReadmeTrack, track, StringComparison.Ordinal);
            var (exit, output) = await Shell(command + " -w '\\n%{http_code}'");
            Assert.That(exit, Is.Zero, $"{line}\n{output}");
            var status = output[(output.LastIndexOf('\n') + 1)..];
            var body = output[..output.LastIndexOf('\n')];
            Assert.That(status, Is.EqualTo("200"), $"{line}\n{body}");
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (line.Contains("/recommendations", StringComparison.Ordinal) || line.Contains("/similar", StringComparison.Ordinal) || line.Contains("/popular", StringComparison.Ordinal))
            {
                Assert.That(root.GetProperty("items").GetArrayLength(), Is.GreaterThan(0), line);
                Assert.That(root.GetProperty("items")[0].GetProperty("trackId").GetInt64(), Is.GreaterThanOrEqualTo(0), line);
                Assert.That(root.GetProperty("snapshotId").GetString(), Is.Not.Empty, line);
            }
            else if (line.Contains("/v1/listens", StringComparison.Ordinal))
            {
                Assert.That(root.GetProperty("sequence").GetInt64(), Is.EqualTo(1), "the first logged listen");
            }
            else if (line.Contains("/ops/status", StringComparison.Ordinal))
            {
                Assert.That(root.GetProperty("snapshotId").GetString(), Is.Not.Empty);
            }
            else if (line.Contains("/ops/users/", StringComparison.Ordinal))
            {
                Assert.That(root.GetProperty("userId").GetInt64(), Is.EqualTo(5));
                Assert.That(root.GetProperty("lists").EnumerateArray().Select(l => l.GetProperty("name").GetString()), Is.EqualTo(Recommender.Serving.SnapshotInspector.ListNames));
                Assert.That(root.GetProperty("answer").GetProperty("items").GetArrayLength(), Is.EqualTo(3), "k=3");
            }
            else if (line.Contains("/ops/runs", StringComparison.Ordinal))
            {
                Assert.That(root.GetProperty("runs")[0].GetProperty("runId").GetString(), Does.StartWith("run-"), "the run the line before started");
            }
            else if (line.Contains("/ops/retrain", StringComparison.Ordinal))
            {
                Assert.That(root.GetProperty("runId").GetString(), Does.StartWith("run-"));
            }
            else
            {
                Assert.That(root.GetProperty("openapi").GetString(), Does.StartWith("3."));
                Assert.That(root.GetProperty("paths").TryGetProperty("/v1/users/{user_id}/recommendations", out _));
            }

            seen.Add(line);
        }

        Assert.That(seen, Has.Count.EqualTo(lines.Length));
    }

    [Test]
    public async Task HttpErrors_CarryTheGrpcStatusAndNameTheField()
    {
        await using var service = await RunningService.StartAsync(ServiceData.Config(ServiceData.CopyArtifacts()));
        using var http = new HttpClient { BaseAddress = new Uri(service.HttpAddress) };

        var bad = await http.GetAsync(new Uri("/v1/users/-5/recommendations?k=3", UriKind.Relative));
        Assert.That((int)bad.StatusCode, Is.EqualTo(400));
        Assert.That(await bad.Content.ReadAsStringAsync(), Does.Contain("user_id"));

        var noToken = await http.GetAsync(new Uri("/v1/ops/status", UriKind.Relative));
        Assert.That((int)noToken.StatusCode, Is.EqualTo(401));

        var unknown = await http.GetAsync(new Uri("/v1/tracks/2000000000/similar?k=3", UriKind.Relative));
        Assert.That((int)unknown.StatusCode, Is.EqualTo(404));
        Assert.That(await unknown.Content.ReadAsStringAsync(), Does.Contain("track_id"));

        var k = await http.GetAsync(new Uri("/v1/popular?k=100000", UriKind.Relative));
        Assert.That((int)k.StatusCode, Is.EqualTo(400));
        Assert.That(await k.Content.ReadAsStringAsync(), Does.Contain("k"));
    }

    private static async Task<(int Exit, string Output)> Shell(string command)
    {
        var start = new ProcessStartInfo("/bin/bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["OPS_TOKEN"] = ServiceData.Token;
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output + error);
    }
}
