using Recommender.Data;

namespace Recommender.Tests.Data;

public sealed class TableMemoryTests
{
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(4096)]
    [TestCase(1_000_003)]
    public void Native_blocks_start_zeroed_and_keep_what_is_written(int length)
    {
        using var memory = new NativeTableMemory();
        var ints = memory.Allocate<int>(length);
        var floats = memory.Allocate<float>(length);
        Assert.That(ints.Span.ToArray().All(v => v == 0) && floats.Span.ToArray().All(v => v == 0), Is.True, "mapped memory is zeroed");
        for (var i = 0; i < length; i++)
        {
            ints.Span[i] = i * 3;
            floats.Span[i] = i / 2f;
        }

        Assert.That(Enumerable.Range(0, length).All(i => ints.Span[i] == i * 3 && floats.Span[i] == i / 2f), Is.True);
        Assert.That(memory.Bytes, Is.EqualTo(8L * length));
        Assert.That(ints.Slice(length / 2).Span[0], Is.EqualTo(length / 2 * 3), "slices of a block read the block");
    }

    [Test]
    public void Dispose_unmaps_every_block_and_refuses_more()
    {
        var memory = new NativeTableMemory();
        _ = memory.Allocate<long>(100);
        _ = memory.Allocate<int>(1 << 20);
        Assert.That(memory.Bytes, Is.EqualTo(800 + (4L << 20)));
        Assert.That(memory.Allocate<int>(0).Length, Is.Zero, "an empty table maps nothing");
        memory.Dispose();
        Assert.That(memory.IsDisposed, Is.True);
        Assert.That(memory.Bytes, Is.Zero);
        Assert.That(() => memory.Allocate<int>(1), Throws.TypeOf<ObjectDisposedException>());
        memory.Dispose(); // twice is harmless
    }

    [Test]
    public void Managed_memory_is_ordinary_arrays()
    {
        var block = TableMemory.Managed.Allocate<float>(5);
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<float>(block, out var segment) && segment.Array!.Length == 5, Is.True);
        Assert.That(() => TableMemory.Managed.Allocate<int>(-1), Throws.TypeOf<OverflowException>().Or.TypeOf<ArgumentOutOfRangeException>());
        using var native = new NativeTableMemory();
        Assert.That(() => native.Allocate<int>(-1), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("length"));
    }
}
