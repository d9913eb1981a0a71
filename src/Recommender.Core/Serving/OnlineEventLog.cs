using System.Collections.Concurrent;
using System.Globalization;

namespace Recommender.Serving;

public readonly record struct OnlineEvent(long UserId, long TrackId, DateTime TimeUtc);

/// <summary>
/// Listens logged through the API: appended to a durable text log (flushed to disk before the
/// call is acknowledged) and kept in memory as each user's latest listens. Replayed at start, so
/// a restart loses no acknowledged event; the nightly retrain reads the same file.
/// </summary>
public sealed class OnlineEventLog : IDisposable
{
    public const int RecentPerUser = 50;

    private readonly object _writeLock = new();
    private readonly FileStream _file;
    private readonly StreamWriter _writer;
    private readonly ConcurrentDictionary<long, UserListens> _users = new();
    private long _count;

    private sealed class UserListens
    {
        public readonly List<long> Tracks = [];
    }

    public OnlineEventLog(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        foreach (var e in ReadAll(Path))
        {
            Remember(e);
            _count++;
        }

        _file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(_file) { AutoFlush = false };
    }

    public string Path { get; }
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Appends and syncs the event; returns its 1-based sequence number in the log.</summary>
    public long Append(OnlineEvent e)
    {
        lock (_writeLock)
        {
            _writer.Write(e.UserId.ToString(CultureInfo.InvariantCulture));
            _writer.Write(',');
            _writer.Write(e.TrackId.ToString(CultureInfo.InvariantCulture));
            _writer.Write(',');
            _writer.Write(e.TimeUtc.ToString("O", CultureInfo.InvariantCulture));
            _writer.Write('\n');
            _writer.Flush();
            _file.Flush(flushToDisk: true);
            Remember(e);
            return Interlocked.Increment(ref _count);
        }
    }

    /// <summary>The user's latest online listens (raw track ids), oldest first.</summary>
    public long[] Recent(long userId)
    {
        if (!_users.TryGetValue(userId, out var listens))
        {
            return [];
        }

        lock (listens)
        {
            return [.. listens.Tracks];
        }
    }

    private void Remember(OnlineEvent e)
    {
        var listens = _users.GetOrAdd(e.UserId, _ => new UserListens());
        lock (listens)
        {
            listens.Tracks.Remove(e.TrackId);
            listens.Tracks.Add(e.TrackId);
            if (listens.Tracks.Count > RecentPerUser)
            {
                listens.Tracks.RemoveAt(0);
            }
        }
    }

    /// <summary>Every event in a log file; a torn last line (crash mid-write, never acknowledged) is skipped.</summary>
    public static IEnumerable<OnlineEvent> ReadAll(string path)
    {
        if (!File.Exists(path))
        {
            yield break;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split(',');
            if (parts.Length == 3
                && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var user)
                && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var track)
                && DateTime.TryParse(parts[2], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time))
            {
                yield return new OnlineEvent(user, track, time.ToUniversalTime());
            }
        }
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            _writer.Dispose();
            _file.Dispose();
        }
    }
}
