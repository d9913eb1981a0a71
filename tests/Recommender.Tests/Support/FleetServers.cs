using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Recommender.Tests.Support;

/// <summary>
/// A server process the fleet tests start on loopback: an S3-compatible object store (s3rver, from
/// npm) or redis-server (Debian's). Where one is not installed the test is skipped with the reason;
/// RECOMMENDER_REQUIRE=fleet (.ci/run installs both) makes that a failure.
/// </summary>
internal sealed class FleetServer : IDisposable
{
    public const string S3AccessKey = "S3RVER"; // s3rver's fixed credentials
    public const string S3SecretKey = "S3RVER";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, System.Text.StringBuilder> Errors = new();

    private readonly Process _process;
    private readonly Func<Process> _restart;
    private Process? _restarted;

    private FleetServer(Process process, int port, Func<Process> restart)
    {
        _process = process;
        Port = port;
        _restart = restart;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>s3rver serving <paramref name="bucket"/> from a fresh folder.</summary>
    public static FleetServer StartS3(string bucket)
    {
        var exe = Find("RECOMMENDER_S3RVER", "s3rver", "/opt/s3rver/node_modules/.bin/s3rver");
        if (exe is null)
        {
            Require.Missing(Require.Fleet, "needs s3rver, an S3-compatible server (npm install --prefix /opt/s3rver s3rver, or RECOMMENDER_S3RVER=path)");
        }

        var dir = TestPaths.NewTempDir();
        var port = FreePort();
        Process Start() => Launch(exe!, "-d", dir, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", bucket);
        return Ready(new FleetServer(Start(), port, Start));
    }

    /// <summary>redis-server with append-only persistence (fsync every write), in a fresh folder.</summary>
    public static FleetServer StartRedis()
    {
        var exe = Find("RECOMMENDER_REDIS_SERVER", "redis-server", "/usr/bin/redis-server");
        if (exe is null)
        {
            Require.Missing(Require.Fleet, "needs redis-server (apt-get install redis-server, or RECOMMENDER_REDIS_SERVER=path)");
        }

        var dir = TestPaths.NewTempDir();
        var port = FreePort();
        Process Start() => Launch(exe!, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no");
        return Ready(new FleetServer(Start(), port, Start));
    }

    /// <summary>Kills the server (a crash, not a shutdown).</summary>
    public void Kill()
    {
        foreach (var p in new[] { _process, _restarted })
        {
            if (p is { HasExited: false })
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }
        }
    }

    /// <summary>Starts the server again on the same port and folder.</summary>
    public void Restart()
    {
        Kill();
        _restarted = _restart();
        WaitForPort(Port, _restarted);
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _restarted?.Dispose();
    }

    private static FleetServer Ready(FleetServer server)
    {
        WaitForPort(server.Port, server._process);
        return server;
    }

    private static void WaitForPort(int port, Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                Assert.Fail($"{process.StartInfo.FileName} exited with {process.ExitCode} before listening on {port}: {Errors.GetValueOrDefault(process.Id)}");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        Assert.Fail($"{process.StartInfo.FileName} did not listen on {port} within 30 s");
    }

    private static string? Find(string variable, string name, string fallback)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } set && File.Exists(set))
        {
            return set;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return File.Exists(fallback) ? fallback : null;
    }

    private static Process Launch(string exe, params string[] args)
    {
        var start = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        var errors = new System.Text.StringBuilder();
        Errors[process.Id] = errors;
        // Both pipes drained, so that a chatty server never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
