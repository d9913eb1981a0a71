using System.Collections.Concurrent;

namespace Recommender.Numerics;

/// <summary>
/// Scratch arrays of one length for a hot loop run on many threads at once (a request, a
/// parallel-for body), owned by the object whose size they match: they are freed with it (a
/// swapped-out snapshot's models take theirs along), unlike per-thread statics sized to the
/// largest catalog ever seen and kept for the thread's life. A caller rents, uses, and returns
/// the array as it found it (all default), resetting only the entries it touched.
/// </summary>
public sealed class ScratchPool<T>(int length)
    where T : struct
{
    private readonly ConcurrentBag<T[]> _free = [];

    public int Length => length;

    /// <summary>An all-default array of <see cref="Length"/>: a returned one, else a new one.</summary>
    public T[] Rent() => _free.TryTake(out var array) ? array : new T[length];

    /// <summary>Gives back an array rented here, all default again.</summary>
    public void Return(T[] array)
    {
        if (array.Length != length)
        {
            throw new ArgumentException($"an array of {array.Length}, not {length}: not rented here", nameof(array));
        }

        _free.Add(array);
    }
}
