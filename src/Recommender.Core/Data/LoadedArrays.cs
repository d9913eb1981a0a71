namespace Recommender.Data;

/// <summary>
/// Where the arrays an artifact is read into are allocated. Inside <see cref="OnPinnedHeap"/>
/// (a serving snapshot's load) they go on the pinned object heap: the collector never moves them,
/// so the compacting collection after a swap only moves the small objects between them and hands
/// the replaced snapshot's memory back without copying the live one (docs/reliability.md, the
/// soak). Elsewhere (training, tools) they are ordinary arrays that compaction may move.
/// </summary>
public static class LoadedArrays
{
    // Flows into the Parallel.Invoke tasks a snapshot load starts (the execution context does).
    private static readonly AsyncLocal<bool> s_pinned = new();

    /// <summary>Arrays read until the scope ends go on the pinned object heap.</summary>
    public static Scope OnPinnedHeap()
    {
        var outer = s_pinned.Value;
        s_pinned.Value = true;
        return new Scope(outer);
    }

    /// <summary>Whether arrays read now go on the pinned object heap.</summary>
    public static bool Pinned => s_pinned.Value;

    /// <summary>A zeroed array of <paramref name="length"/> elements, pinned inside <see cref="OnPinnedHeap"/>.</summary>
    public static T[] New<T>(long length)
        where T : unmanaged =>
        s_pinned.Value ? GC.AllocateArray<T>(checked((int)length), pinned: true) : new T[length];

    public readonly struct Scope(bool outer) : IDisposable
    {
        public void Dispose() => s_pinned.Value = outer;
    }
}
