using Recommender.Serving;

namespace Recommender.Host.State;

/// <summary>
/// The serving snapshot, replaced as a whole by one reference exchange: a request reads
/// <see cref="Current"/> once and works on that snapshot to the end. Who loads snapshots (the
/// start, the follower, a retrain) lives above this; everyone reads it.
/// </summary>
public sealed class SnapshotHolder
{
    private ServingSnapshot? _current;

    public ServingSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Publishes a new snapshot; returns the one it replaced.</summary>
    public ServingSnapshot? Swap(ServingSnapshot next) => Interlocked.Exchange(ref _current, next);

    /// <summary>Publishes a new snapshot; returns a weak reference to the one it replaced, so that the caller does not keep it alive while it collects.</summary>
    public WeakReference? Replace(ServingSnapshot next) => Swap(next) is { } replaced ? new WeakReference(replaced) : null;
}
