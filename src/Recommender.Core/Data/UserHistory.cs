
namespace Recommender.Data;

/// <summary>
/// Every user's listened items (dense indexes) as raw CSR arrays: the serving layer loads it in
/// one read to exclude what a user has heard.
/// </summary>
public static class UserHistory
{
    public const string FileName = FileNames.UserHistory;

    public static void Save(string path, EventLog events) =>
        BinaryArtifact.Write(path, Format, [events.NumUsers, events.NumEvents], w =>
        {
            w.Array<int>(events.UserOffsets);
            w.Array<int>(events.Items);
        });

    public static (ReadOnlyMemory<int> Offsets, ReadOnlyMemory<int> Items) Load(string path, TableMemory? memory = null)
    {
        using var r = BinaryArtifact.Open(path, Format);
        var users = r.HeaderInt(0, "users");
        var events = r.HeaderInt(1, "events");
        var offsets = r.Array<int>(users + 1L, "user offsets", memory ?? TableMemory.Managed);
        var items = r.Array<int>(events, "items", memory ?? TableMemory.Managed);
        r.End();
        var o = offsets.Span;
        if (o[0] != 0 || o[users] != events)
        {
            throw new DataException(path, null, $"user offsets cover {o[0]}..{o[users]}, not 0..{events}");
        }

        return (offsets, items);
    }

    public const string DaysFileName = FileNames.ListenDays;

    /// <summary>
    /// Writes the day of every listen, in user_history.bin's order (days since 1970-01-01): not
    /// loaded by serving, only a user's slice is read when someone inspects them.
    /// </summary>
    public static void SaveDays(string path, EventLog events)
    {
        var offsets = events.UserOffsets; // the log as read: contiguous, in user_history.bin's order
        BinaryArtifact.Write(path, DaysFormat, [events.NumUsers, events.NumEvents], w => w.Array<ushort>(events.Days.AsSpan(0, offsets[^1])));
    }

    /// <summary>The days of events [from, from + destination.Length) of <see cref="SaveDays"/>' file, which must hold <paramref name="events"/> events.</summary>
    public static void ReadDays(string path, long events, long from, Span<ushort> destination)
    {
        using var r = BinaryArtifact.Open(path, DaysFormat);
        if (r.Header[1] != events)
        {
            throw new DataException(path, null, $"{r.Header[1]} listen days; user_history.bin holds {events} listens");
        }

        r.ReadRange(events, "days", from, destination);
    }

    /// <summary>listen_days.bin: header users, events; then each listen's day (u16, days since 1970-01-01) in user_history.bin's order.</summary>
    public static BinaryFormat DaysFormat { get; } = new("a listen-days table", 0x53594144, 1, 2); // "DAYS"

    /// <summary>user_history.bin: header users, events; then CSR offsets (users + 1) and dense item indexes.</summary>
    public static BinaryFormat Format { get; } = new("a user history", 0x54534948, 2, 2); // "HIST"
}
