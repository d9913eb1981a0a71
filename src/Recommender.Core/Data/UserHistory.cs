
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

    public static (int[] Offsets, int[] Items) Load(string path)
    {
        using var r = BinaryArtifact.Open(path, Format);
        var users = r.HeaderInt(0, "users");
        var events = r.HeaderInt(1, "events");
        var offsets = r.Array<int>(users + 1L, "user offsets");
        var items = r.Array<int>(events, "items");
        r.End();
        if (offsets[0] != 0 || offsets[users] != events)
        {
            throw new DataException(path, null, $"user offsets cover {offsets[0]}..{offsets[users]}, not 0..{events}");
        }

        return (offsets, items);
    }

    /// <summary>user_history.bin: header users, events; then CSR offsets (users + 1) and dense item indexes.</summary>
    public static BinaryFormat Format { get; } = new("a user history", 0x54534948, 2, 2); // "HIST"
}
