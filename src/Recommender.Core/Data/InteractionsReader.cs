using Microsoft.Extensions.Logging;
using Recommender.Numerics;

namespace Recommender.Data;

public sealed record InteractionsQuality
{
    public long Rows { get; init; }
    public long UnknownTrackEvents { get; init; }
    public long DuplicateEvents { get; init; }
    public long DuplicateEventsDropped { get; init; }
    public long Users { get; init; }
    public int FirstDay { get; init; }
    public int LastDay { get; init; }
    public int DistinctDays { get; init; }

    /// <summary>Events before the training window (<c>--window-days</c>), left out; 0 without a window.</summary>
    public long EventsBeforeWindow { get; init; }
}

/// <summary>Streams interactions.parquet row group by row group into an <see cref="EventLog"/>.</summary>
public static partial class InteractionsReader
{
    /// <param name="dropDuplicates">When false (the default), a repeated (user_id, track_id) pair is an error.</param>
    /// <param name="extra">Events logged online since the export; they follow each user's history and a repeat of a track is dropped.</param>
    /// <param name="windowDays">when given, only the events of the latest this-many days of the log (online listens included) are kept; users with none are left out.</param>
    /// <param name="releaseMemory">run each time a raw column has been placed and let go, so that the next column's array takes its memory instead of growing the heap (a gigabyte a column at full size).</param>
    public static (EventLog Log, InteractionsQuality Quality) Read(string dataDir, IdMap items, ILogger logger, bool dropDuplicates = false, IReadOnlyList<OnlineEvent>? extra = null, int? windowDays = null, Action? releaseMemory = null)
    {
        var path = Path.Combine(dataDir, FileNames.Interactions);
        int[] users, itemsRaw, seqs;
        ushort[] days;
        long rows, unknown = 0;
        using (var input = ParquetInput.Open(path))
        {
            input.RequireInteger(Columns.UserId);
            input.RequireInteger(Columns.TrackId);
            input.RequireInteger(Columns.TrackSeq);
            input.RequireDate(Columns.StartedAt);
            rows = input.NumRows;
            if (rows > Array.MaxLength)
            {
                throw new DataException(path, null, $"{rows} rows exceed what one process holds ({Array.MaxLength})");
            }

            users = new int[rows];
            itemsRaw = new int[rows];
            days = new ushort[rows];
            seqs = new int[rows];
            var starts = new long[input.RowGroupRows.Length + 1];
            for (var g = 0; g < input.RowGroupRows.Length; g++)
            {
                starts[g + 1] = starts[g] + input.RowGroupRows[g];
            }

            var done = 0;
            var groups = input.RowGroupRows.Length;
            try
            {
                Parallel.For(0, groups, Cores.Options(),
                    () => (Input: ParquetInput.Open(path), Buffer: Array.Empty<long>(), Unknown: 0L),
                    (g, _, local) =>
                    {
                        var n = (int)local.Input.RowGroupRows[g];
                        if (local.Buffer.Length < n)
                        {
                            local.Buffer = new long[n];
                        }

                        var at = (int)starts[g];
                        var buffer = local.Buffer.AsSpan(0, n);
                        ReadInts(local.Input, g, Columns.UserId, buffer, users.AsSpan(at, n), path);
                        ReadInts(local.Input, g, Columns.TrackSeq, buffer, seqs.AsSpan(at, n), path);
                        Check(local.Input.ReadDays(g, Columns.StartedAt, buffer), path, Columns.StartedAt, g);
                        for (var i = 0; i < n; i++)
                        {
                            days[at + i] = Day(buffer[i], path, Columns.StartedAt, $"row group {g}");
                        }

                        Check(local.Input.ReadIntegers(g, Columns.TrackId, buffer), path, Columns.TrackId, g);
                        for (var i = 0; i < n; i++)
                        {
                            var index = items.IndexOf(buffer[i]);
                            local.Unknown += index < 0 ? 1 : 0;
                            itemsRaw[at + i] = index;
                        }

                        var finished = Interlocked.Increment(ref done);
                        if (finished % Math.Max(1, groups / 10) == 0)
                        {
                            LogProgress(logger, finished, groups);
                        }

                        return local;
                    },
                    local =>
                    {
                        Interlocked.Add(ref unknown, local.Unknown);
                        local.Input.Dispose();
                    });
            }
            catch (AggregateException e) when (e.InnerExceptions.OfType<DataException>().FirstOrDefault() is { } dataError)
            {
                // Report the bad input itself, not the parallel loop around it.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(dataError);
            }
        }

        if (extra is { Count: > 0 })
        {
            var at = users.Length;
            Array.Resize(ref users, at + extra.Count);
            Array.Resize(ref itemsRaw, at + extra.Count);
            Array.Resize(ref days, at + extra.Count);
            Array.Resize(ref seqs, at + extra.Count);
            var epoch = new DateOnly(1970, 1, 1).DayNumber;
            for (var i = 0; i < extra.Count; i++)
            {
                var e = extra[i];
                users[at + i] = checked((int)e.UserId);
                var item = items.IndexOf(e.TrackId);
                unknown += item < 0 ? 1 : 0;
                itemsRaw[at + i] = item;
                days[at + i] = Day(DateOnly.FromDateTime(e.TimeUtc).DayNumber - epoch, "online listens", "time", $"listen {i} of user {e.UserId}");
                seqs[at + i] = OnlineSeqBase + i; // after every exported listen, in logged order
            }

            rows += extra.Count;
            dropDuplicates = true;
        }

        long beforeWindow = 0;
        if (windowDays is { } window && rows > 0)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(window, 1, nameof(windowDays));
            var lastDay = int.MinValue;
            for (var e = 0; e < rows; e++)
            {
                lastDay = Math.Max(lastDay, days[e]);
            }

            var from = lastDay - window + 1;

            // Compacted in place: the rows before the window are gone before users are mapped, so a
            // user heard only before it is not a user of this run.
            var at = 0;
            for (var e = 0; e < rows; e++)
            {
                if (days[e] >= from)
                {
                    (users[at], itemsRaw[at], days[at], seqs[at]) = (users[e], itemsRaw[e], days[e], seqs[e]);
                    at++;
                }
                else
                {
                    unknown -= itemsRaw[e] < 0 ? 1 : 0; // counted once, as outside the window
                }
            }

            beforeWindow = rows - at;
            rows = at;
            LogWindow(logger, window, beforeWindow, rows);
        }

