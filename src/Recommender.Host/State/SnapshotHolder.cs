using Recommender.Serving;

namespace Recommender.Host.State;

/// <summary>
/// The serving snapshot, replaced as a whole by one reference exchange. A request takes a
/// <see cref="Lease"/> and works on that snapshot to the end; the replaced snapshot's tables are
/// unmapped when the last lease on it ends (<see cref="ServingSnapshot"/>). Who loads snapshots
/// (the start, the follower, a retrain) lives above this; everyone reads it.
/// </summary>
public sealed class SnapshotHolder
{
    private ServingSnapshot? _current;

    /// <summary>
    /// The serving snapshot, for its ids, names and figures only: once replaced its tables may be
    /// unmapped under the caller. Read tables under <see cref="Lease"/>.
    /// </summary>
    public ServingSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>The serving snapshot, kept whole until the lease is disposed; an empty lease before the first load.</summary>
    public SnapshotLease Lease()
    {
        while (Volatile.Read(ref _current) is { } snapshot)
        {
            if (snapshot.TryRetain())
            {
                return new SnapshotLease(snapshot);
            }

            // Replaced and released between the read and the retain: the next read sees its successor.
        }

        return default;
    }

    /// <summary>
    /// Publishes a new snapshot (whose one reference passes to the holder) and lets go of the one it
    /// replaced, returned so that the caller can report when its last reader has finished
    /// (<see cref="ServingSnapshot.Released"/>); the caller must not read its tables.
    /// </summary>
    public ServingSnapshot? Replace(ServingSnapshot next)
    {
        var replaced = Interlocked.Exchange(ref _current, next);
        replaced?.Release();
        return replaced;
    }
}

/// <summary>A reference to a snapshot held for one request (<see cref="SnapshotHolder.Lease"/>).</summary>
public readonly struct SnapshotLease(ServingSnapshot? snapshot) : IDisposable
{
    /// <summary>The leased snapshot; null when none was loaded.</summary>
    public ServingSnapshot? Snapshot { get; } = snapshot;

    public void Dispose() => Snapshot?.Release();
}
