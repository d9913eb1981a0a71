namespace Recommender.Serving;

/// <summary>How a logged listen relates to what was served to its user.</summary>
public enum ListenOutcome
{
    /// <summary>The track was in the last list served to the user.</summary>
    Hit,

    /// <summary>A list was served to the user and the track was not in it.</summary>
    Miss,

    /// <summary>No list is remembered for the user (never served here, or forgotten).</summary>
    Unserved,
}

/// <summary>
/// The last list served to each user, to count a later listen of one of its tracks as a hit
/// (online quality, measured where the service runs). Bounded: a direct-mapped table of
/// <see cref="Slots"/> entries by user id, a newer user taking an older one's slot, at most
/// <see cref="MaxTracks"/> tracks per list (raw ids, at most 2³¹−1, as 32-bit values). At the
/// default 1,048,576 slots, all taken by lists of 10: 8 MB of slot references and 96 B per user
/// (a 32 B entry and a 64 B array), 104 MB measured with 1,373,221 users served (every slot taken;
/// the users beyond the slots are forgotten as newer ones arrive); a replica serving fewer users
/// holds less. Entries are immutable and swapped in whole, so a reader never sees half a list.
/// </summary>
public sealed class ServedLists
{
    public const int DefaultSlots = 1 << 20;

    /// <summary>Tracks remembered per list: the head of longer lists.</summary>
    public const int MaxTracks = 100;

    private readonly Entry?[] _slots;

    /// <summary>64 − log2(slots): the top bits of the hash pick the slot.</summary>
    private readonly int _shift;

    public ServedLists(int slots = DefaultSlots)
    {
        if (slots < 1 || (slots & (slots - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(slots), slots, "a power of two");
        }

        _slots = new Entry?[slots];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)slots);
    }

    public int Slots => _slots.Length;

    /// <summary>Remembers the raw track ids just served to <paramref name="user"/>, replacing the user's previous list.</summary>
    public void Remember(long user, ReadOnlySpan<int> tracks)
    {
        var ids = tracks[..Math.Min(tracks.Length, MaxTracks)].ToArray();
        Volatile.Write(ref _slots[Slot(user)], new Entry(user, ids));
    }

    /// <summary>Whether <paramref name="track"/> was in the last list served to <paramref name="user"/>.</summary>
    public ListenOutcome Classify(long user, long track)
    {
        var entry = Volatile.Read(ref _slots[Slot(user)]);
        if (entry is null || entry.User != user)
        {
            return ListenOutcome.Unserved;
        }

        return track is >= 0 and <= int.MaxValue && Array.IndexOf(entry.Tracks, (int)track) >= 0 ? ListenOutcome.Hit : ListenOutcome.Miss;
    }

    /// <summary>
    /// Users remembered now and the memory their lists take with the slot array: 8 B per slot, and
    /// per user a 32 B entry and its array (24 B + 4 B per track, rounded up to 8), 96 B for a list
    /// of 10. A scan of the slots (about a millisecond at the default size): for the console, not requests.
    /// </summary>
    public (long Users, long Bytes) Footprint()
    {
        long users = 0, bytes = 8L * _slots.Length;
        foreach (var slot in _slots)
        {
            if (slot is { } entry) // a reference read is atomic: a whole entry or none
            {
                users++;
                bytes += 32 + ((24 + (4L * entry.Tracks.Length) + 7) & ~7L);
            }
        }

        return (users, bytes);
    }

    /// <summary>Fibonacci hashing: neighbouring user ids land in unrelated slots (one slot: a shift of 64 is 0 in C#, the mask keeps 0).</summary>
    private int Slot(long user) => (int)(((ulong)user * 0x9E3779B97F4A7C15UL) >> _shift) & (_slots.Length - 1);

    private sealed record Entry(long User, int[] Tracks);
}