        var userMap = DenseUsers(users, (int)rows);
        LogMapped(logger, rows, userMap.Count, unknown);

        // Counting sort by user; events of unknown tracks are dropped here (their user set to -1).
        var offsets = new int[userMap.Count + 1];
        for (long e = 0; e < rows; e++)
        {
            if (itemsRaw[e] >= 0)
            {
                offsets[users[e] + 1]++;
            }
            else
            {
                users[e] = -1;
            }
        }

        Csr.CountsToOffsets(offsets);

        // One column at a time, each raw column let go once placed: at most the four raw columns
        // and one sorted one are held (4.5 GB at full size), not all seven (6.2 GB).
        var kept = offsets[^1];
        T[] Place<T>(ref T[] raw)
        {
            var sorted = new T[kept];
            var next = offsets[..^1].ToArray();
            for (long e = 0; e < rows; e++)
            {
                if (users[e] >= 0)
                {
                    sorted[next[users[e]]++] = raw[e];
                }
            }

            raw = [];
            releaseMemory?.Invoke();
            return sorted;
        }

        var outItems = Place(ref itemsRaw);
        var outDays = Place(ref days);
        var outSeqs = Place(ref seqs);
        users = [];
        var duplicates = SortAndCountDuplicates(offsets, outItems, outDays, outSeqs);
        if (duplicates > 0 && !dropDuplicates)
        {
            throw new DataException(path, $"{Columns.UserId}, {Columns.TrackId}", $"{duplicates} duplicate events: a (user, track) pair must occur once");
        }

