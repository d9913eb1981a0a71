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
/// (online quality, measured where the service runs). Bounded and allocated once: a direct-mapped
/// table of <see cref="Slots"/> slots by user id, a newer user taking an older one's slot, each
/// slot holding the user, a count and the first <see cref="MaxTracks"/> raw track ids (at most
/// 2³¹−1, as 32-bit values) in flat arrays: 80 B per slot, 80 MiB at the default 1,048,576 slots,
/// whatever the traffic. Remembering allocates nothing (the hot path's answers are not kept
/// alive as objects). Each slot is guarded by a sequence number (odd while written): a writer
/// takes it with one compare-exchange, a reader retries when it changed under it, so a reader
/// never sees half a list and never blocks a writer.
/// </summary>
public sealed class ServedLists
{
    public const int DefaultSlots = 1 << 20;

    /// <summary>Tracks remembered per list: the head of longer lists (a default answer has 10).</summary>
    public const int MaxTracks = 16;

    /// <summary>Bytes per slot: user 8, sequence 4, count 4, tracks 4 × <see cref="MaxTracks"/>.</summary>
    public const int BytesPerSlot = 8 + 4 + 4 + (4 * MaxTracks);

    private readonly long[] _users;
    private readonly int[] _sequences;
    private readonly int[] _counts;
    private readonly int[] _tracks;

    /// <summary>64 − log2(slots): the top bits of the hash pick the slot.</summary>
    private readonly int _shift;

    public ServedLists(int slots = DefaultSlots)
    {
        if (slots < 1 || (slots & (slots - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(slots), slots, "a power of two");
        }

        // Pinned: 80 MB made once for the process's life, which the compaction after every swap
        // need not copy (a 20-minute soak showed no shorter collection for it: docs/reliability.md).
        _users = GC.AllocateArray<long>(slots, pinned: true);
        _sequences = GC.AllocateArray<int>(slots, pinned: true);
        _counts = GC.AllocateArray<int>(slots, pinned: true);
        _tracks = GC.AllocateArray<int>(slots * MaxTracks, pinned: true);
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)slots);
    }

    public int Slots => _users.Length;

    /// <summary>Remembers the raw track ids just served to <paramref name="user"/>, replacing the user's previous list.</summary>
    public void Remember(long user, ReadOnlySpan<int> tracks)
    {
        var slot = Slot(user);
        ref var sequence = ref _sequences[slot];
        int taken;
        var spin = new SpinWait();
        while (((taken = Volatile.Read(ref sequence)) & 1) != 0 || Interlocked.CompareExchange(ref sequence, taken + 1, taken) != taken)
        {
            spin.SpinOnce(); // another request is writing this slot: a few hundred nanoseconds
        }

        var n = Math.Min(tracks.Length, MaxTracks);
        _users[slot] = user;
        _counts[slot] = n;
        tracks[..n].CopyTo(_tracks.AsSpan(slot * MaxTracks, MaxTracks));
        Volatile.Write(ref sequence, taken + 2); // release: the list is whole before the even number shows
    }

    /// <summary>Whether <paramref name="track"/> was in the last list served to <paramref name="user"/>.</summary>
    public ListenOutcome Classify(long user, long track)
    {
        var slot = Slot(user);
        ref var sequence = ref _sequences[slot];
        var spin = new SpinWait();
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var before = Volatile.Read(ref sequence);
            if (before == 0)
            {
                return ListenOutcome.Unserved; // never written
            }

            if ((before & 1) == 0)
            {
                var owner = _users[slot];
                var hit = track is >= 0 and <= int.MaxValue && _tracks.AsSpan(slot * MaxTracks, Math.Clamp(_counts[slot], 0, MaxTracks)).Contains((int)track);
                Interlocked.MemoryBarrier(); // the reads above complete before the sequence is read again
                if (Volatile.Read(ref sequence) == before)
                {
                    return owner != user ? ListenOutcome.Unserved : hit ? ListenOutcome.Hit : ListenOutcome.Miss;
                }
            }

            spin.SpinOnce();
        }

        return ListenOutcome.Unserved; // rewritten all the while: counted as not knowing
    }

    /// <summary>Users remembered now (slots written; a scan, about a millisecond at the default size: for the console, not requests) and the table's bytes (fixed).</summary>
    public (long Users, long Bytes) Footprint()
    {
        long users = 0;
        foreach (var sequence in _sequences)
        {
            users += sequence != 0 ? 1 : 0;
        }

        return (users, (long)Slots * BytesPerSlot);
    }

    /// <summary>Fibonacci hashing: neighbouring user ids land in unrelated slots (one slot: a shift of 64 is 0 in C#, the mask keeps 0).</summary>
    private int Slot(long user) => (int)(((ulong)user * 0x9E3779B97F4A7C15UL) >> _shift) & (_users.Length - 1);
}
