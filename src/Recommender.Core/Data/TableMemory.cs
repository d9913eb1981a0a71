using System.Buffers;
using System.Runtime.InteropServices;

namespace Recommender.Data;

/// <summary>
/// Where a loaded table's large arrays live. <see cref="Managed"/>: ordinary arrays (training,
/// tools, tests). <see cref="NativeTableMemory"/>: outside the GC heap, for the serving snapshot,
/// so that replacing it needs no collection of the whole heap (docs/reliability.md).
/// </summary>
public abstract class TableMemory
{
    /// <summary>Ordinary arrays, freed by the garbage collector.</summary>
    public static TableMemory Managed { get; } = new ManagedTableMemory();

    /// <summary><paramref name="length"/> zeroed elements.</summary>
    public abstract Memory<T> Allocate<T>(int length)
        where T : unmanaged;

    private sealed class ManagedTableMemory : TableMemory
    {
        public override Memory<T> Allocate<T>(int length) => new T[length];
    }
}

/// <summary>
/// Blocks mapped from the operating system (anonymous <c>mmap</c> on Linux, the C heap elsewhere)
/// and all unmapped at once by <see cref="Dispose"/>: the memory goes back to the system that
/// moment, with no collection and no fragmentation left behind. Whoever disposes must know that
/// nothing reads the blocks any more (the serving snapshot counts its readers for that).
/// </summary>
public sealed unsafe partial class NativeTableMemory : TableMemory, IDisposable
{
    private readonly List<(nint Address, nuint Bytes)> _blocks = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Bytes currently mapped.</summary>
    public long Bytes { get; private set; }

    /// <summary>Whether <see cref="Dispose"/> has run (every block unmapped).</summary>
    public bool IsDisposed
    {
        get
        {
            lock (_lock)
            {
                return _disposed;
            }
        }
    }

    public override Memory<T> Allocate<T>(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            return Memory<T>.Empty;
        }

        var bytes = (nuint)length * (nuint)sizeof(T);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var address = Map(bytes);
            _blocks.Add((address, bytes));
            Bytes += (long)bytes;
            return new Block<T>((T*)address, length).Memory;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var (address, bytes) in _blocks)
            {
                Unmap(address, bytes);
            }

            _blocks.Clear();
            Bytes = 0;
        }
    }

    private static nint Map(nuint bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (nint)NativeMemory.AllocZeroed(bytes);
        }

        const int ReadWrite = 0x1 | 0x2, PrivateAnonymous = 0x02 | 0x20;
        var address = MapAnonymous(0, bytes, ReadWrite, PrivateAnonymous, -1, 0);
        return address == -1
            ? throw new OutOfMemoryException($"mmap of {bytes:N0} bytes for a snapshot table failed (errno {Marshal.GetLastPInvokeError()})")
            : address;
    }

    private static void Unmap(nint address, nuint bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            NativeMemory.Free((void*)address);
        }
        else if (UnmapAnonymous(address, bytes) != 0)
        {
            throw new InvalidOperationException($"munmap of {bytes:N0} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MapAnonymous(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int UnmapAnonymous(nint address, nuint length);

    /// <summary>A block as <see cref="Memory{T}"/>; it owns nothing (the arena unmaps).</summary>
    private sealed class Block<T>(T* pointer, int length) : MemoryManager<T>
        where T : unmanaged
    {
        public override Span<T> GetSpan() => new(pointer, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
