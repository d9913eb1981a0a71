using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;

namespace Recommender.Serving;

/// <summary>
/// Listens logged through the API: appended to a durable log (on disk before the call is
/// acknowledged) and kept in memory as each user's latest listens. Replayed at start, so a restart
/// loses no acknowledged event; the nightly retrain reads the same file.
/// <para>
/// Format: an 8-byte header, then fixed 28-byte records (user, track, UTC ticks as little-endian
/// int64, then the CRC-32 of those 24 bytes). Fixed records keep sequence numbers dense (record i is
/// sequence i + 1) and make a torn or corrupt tail detectable: at open it is cut off, with a warning.
/// A record is written at the end of the last good one, never appended after a failure, and a failed
/// write is truncated away, so an unacknowledged listen is never stored.
/// </para>
/// </summary>
public sealed partial class OnlineEventLog : IListenLog
{
    public const int RecentPerUser = 50;
    public const int RecordSize = 28;
    private const int PayloadSize = 24;
    private static ReadOnlySpan<byte> Header => "RECLOG1\n"u8;
    public static int HeaderSize => Header.Length;

    private readonly object _writeLock = new();
    private readonly Stream _file;
    private readonly ILogger _logger;
    private readonly RecentListens _recent = new();
    private readonly byte[] _record = new byte[RecordSize];
    private long _count;

    /// <summary>Bytes up to the end of the last acknowledged record; everything after it is garbage to overwrite or cut.</summary>
    private long _goodLength;

    /// <summary>A failed write left bytes after <see cref="_goodLength"/> that could not be truncated yet.</summary>
    private bool _tailDirty;

    public OnlineEventLog(string path, ILogger? logger = null)
        : this(path, logger, null)
    {
    }

