using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Recommender.Data;
using Recommender.Serving;
using Recommender.Tests.Host;
using Recommender.Tests.Support;

namespace Recommender.Tests.Reliability;

/// <summary>
/// The online log under torn writes and full disks: every acknowledged listen survives, nothing
/// unacknowledged is ever stored, sequence numbers stay dense and match the records.
/// </summary>
public class OnlineLogFaultTests
{
    private static readonly DateTime T0 = new(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static OnlineEvent Event(int i) => new(1000 + i, 50_000 + i, T0.AddMinutes(i));

    private static string NewLog() => Path.Combine(TestPaths.NewTempDir(), "listens.log");

    private static string Write(int events)
    {
        var path = NewLog();
        using var log = new OnlineEventLog(path);
        for (var i = 0; i < events; i++)
        {
            Assert.That(log.Append(Event(i)), Is.EqualTo(i + 1));
        }

        return path;
    }

    [TestCase(1)]
    [TestCase(12)]
    [TestCase(27)]
    [TestCase(28)]
    [TestCase(29)]
    [TestCase(40)]
    [TestCase(3 * 28)]
    public void ATornTail_IsCutToTheLastWholeRecord_AndTheNextListenGetsTheNextSequence(int cut)
    {
        var path = Write(5);
        var full = new FileInfo(path).Length;
        Assert.That(full, Is.EqualTo(OnlineEventLog.HeaderSize + 5 * OnlineEventLog.RecordSize));
        using (var f = new FileStream(path, FileMode.Open))
        {
            f.SetLength(full - cut);
        }

        var whole = (full - cut - OnlineEventLog.HeaderSize) / OnlineEventLog.RecordSize;
        var logger = new ListLogger();
        using (var log = new OnlineEventLog(path, logger))
        {
            Assert.That(log.Count, Is.EqualTo(whole));
            Assert.That(new FileInfo(path).Length, Is.EqualTo(OnlineEventLog.HeaderSize + whole * OnlineEventLog.RecordSize), "the torn bytes are gone");
            if (cut % OnlineEventLog.RecordSize != 0)
            {
                Assert.That(logger.Messages, Has.Some.Contains("cut").And.Contains($"{OnlineEventLog.RecordSize - (cut % OnlineEventLog.RecordSize)} bytes"));
            }

            Assert.That(log.Append(Event(99)), Is.EqualTo(whole + 1));
        }

        var expected = Enumerable.Range(0, (int)whole).Select(Event).Append(Event(99));
        Assert.That(OnlineEventLog.ReadAll(path), Is.EqualTo(expected), "no record glued onto a torn one");
    }

    [Test]
    public void ACorruptLastRecord_IsCut_AndReadAllStopsBeforeIt()
    {
        var path = Write(4);
        var bytes = File.ReadAllBytes(path);
        bytes[^10] ^= 0x40; // one flipped bit in the last record's track id
        File.WriteAllBytes(path, bytes);
        Assert.That(OnlineEventLog.ReadAll(path), Is.EqualTo(Enumerable.Range(0, 3).Select(Event)));
        using var log = new OnlineEventLog(path);
        Assert.That(log.Count, Is.EqualTo(3));
        Assert.That(log.Append(Event(7)), Is.EqualTo(4));
    }

    [Test]
    public void AFileThatIsNotALog_IsRefused_NamingIt()
    {
        var path = NewLog();
        File.WriteAllText(path, "hello, this is not a log");
        var e = Assert.Throws<Recommender.Data.DataException>(() => new OnlineEventLog(path).Dispose());
        Assert.That(e!.Message, Does.Contain("listens.log").And.Contain("not an online event log"));
    }

    [Test]
    public void AnOlderTextLog_IsConvertedWithoutLoss()
    {
        var path = NewLog();
        File.WriteAllText(path, "1000,50000,2023-01-01T00:00:00.0000000Z\n1001,50001,2023-01-01T00:01:00.0000000Z\n1002,500");
        using (var log = new OnlineEventLog(path))
        {
            Assert.That(log.Count, Is.EqualTo(2));
            Assert.That(log.Append(Event(2)), Is.EqualTo(3));
        }

        Assert.That(OnlineEventLog.ReadAll(path), Is.EqualTo(Enumerable.Range(0, 3).Select(Event)));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(13)]
    [TestCase(27)]
    public void AWriteThatHitsAFullDisk_IsRolledBack_AndLaterListensStayDense(int bytesThatFit)
    {
        var path = NewLog();
        FaultyStream? faulty = null;
        using (var log = new OnlineEventLog(path, null, f => faulty = new FaultyStream(f)))
        {
            Assert.That(log.Append(Event(0)), Is.EqualTo(1));
            faulty!.BytesLeft = bytesThatFit;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var e = Assert.Throws<OnlineLogWriteException>(() => log.Append(Event(10 + attempt)));
                Assert.That(e!.DiskFull, Is.True);
                Assert.That(e.Message, Does.Contain("listens.log").And.Contain("No space left on device"));
                Assert.That(new FileInfo(path).Length, Is.EqualTo(OnlineEventLog.HeaderSize + OnlineEventLog.RecordSize), "nothing unacknowledged is kept");
                faulty.BytesLeft = bytesThatFit;
            }

            faulty.BytesLeft = null; // space freed
            Assert.That(log.Append(Event(1)), Is.EqualTo(2));
            Assert.That(log.Append(Event(2)), Is.EqualTo(3));
            Assert.That(log.Count, Is.EqualTo(3));
        }

        Assert.That(OnlineEventLog.ReadAll(path), Is.EqualTo(Enumerable.Range(0, 3).Select(Event)), "exactly the acknowledged listens, in sequence order");
    }

