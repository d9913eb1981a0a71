using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recommender.Data;

/// <summary>
/// One hand-written binary file format: its name (for errors), magic number, version and how many
/// header values it has. Every binary snapshot file (ALS factors, IVF index, user histories) is
/// <c>magic u32 · version i32 · header count i32 · header i64[] · (element count i64 · elements)*</c>,
/// little-endian, written and checked by <see cref="BinaryArtifact"/>.
/// </summary>
public sealed record BinaryFormat(string Kind, uint Magic, int Version, int HeaderLength);

/// <summary>
/// Writes and reads <see cref="BinaryFormat"/> files: written to a temporary file and renamed when
/// whole; read back with the magic, version, header length, every array's length and the file's
/// total length checked, so a truncated, padded or foreign file is refused naming the file.
/// </summary>
public static class BinaryArtifact
{
    public static void Write(string path, BinaryFormat format, ReadOnlySpan<long> header, Action<Writer> arrays)
    {
        if (header.Length != format.HeaderLength)
        {
            throw new ArgumentException($"{format.Kind} has {format.HeaderLength} header values, got {header.Length}", nameof(header));
        }

        var values = header.ToArray();
        AtomicFile.Write(path, temp =>
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            using var w = new BinaryWriter(stream);
            w.Write(format.Magic);
            w.Write(format.Version);
            w.Write(values.Length);
            foreach (var v in values)
            {
                w.Write(v);
            }

            arrays(new Writer(w));
        });
    }

    /// <summary>Opens a file, checks its magic, version and header length, and returns a reader positioned at the first array.</summary>
    public static Reader Open(string path, BinaryFormat format)
    {
        var stream = File.OpenRead(path);
        try
        {
            var r = new BinaryReader(stream);
            if (stream.Length < 12 || r.ReadUInt32() != format.Magic)
            {
                throw new DataException(path, null, $"not {format.Kind} file");
            }

            var version = r.ReadInt32();
            if (version != format.Version)
            {
                throw new DataException(path, null, $"{format.Kind} format version {version}; this build reads version {format.Version}: train again");
            }

            var count = r.ReadInt32();
            if (count != format.HeaderLength || stream.Length < 12 + (8L * count))
            {
                throw new DataException(path, null, $"{format.Kind} header of {count} values, expected {format.HeaderLength}");
            }

            var header = new long[count];
            for (var i = 0; i < count; i++)
            {
                header[i] = r.ReadInt64();
            }

            return new Reader(path, format, stream, header);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Arrays go to and from the file in slices of at most this many bytes: MemoryMarshal.AsBytes
    /// throws past int.MaxValue bytes, which an array of more than 536M ints is (the 3× log's
    /// user_history.bin: 667M listens).
    /// </summary>
    internal const int SliceBytes = 1 << 30;

    /// <summary>Elements in the next slice: what is left, or as many whole elements as fit in <paramref name="sliceBytes"/>.</summary>
    internal static int Slice(int left, int elementSize, int sliceBytes) => Math.Min(left, Math.Max(1, sliceBytes / elementSize));

    public sealed class Writer
    {
        private readonly BinaryWriter _writer;

        internal Writer(BinaryWriter writer) => _writer = writer;

        public void Array<T>(ReadOnlySpan<T> values)
            where T : unmanaged
        {
            _writer.Write((long)values.Length);
            for (var at = 0; at < values.Length;)
            {
                var slice = Slice(values.Length - at, Unsafe.SizeOf<T>(), SliceBytes);
                _writer.Write(MemoryMarshal.AsBytes(values.Slice(at, slice)));
                at += slice;
            }
        }
    }

    public sealed class Reader : IDisposable
    {
        private readonly FileStream _stream;
        private readonly BinaryReader _reader;
        private readonly BinaryFormat _format;

        internal Reader(string path, BinaryFormat format, FileStream stream, long[] header)
        {
            Path = path;
            _format = format;
            _stream = stream;
            _reader = new BinaryReader(stream);
            Header = header;
        }

        public string Path { get; }

        public IReadOnlyList<long> Header { get; }

        /// <summary>A header value that must lie in [min, max]; otherwise the file is refused naming <paramref name="what"/>.</summary>
        public int HeaderInt(int index, string what, int min = 0, int max = int.MaxValue) =>
            Header[index] >= min && Header[index] <= max
                ? (int)Header[index]
                : throw new DataException(Path, null, $"{_format.Kind}: {what} is {Header[index]}, outside {min}..{max}");

        /// <summary>The next array, which must hold exactly <paramref name="expected"/> elements and fit in what is left of the file.</summary>
        public T[] Array<T>(long expected, string what)
            where T : unmanaged
        {
            var count = Count<T>(expected, what);
            var values = new T[count];
            ReadSlices<T>(values);
            return values;
        }

        /// <summary>The next array, as <see cref="Array{T}(long, string)"/>, into <paramref name="memory"/>.</summary>
        public Memory<T> Array<T>(long expected, string what, TableMemory memory)
            where T : unmanaged
        {
            if (memory == TableMemory.Managed)
            {
                return Array<T>(expected, what);
            }

            var count = Count<T>(expected, what);
            var values = memory.Allocate<T>(checked((int)count));
            ReadSlices(values.Span);
            return values;
        }

        private long Count<T>(long expected, string what)
            where T : unmanaged
        {
            var size = Marshal.SizeOf<T>();
            if (_stream.Length - _stream.Position < 8)
            {
                throw new DataException(Path, null, $"{_format.Kind}: file ends before {what}: truncated");
            }

            var count = _reader.ReadInt64();
            return count != expected || count > (_stream.Length - _stream.Position) / size
                ? throw new DataException(Path, null, $"{_format.Kind}: {what} holds {count} values where {expected} are expected, in a file of {_stream.Length:N0} bytes: truncated or damaged")
                : count;
        }

        /// <summary>
        /// A part of the next array (which must hold exactly <paramref name="expected"/> elements and
        /// fit in the file): <paramref name="destination"/>.Length elements from element <paramref name="from"/>,
        /// read without reading the rest. The reader is then past the array's end.
        /// </summary>
        public void ReadRange<T>(long expected, string what, long from, Span<T> destination)
            where T : unmanaged
        {
            var size = Marshal.SizeOf<T>();
            var count = _stream.Length - _stream.Position >= 8 ? _reader.ReadInt64() : -1;
            if (count != expected || count > (_stream.Length - _stream.Position) / size)
            {
                throw new DataException(Path, null, $"{_format.Kind}: {what} holds {count} values where {expected} are expected, in a file of {_stream.Length:N0} bytes: truncated or damaged");
            }

            if (from < 0 || from + destination.Length > count)
            {
                throw new ArgumentOutOfRangeException(nameof(from), $"{what}: elements {from}..{from + destination.Length} of {count}");
            }

            var start = _stream.Position;
            _stream.Position = start + (from * size);
            ReadSlices(destination);
            _stream.Position = start + (count * size);
        }

        private void ReadSlices<T>(Span<T> destination)
            where T : unmanaged
        {
            for (var at = 0; at < destination.Length;)
            {
                var slice = Slice(destination.Length - at, Unsafe.SizeOf<T>(), SliceBytes);
                _stream.ReadExactly(MemoryMarshal.AsBytes(destination.Slice(at, slice)));
                at += slice;
            }
        }

        /// <summary>Checks that nothing follows the last array.</summary>
        public void End()
        {
            if (_stream.Position != _stream.Length)
            {
                throw new DataException(Path, null, $"{_format.Kind}: {_stream.Length - _stream.Position:N0} bytes after the last array: padded or damaged");
            }
        }

        public void Dispose()
        {
            _reader.Dispose();
            _stream.Dispose();
        }
    }
}
