
namespace Recommender.Data;

/// <summary>
/// Every user's listened items (dense indexes) as raw CSR arrays: the serving layer loads it in
/// one read to exclude what a user has heard.
/// </summary>
public static class UserHistory
{
    public const string FileName = FileNames.UserHistory;
    private const int Magic = 0x54534948; // "HIST"

    public static void Save(string path, EventLog events) =>
        AtomicFile.Write(path, temp =>
        {
            using var stream = File.Create(temp);
            using var w = new BinaryWriter(stream);
            w.Write(Magic);
            w.Write(events.NumUsers);
            w.Write(events.NumEvents);
            w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(events.UserOffsets.AsSpan()));
            w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(events.Items.AsSpan()));
        });

    public static (int[] Offsets, int[] Items) Load(string path)
    {
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream);
        if (r.ReadInt32() != Magic)
        {
            throw new DataException(path, null, "not a user history file");
        }

        var users = r.ReadInt32();
        var events = r.ReadInt32();
        var offsets = new int[users + 1];
        var items = new int[events];
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(offsets.AsSpan()));
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(items.AsSpan()));
        return (offsets, items);
    }
}
