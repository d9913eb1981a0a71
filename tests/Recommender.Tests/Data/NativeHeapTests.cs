using System.Runtime.InteropServices;
using Recommender.Data;

namespace Recommender.Tests.Data;

public sealed unsafe class NativeHeapTests
{
    /// <summary>Resident anonymous memory of this process (/proc/self/status RssAnon), in KB.</summary>
    private static long ResidentAnonymousKb() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public void Trim_hands_freed_C_heap_pages_back_to_the_system()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("malloc_trim is glibc's; other systems have nothing to trim this way");
        }

        // 160 MB in 16 KB blocks (below glibc's mmap threshold, so they come from the C heap), each
        // touched, then a block after them that stays: the freed space below it cannot shrink the
        // heap's top by itself, which is what the Parquet reader's scratch does in a real run.
        const int Blocks = 10_240, Size = 16 << 10;
        var blocks = new nint[Blocks];
        for (var i = 0; i < Blocks; i++)
        {
            blocks[i] = (nint)NativeMemory.Alloc(Size);
            new Span<byte>((void*)blocks[i], Size).Fill(1);
        }

        var sentinel = NativeMemory.Alloc(64);
        try
        {
            foreach (var b in blocks)
            {
                NativeMemory.Free((void*)b);
            }

            var before = ResidentAnonymousKb();
            NativeHeap.Trim();
            var after = ResidentAnonymousKb();
            TestContext.Out.WriteLine($"RssAnon {before:N0} KB -> {after:N0} KB");
            Assert.That(before - after, Is.GreaterThan(80_000), "at least half of the 160 MB freed goes back");
        }
        finally
        {
            NativeMemory.Free(sentinel);
        }
    }
}
