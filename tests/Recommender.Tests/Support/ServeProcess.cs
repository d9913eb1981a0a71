using System.Diagnostics;
using Recommender.Client;
using Recommender.Host.Cli;
using Recommender.Tests.Host;

namespace Recommender.Tests.Support;

/// <summary>
/// A `serve` process of the built executable on a free loopback port, configured through
/// environment variables as an operator would (Section__Key); its output goes to a log file that a
/// failing test prints.
/// </summary>
internal sealed class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _closed;

    private ServeProcess(Process process, StreamWriter log, string address, string logPath)
    {
        _process = process;
        _log = log;
        Address = address;
        LogPath = logPath;
        Client = RecommenderClient.Connect(address, ServiceData.Token);
    }

    public string Address { get; }
    public string LogPath { get; }

    /// <summary>The process id (for signals: a test stops and resumes a replica).</summary>
    public int Pid => _process.Id;
    public RecommenderClient Client { get; }

    /// <param name="config">configuration keys as in appsettings ("Recommender:ArtifactsDir"); "Urls" is chosen here.</param>
    /// <param name="arguments">more arguments of the serve verb.</param>
    public static async Task<ServeProcess> StartAsync(IReadOnlyDictionary<string, string?> config, params string[] arguments)
    {
        var port = FleetServer.FreePort();
        var address = $"http://127.0.0.1:{port}";
        var assembly = typeof(RecommenderCli).Assembly.Location;
        var apphost = Path.Combine(Path.GetDirectoryName(assembly)!, "Recommender.Host");
        var start = new ProcessStartInfo(File.Exists(apphost) ? apphost : "dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (!File.Exists(apphost))
        {
            start.ArgumentList.Add(assembly);
        }

        foreach (var a in new[] { "serve", "--urls", address, "--environment", "Development" }.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in config.Where(kv => kv.Key != "Urls"))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value ?? "";
        }

        var log = Path.Combine(TestPaths.NewTempDir(), "serve.log");
        var writer = new StreamWriter(log) { AutoFlush = true };
        var process = Process.Start(start)!;
        var replica = new ServeProcess(process, writer, address, log);
        process.OutputDataReceived += (_, e) => replica.Write(e.Data);
        process.ErrorDataReceived += (_, e) => replica.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail($"serve exited with {process.ExitCode}: {replica.Log()}");
            }

            try
            {
                await replica.Client.GetStatusAsync();
                return replica;
            }
            catch (Grpc.Core.RpcException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Output lines may still arrive while the process is being disposed: written until then, dropped after.</summary>
    private void Write(string? line)
    {
        lock (_log)
        {
            if (line is not null && !_closed)
            {
                _log.WriteLine(line);
            }
        }
    }

    public string Log()
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(stream).ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no log: {e.Message})";
        }
    }

    public Task<ServiceStatus> WaitForRunAsync(string runId) => Client.WaitForRunAsync(runId);

    public bool HasExited => _process.HasExited;

    /// <summary>kill -9: the process dies wherever it is.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        lock (_log)
        {
            _closed = true;
            _log.Dispose();
        }

        _process.Dispose();
    }
}
