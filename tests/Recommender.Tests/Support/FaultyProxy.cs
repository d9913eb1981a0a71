using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Recommender.Tests.Support;

/// <summary>
/// A TCP proxy in front of a loopback server that injects faults: connections passed through,
/// answered "503 Service Unavailable", reset at once, or passed through slowly. A mode change cuts
/// the connections already open at their next read, so that a client's pooled connection meets the
/// new mode too. The client's Host header reaches the server unchanged, so S3 signatures still verify.
/// </summary>
internal sealed class FaultyProxy : IDisposable
{
    public enum Fault
    {
        None,
        Unavailable,
        Reset,
        Slow,
    }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private volatile Fault _mode;
    private int _generation;
    private int _faulted;

    public FaultyProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync();
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Connections answered with a fault so far.</summary>
    public int Faulted => Volatile.Read(ref _faulted);

    /// <summary>Each read passed along waits this long in <see cref="Fault.Slow"/>.</summary>
    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public Fault Mode
    {
        get => _mode;
        set
        {
            _mode = value;
            Interlocked.Increment(ref _generation);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var mode = _mode;
                var generation = Volatile.Read(ref _generation);
                var stream = client.GetStream();
                switch (mode)
                {
                    case Fault.Reset:
                        Interlocked.Increment(ref _faulted);
                        client.Client.LingerState = new LingerOption(true, 0); // close with RST
                        return;
                    case Fault.Unavailable:
                        Interlocked.Increment(ref _faulted);
                        await ReadHeadersAsync(stream);
                        const string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>injected by the test</Message></Error>";
                        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
                        return;
                    default:
                        using (var upstream = new TcpClient())
                        {
                            await upstream.ConnectAsync(IPAddress.Loopback, _target);
                            var server = upstream.GetStream();
                            await Task.WhenAny(PumpAsync(stream, server, generation), PumpAsync(server, stream, generation));
                        }

                        return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // a client or the server went away: the connection ends, as a faulty network's would
            }
        }
    }

    private async Task PumpAsync(Stream from, Stream to, int generation)
    {
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer)) > 0)
        {
            if (Volatile.Read(ref _generation) != generation)
            {
                return; // the mode changed: this connection ends here
            }

            if (_mode == Fault.Slow)
            {
                await Task.Delay(SlowDelay);
            }

            await to.WriteAsync(buffer.AsMemory(0, n));
        }
    }

    private static async Task ReadHeadersAsync(Stream stream)
    {
        var seen = new List<byte>();
        var one = new byte[1];
        while (seen.Count < 64 * 1024 && await stream.ReadAsync(one) == 1)
        {
            seen.Add(one[0]);
            if (seen.Count >= 4 && seen[^4] == '\r' && seen[^3] == '\n' && seen[^2] == '\r' && seen[^1] == '\n')
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