    /// <param name="wrap">Test seam: wraps the opened file (fault injection: full disk, failing flush).</param>
    internal OnlineEventLog(string path, ILogger? logger, Func<FileStream, Stream>? wrap)
    {
        Path = System.IO.Path.GetFullPath(path);
        _logger = logger ?? NullLogger.Instance;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        if (File.Exists(Path) && IsLegacyText(Path))
        {
            ConvertLegacyText(Path);
        }

        // Unbuffered: every record goes to the OS in the call that writes it.
        var file = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        _file = wrap is null ? file : wrap(file);
        try
        {
            Recover();
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public string Path { get; }
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Writes the event and forces it to disk; returns its 1-based sequence number in the log.</summary>
    /// <exception cref="OnlineLogWriteException">The event could not be made durable; nothing of it is kept.</exception>
    public long Append(OnlineEvent e)
    {
        lock (_writeLock)
        {
            var offset = _goodLength;
            try
            {
                if (_tailDirty)
                {
                    Truncate(offset);
                }

                Encode(e, _record);
                _file.Position = offset;
                _file.Write(_record);
                Sync();
            }
            catch (IOException error)
            {
                Rollback(offset);
                throw new OnlineLogWriteException(Path, error);
            }
            catch (UnauthorizedAccessException error)
            {
                Rollback(offset);
                throw new OnlineLogWriteException(Path, error);
            }

            _goodLength = offset + RecordSize;
            Remember(e);
            return Interlocked.Increment(ref _count);
        }
    }

    /// <summary>The user's latest online listens (raw track ids), oldest first.</summary>
    public long[] Recent(long userId) => _recent.Of(userId);

    public ValueTask<long> AppendAsync(OnlineEvent e, CancellationToken cancellation = default) => ValueTask.FromResult(Append(e));

    /// <summary>The log is already a file the retrain reads.</summary>
    public string ExportForRetrain(string folder) => Path;

    /// <summary>
    /// Every valid event of a log file, in order; reading stops at the first torn or corrupt record
    /// (the service cuts such a tail when it opens the log). Reads the older text format too.
    /// </summary>
    public static IEnumerable<OnlineEvent> ReadAll(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        if (IsLegacyText(path))
        {
            return ReadLegacyText(path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var events = new List<OnlineEvent>();
        Scan(stream, path, events);
        return events;
    }

    private void Recover()
    {
        if (_file.Length == 0)
        {
            _file.Write(Header);
            Sync();
            _goodLength = HeaderSize;
            return;
        }

        var events = new List<OnlineEvent>();
        _goodLength = Scan(_file, Path, events);
        foreach (var e in events)
        {
            Remember(e);
        }

        _count = events.Count;
        var length = _file.Length;
        if (length > _goodLength)
        {
            LogTailCut(_logger, Path, length - _goodLength, _goodLength, events.Count);
            Truncate(_goodLength);
        }
    }

    /// <summary>Reads records from the start; returns the end offset of the last valid one.</summary>
    private static long Scan(Stream stream, string path, List<OnlineEvent> events)
    {
        stream.Position = 0;
        Span<byte> header = stackalloc byte[HeaderSize];
        if (stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize || !header.SequenceEqual(Header))
        {
            throw new DataException(path, null, $"not an online event log (expected the header '{System.Text.Encoding.ASCII.GetString(Header).TrimEnd()}')");
        }

        var buffer = new byte[RecordSize * 4096];
        long good = HeaderSize;
        while (true)
        {
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            for (var at = 0; at + RecordSize <= read; at += RecordSize)
            {
                if (!TryDecode(buffer.AsSpan(at, RecordSize), out var e))
                {
                    return good;
                }

                events.Add(e);
                good += RecordSize;
            }

            if (read < buffer.Length)
            {
                return good;
            }
        }
    }

    private static void Encode(OnlineEvent e, Span<byte> record)
    {
        BinaryPrimitives.WriteInt64LittleEndian(record, e.UserId);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], e.TrackId);
        BinaryPrimitives.WriteInt64LittleEndian(record[16..], e.TimeUtc.Ticks);
        BinaryPrimitives.WriteUInt32LittleEndian(record[PayloadSize..], Crc32.HashToUInt32(record[..PayloadSize]));
    }

    private static bool TryDecode(ReadOnlySpan<byte> record, out OnlineEvent e)
    {
        e = default;
        if (Crc32.HashToUInt32(record[..PayloadSize]) != BinaryPrimitives.ReadUInt32LittleEndian(record[PayloadSize..]))
        {
            return false;
        }

        var ticks = BinaryPrimitives.ReadInt64LittleEndian(record[16..]);
        if (ticks is < 0 || ticks > DateTime.MaxValue.Ticks)
        {
            return false;
        }

        e = new OnlineEvent(BinaryPrimitives.ReadInt64LittleEndian(record), BinaryPrimitives.ReadInt64LittleEndian(record[8..]), new DateTime(ticks, DateTimeKind.Utc));
        return true;
    }

    private void Sync()
    {
        if (_file is FileStream fs)
        {
            fs.Flush(flushToDisk: true);
        }
        else
        {
            _file.Flush();
        }
    }

    private void Truncate(long length)
    {
        _file.SetLength(length);
        Sync();
        _tailDirty = false;
    }

    /// <summary>Cuts whatever a failed write left; if even that fails, the next append cuts it first.</summary>
    private void Rollback(long offset)
    {
        try
        {
            Truncate(offset);
        }
        catch (IOException)
        {
            _tailDirty = true;
        }
        catch (UnauthorizedAccessException)
        {
            _tailDirty = true;
        }
    }

    private void Remember(OnlineEvent e) => _recent.Add(e);

    /// <summary>Logs written before the binary format: "user,track,ISO time" lines.</summary>
    private static bool IsLegacyText(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var first = stream.ReadByte();
        return first is >= '0' and <= '9';
    }

    private static List<OnlineEvent> ReadLegacyText(string path)
    {
        var events = new List<OnlineEvent>();
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split(',');
            if (parts.Length == 3
                && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var user)
                && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var track)
                && DateTime.TryParse(parts[2], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time))
            {
                events.Add(new OnlineEvent(user, track, time.ToUniversalTime()));
            }
        }

        return events;
    }

    private static void ConvertLegacyText(string path) => WriteAll(path, ReadLegacyText(path));

    /// <summary>Writes a whole log file (a temporary file, flushed, then renamed): legacy conversion, a shared stream's export.</summary>
    public static void WriteAll(string path, IEnumerable<OnlineEvent> events)
    {
        AtomicFile.Write(path, temp =>
        {
            using var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            file.Write(Header);
            var record = new byte[RecordSize];
            foreach (var e in events)
            {
                Encode(e, record);
                file.Write(record);
            }

            file.Flush(flushToDisk: true);
        });
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            _file.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "online log {Path}: cut {Bytes} bytes of torn or corrupt records at offset {Offset}; {Events} valid events kept")]
    private static partial void LogTailCut(ILogger logger, string path, long bytes, long offset, int events);
}

/// <summary>A listen could not be made durable (disk full, I/O error); nothing of it was kept.</summary>
public sealed class OnlineLogWriteException(string path, Exception inner)
    : Exception($"online log {path}: the listen was not stored: {inner.Message}", inner)
{
    public string FilePath { get; } = path;

    /// <summary>ENOSPC / ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL / EDQUOT.</summary>
    public bool DiskFull => InnerException is IOException { HResult: 28 or 122 or unchecked((int)0x80070070) or unchecked((int)0x80070027) };
}