    [Test]
    public void AFailedSync_IsRolledBack_EvenThoughTheBytesWereWritten()
    {
        var path = NewLog();
        FaultyStream? faulty = null;
        using (var log = new OnlineEventLog(path, null, f => faulty = new FaultyStream(f)))
        {
            log.Append(Event(0));
            faulty!.FailNextFlush = true;
            var e = Assert.Throws<OnlineLogWriteException>(() => log.Append(Event(1)));
            Assert.That(e!.DiskFull, Is.False);
            Assert.That(log.Append(Event(2)), Is.EqualTo(2));
        }

        Assert.That(OnlineEventLog.ReadAll(path), Is.EqualTo(new[] { Event(0), Event(2) }));
    }

    [Test]
    public void ATruncateThatFailsToo_IsRetriedBeforeTheNextWrite()
    {
        var path = NewLog();
        FaultyStream? faulty = null;
        using (var log = new OnlineEventLog(path, null, f => faulty = new FaultyStream(f)))
        {
            log.Append(Event(0));
            faulty!.BytesLeft = 20;
            faulty.FailSetLength = true;
            Assert.Throws<OnlineLogWriteException>(() => log.Append(Event(1)));
            Assert.That(new FileInfo(path).Length, Is.EqualTo(OnlineEventLog.HeaderSize + OnlineEventLog.RecordSize + 20), "the torn bytes are still there");
            faulty.BytesLeft = null;
            faulty.FailSetLength = false;
            Assert.That(log.Append(Event(2)), Is.EqualTo(2));
        }

        Assert.That(OnlineEventLog.ReadAll(path), Is.EqualTo(new[] { Event(0), Event(2) }));
    }

    [Test]
    public async Task LogListen_OnAFullDisk_IsResourceExhausted_AndReadsKeepServing()
    {
        var path = NewLog();
        FaultyStream? faulty = null;
        var config = ServiceData.Config(ServiceData.CopyArtifacts(), onlineLog: path);
        await using var service = await RunningService.StartAsync(config, b => b.Services.AddSingleton<IListenLog>(_ => new OnlineEventLog(path, null, f => faulty = new FaultyStream(f))));
        var track = (await service.Client.GetPopularAsync(1))[0].TrackId;
        Assert.That(await service.Client.LogListenAsync(5, track), Is.EqualTo(1));
        faulty!.BytesLeft = 10;
        var full = Assert.ThrowsAsync<RpcException>(() => service.Client.LogListenAsync(6, track));
        Assert.That(full!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(full.Status.Detail, Does.Contain("No space left on device").And.Contain("not stored"));
        Assert.That((await service.Client.GetRecommendationsAsync(6, 5)).Items, Has.Count.EqualTo(5), "reads keep serving");
        faulty.BytesLeft = null;
        Assert.That(await service.Client.LogListenAsync(7, track), Is.EqualTo(2));
        Assert.That(OnlineEventLog.ReadAll(path).Select(e => e.UserId), Is.EqualTo(new long[] { 5, 7 }));
    }

    [Test]
    public async Task LogListen_OnARealFullDisk_IsResourceExhausted_AndNothingUnacknowledgedIsStored()
    {
        using var disk = SmallDisk.Mount(64);
        var path = Path.Combine(disk.Path, "listens.log");
        var config = ServiceData.Config(ServiceData.CopyArtifacts(), onlineLog: path);
        await using var service = await RunningService.StartAsync(config);
        var track = (await service.Client.GetPopularAsync(1))[0].TrackId;
        Assert.That(await service.Client.LogListenAsync(1, track), Is.EqualTo(1));
        var filler = disk.Fill();

        // The log's last page has room for some records; the first that needs a new page fails.
        var acknowledged = new List<long> { 1 };
        var refused = 0;
        for (var user = 2; user < 400; user++)
        {
            try
            {
                Assert.That(await service.Client.LogListenAsync(user, track), Is.EqualTo(acknowledged.Count + 1));
                acknowledged.Add(user);
            }
            catch (RpcException e)
            {
                Assert.That(e.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), e.Status.Detail);
                refused++;
            }
        }

        Assert.That(refused, Is.GreaterThan(0), "the disk filled up");
        File.Delete(filler);
        Assert.That(await service.Client.LogListenAsync(1_000, track), Is.EqualTo(acknowledged.Count + 1));
        acknowledged.Add(1_000);
        Assert.That(OnlineEventLog.ReadAll(path).Select(e => e.UserId), Is.EqualTo(acknowledged), "exactly the acknowledged listens");
    }
}

/// <summary>A file stream that runs out of space after a byte budget (writing what fits first, as a real disk does), or fails a flush.</summary>
internal sealed class FaultyStream(FileStream inner) : Stream
{
    public long? BytesLeft { get; set; }
    public bool FailNextFlush { get; set; }
    public bool FailSetLength { get; set; }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => true;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (BytesLeft is { } left && left < buffer.Length)
        {
            inner.Write(buffer[..(int)left]);
            BytesLeft = 0;
            throw new IOException("No space left on device", 28);
        }

        inner.Write(buffer);
        BytesLeft -= buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
        if (FailNextFlush)
        {
            FailNextFlush = false;
            throw new IOException("Input/output error", 5);
        }

        inner.Flush(flushToDisk: true);
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value)
    {
        if (FailSetLength)
        {
            throw new IOException("Input/output error", 5);
        }

        inner.SetLength(value);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Collects formatted log messages.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    public List<string> Messages { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Messages)
        {
            Messages.Add(formatter(state, exception));
        }
    }
}