        if (extra is { Count: > 0 })
        {
            // track_seq is the rank in the user's history: renumber now that online listens joined it.
            Parallel.For(0, userMap.Count, Cores.Options(), u =>
            {
                for (var e = offsets[u]; e < offsets[u + 1]; e++)
                {
                    outSeqs[e] = e - offsets[u] + 1;
                }
            });
        }

        var log = new EventLog(userMap, items.Count, offsets, outItems, outDays, outSeqs);
        if (duplicates > 0)
        {
            log = DropDuplicates(log);
        }

        var (first, last) = log.DayRange();
        var seenDay = new bool[Math.Max(0, last - first + 1)];
        foreach (var d in log.Days)
        {
            seenDay[d - first] = true;
        }

        return (log, new InteractionsQuality
        {
            Rows = rows,
            UnknownTrackEvents = unknown,
            DuplicateEvents = duplicates,
            DuplicateEventsDropped = log.NumEvents < kept ? kept - log.NumEvents : 0,
            Users = userMap.Count,
            FirstDay = first,
            LastDay = last,
            DistinctDays = seenDay.Count(x => x),
            EventsBeforeWindow = beforeWindow,
        });
    }

    private const int OnlineSeqBase = 1 << 30;

    private static void ReadInts(ParquetInput input, int g, string column, Span<long> buffer, Span<int> dest, string path)
    {
        Check(input.ReadIntegers(g, column, buffer), path, column, g);
        for (var i = 0; i < dest.Length; i++)
        {
            var v = buffer[i];
            if (v is < int.MinValue or > int.MaxValue)
            {
                throw new DataException(path, column, $"value {v} in row group {g} does not fit in 32 bits");
            }

            dest[i] = (int)v;
        }
    }

    private static void Check(long nulls, string path, string column, int g)
    {
        if (nulls > 0)
        {
            throw new DataException(path, column, $"{nulls} nulls in row group {g}");
        }
    }

    /// <summary>Replaces the first <paramref name="count"/> raw user ids by dense indexes in place and returns the map.</summary>
    private static IdMap DenseUsers(int[] all, int count)
    {
        var users = all.AsSpan(0, count);
        int min = int.MaxValue, max = int.MinValue;
        foreach (var u in users)
        {
            min = Math.Min(min, u);
            max = Math.Max(max, u);
        }

        if (users.Length == 0)
        {
            return IdMap.FromSorted([]);
        }

        // User ids are small (max 1.37M with gaps), so a direct remap table is cheapest.
        var span = (long)max - min + 1;
        if (span <= 1 << 28)
        {
            var remap = new int[span];
            foreach (var u in users)
            {
                remap[u - min] = 1;
            }

            var raw = new List<long>();
            for (var i = 0; i < remap.Length; i++)
            {
                if (remap[i] != 0)
                {
                    remap[i] = raw.Count;
                    raw.Add(i + (long)min);
                }
            }

            Parallel.For(0, (count + 65535) / 65536, Cores.Options(), chunk =>
            {
                var end = Math.Min(count, (chunk + 1) * 65536);
                for (var e = chunk * 65536; e < end; e++)
                {
                    all[e] = remap[all[e] - min];
                }
            });
            return IdMap.FromSorted([.. raw]);
        }

        var map = IdMap.FromIds(all.Take(count).Select(u => (long)u));
        for (var e = 0; e < users.Length; e++)
        {
            users[e] = map.IndexOf(users[e]);
        }

        return map;
    }

    /// <summary>A day number as the log holds it (16 bits from 1970-01-01), or a clear error naming where it came from.</summary>
    private static ushort Day(long day, string file, string column, string where)
    {
        if (day is >= 0 and <= EventLog.MaxDay)
        {
            return (ushort)day;
        }

        var epoch = DateOnly.FromDateTime(DateTime.UnixEpoch);
        var date = epoch.AddDays((int)Math.Clamp(day, -700_000, 2_000_000)); // within DateOnly's years 1..9999
        throw new DataException(file, column, $"{where}: {date:yyyy-MM-dd} is outside the days the log holds ({epoch:yyyy-MM-dd} to {epoch.AddDays(EventLog.MaxDay):yyyy-MM-dd})");
    }

    /// <summary>Orders each user's events by track_seq and counts repeated items.</summary>
    private static long SortAndCountDuplicates(int[] offsets, int[] items, ushort[] days, int[] seqs)
    {
        long duplicates = 0;
        Parallel.For(0, offsets.Length - 1, Cores.Options(), () => (Scratch: new int[64], Packed: new long[64], Dups: 0L), (u, _, local) =>
        {
            var start = offsets[u];
            var n = offsets[u + 1] - start;
            var sorted = true;
            for (var i = 1; i < n && sorted; i++)
            {
                sorted = seqs[start + i] >= seqs[start + i - 1];
            }

            if (!sorted)
            {
                if (local.Packed.Length < n)
                {
                    local.Packed = new long[n * 2];
                }

                var packed = local.Packed.AsSpan(0, n);
                for (var i = 0; i < n; i++)
                {
                    packed[i] = ((long)days[start + i] << 32) | (uint)items[start + i];
                }

                var keys = seqs.AsSpan(start, n);
                keys.Sort(packed);
                for (var i = 0; i < n; i++)
                {
                    days[start + i] = (ushort)(packed[i] >> 32);
                    items[start + i] = (int)packed[i];
                }
            }

            if (local.Scratch.Length < n)
            {
                local.Scratch = new int[n * 2];
            }

            var scratch = local.Scratch.AsSpan(0, n);
            items.AsSpan(start, n).CopyTo(scratch);
            scratch.Sort();
            for (var i = 1; i < n; i++)
            {
                local.Dups += scratch[i] == scratch[i - 1] ? 1 : 0;
            }

            return local;
        }, local => Interlocked.Add(ref duplicates, local.Dups));
        return duplicates;
    }

    /// <summary>Keeps the first listen of every (user, item) pair.</summary>
    private static EventLog DropDuplicates(EventLog log)
    {
        var logSeqs = log.Seqs ?? throw new ArgumentException("duplicates are dropped from the log as read, which holds track_seq", nameof(log));
        var offsets = new int[log.NumUsers + 1];
        var items = new List<int>(log.NumEvents);
        var days = new List<ushort>(log.NumEvents);
        var seqs = new List<int>(log.NumEvents);
        var seen = new HashSet<int>();
        for (var u = 0; u < log.NumUsers; u++)
        {
            seen.Clear();
            for (int e = log.Start(u), end = log.End(u); e < end; e++)
            {
                if (seen.Add(log.Items[e]))
                {
                    items.Add(log.Items[e]);
                    days.Add(log.Days[e]);
                    seqs.Add(logSeqs[e]);
                }
            }

            offsets[u + 1] = items.Count;
        }

        return new EventLog(log.Users, log.NumItems, offsets, [.. items], [.. days], [.. seqs]);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "interactions: read {Done}/{Total} row groups")]
    private static partial void LogProgress(ILogger logger, int done, int total);

    [LoggerMessage(Level = LogLevel.Information, Message = "interactions: the training window keeps the latest {Days} days: {Before} earlier events left out, {Kept} kept")]
    private static partial void LogWindow(ILogger logger, int days, long before, long kept);

    [LoggerMessage(Level = LogLevel.Information, Message = "interactions: {Rows} rows, {Users} users, {Unknown} events of unknown tracks dropped")]
    private static partial void LogMapped(ILogger logger, long rows, int users, long unknown);
}
