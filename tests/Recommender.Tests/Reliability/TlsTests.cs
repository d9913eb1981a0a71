using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Recommender.Client;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>TLS on the gRPC and the JSON address from Kestrel's certificate settings, PEM or PFX; a certificate that cannot be read stops the start naming the setting.</summary>
public class TlsTests
{
    private static readonly Lazy<TestCertificates> Certificates = new(TestCertificates.Create);

    private static Dictionary<string, string?> TlsConfig(params (string Key, string? Value)[] certificate)
    {
        var config = ServiceData.Config(ServiceData.CopyArtifacts());
        config["Urls"] = "https://127.0.0.1:0";
        config["Recommender:HttpUrls"] = "https://127.0.0.1:0";
        foreach (var (key, value) in certificate)
        {
            config[$"Kestrel:Certificates:Default:{key}"] = value;
        }

        return config;
    }

    private static async Task<(int Exit, string Output)> Curl(params string[] args)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var curl = Process.Start(start)!;
        var output = await curl.StandardOutput.ReadToEndAsync();
        var error = await curl.StandardError.ReadToEndAsync();
        await curl.WaitForExitAsync();
        return (curl.ExitCode, output + error);
    }

    [Test]
    public async Task PemCertificate_ServesBothAddresses_TheSdkWithACustomRoot_AndCurlWithCacert()
    {
        if (!File.Exists("/usr/bin/curl"))
        {
            Require.Missing(Require.Curl, "the curl command is not installed (apt-get install curl)");
        }

        var c = Certificates.Value;
        await using var service = await RunningService.StartAsync(TlsConfig(("Path", c.CertificatePem), ("KeyPath", c.KeyPem)));
        Assert.That(service.Address, Does.StartWith("https://"));
        Assert.That(service.HttpAddress, Does.StartWith("https://"));

        using var client = RecommenderClient.Connect(service.Address, c.Root, ServiceData.Token);
        Assert.That(await client.GetPopularAsync(3), Has.Count.EqualTo(3));
        Assert.That((await client.GetStatusAsync()).SnapshotId, Is.Not.Empty, "ops calls too");

        using var untrusting = RecommenderClient.Connect(service.Address);
        var refused = Assert.ThrowsAsync<RpcException>(() => untrusting.GetPopularAsync(3))!;
        Assert.That(refused.StatusCode, Is.Not.EqualTo(StatusCode.OK));
        Assert.That(refused.Status.DebugException?.ToString() ?? refused.Status.Detail, Does.Contain("certificate").IgnoreCase, "the system's roots do not know the private CA");

        var localhost = service.HttpAddress.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        foreach (var address in new[] { service.HttpAddress, localhost })
        {
            var (exit, output) = await Curl("-sS", "--cacert", c.RootPem, $"{address}/v1/popular?k=2");
            Assert.That(exit, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("\"items\""));
        }

        var (unverified, message) = await Curl("-sS", $"{service.HttpAddress}/v1/popular?k=2");
        Assert.That(unverified, Is.EqualTo(60), $"curl refuses a certificate it cannot verify: {message}");
    }

    [Test]
    public async Task PfxCertificate_WithItsPassword_Serves()
    {
        var c = Certificates.Value;
        await using var service = await RunningService.StartAsync(TlsConfig(("Path", c.Pfx), ("Password", c.PfxPassword)));
        using var client = RecommenderClient.Connect(service.Address, c.Root);
        Assert.That(await client.GetPopularAsync(2), Has.Count.EqualTo(2));
    }

    [Test]
    public void ACertificateThatCannotBeRead_StopsTheStart_NamingTheSetting()
    {
        var c = Certificates.Value;
        var garbage = Path.Combine(TestPaths.NewTempDir(), "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        var cases = new (string Expected, (string, string?)[] Settings)[]
        {
            ("Kestrel:Certificates:Default:Path must name a certificate", []),
            ("no certificate file at", [("Path", "/nonexistent/server.pem"), ("KeyPath", c.KeyPem)]),
            ("cannot read the certificate", [("Path", garbage), ("KeyPath", c.KeyPem)]),
            ("cannot read the certificate", [("Path", c.Pfx), ("Password", "wrong-password")]),
            ("no key file at", [("Path", c.CertificatePem), ("KeyPath", "/nonexistent/server.key")]),
        };
        foreach (var (expected, settings) in cases)
        {
            var error = Assert.ThrowsAsync<OptionsValidationException>(async () => await RunningService.StartAsync(TlsConfig(settings)))!;
            Assert.That(error.Message, Does.Contain("Kestrel:Certificates:Default:").And.Contain(expected), string.Join(", ", settings));
        }
    }
}
