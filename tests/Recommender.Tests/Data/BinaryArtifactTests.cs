using Recommender.Data;
using Recommender.Models;
using Recommender.Tests.Support;

namespace Recommender.Tests.Data;

public class BinaryArtifactTests
{
    private static readonly BinaryFormat Format = new("a test artifact", 0x54534554, 3, 2);

    private static string WriteSample()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "a.bin");
        BinaryArtifact.Write(path, Format, [2, 3], w =>
        {
            w.Array<int>([1, 2]);
            w.Array<float>([0.5f, -1f, float.Epsilon]);
        });
        return path;
    }

    [Test]
    public void RoundTrip_GivesBackTheHeaderAndArrays_AndTheFileIsExactlyItsLayout()
    {
        var path = WriteSample();

        // magic, version, count, 2 header longs, then (count + 2 ints) and (count + 3 floats).
        Assert.That(new FileInfo(path).Length, Is.EqualTo(4 + 4 + 4 + 16 + (8 + 8) + (8 + 12)));
        using var r = BinaryArtifact.Open(path, Format);
        Assert.That(r.Header, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(r.Array<int>(r.Header[0], "ints"), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(r.Array<float>(r.Header[1], "floats"), Is.EqualTo(new[] { 0.5f, -1f, float.Epsilon }));
        Assert.DoesNotThrow(r.End);
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Has.Length.EqualTo(1), "no temporary file left");
    }

    /// <summary>
    /// An array of more bytes than a span of bytes can hold (int.MaxValue): the 3× log's
    /// user_history.bin (667M listens, 2.7 GB of track indexes) failed with an OverflowException
    /// before arrays went to and from the file in slices. 2.2 GB on disk and twice in memory.
    /// </summary>
    [Test]
    [NonParallelizable]
    public void ArrayPastTwoGigabytes_RoundTrips()
    {
        const int Length = 540_000_000; // 2.16 GB of ints
        var values = GC.AllocateUninitializedArray<int>(Length);
        int[] probes = [0, 1, (BinaryArtifact.SliceBytes / sizeof(int)) - 1, BinaryArtifact.SliceBytes / sizeof(int), 400_000_007, Length - 1];
        values.AsSpan().Fill(-7);
        foreach (var p in probes)
        {
            values[p] = p;
        }

        var path = Path.Combine(TestPaths.NewTempDir(), "large.bin");
        try
        {
            BinaryArtifact.Write(path, Format, [Length, 0], w => w.Array<int>(values));
            values = null;
            Assert.That(new FileInfo(path).Length, Is.EqualTo(4 + 4 + 4 + 16 + 8 + (4L * Length)));
            using var r = BinaryArtifact.Open(path, Format);
            var back = r.Array<int>(Length, "ints");
            Assert.That(probes.Select(p => back[p]), Is.EqualTo(probes));
            Assert.That(back[2], Is.EqualTo(-7));
            Assert.That(back[Length - 2], Is.EqualTo(-7));
            Assert.DoesNotThrow(r.End);

            // A range across a slice boundary, read without the rest.
            using var ranged = BinaryArtifact.Open(path, Format);
            var part = new int[10];
            ranged.ReadRange<int>(Length, "ints", probes[3] - 5, part);
            Assert.That(part, Is.EqualTo(new[] { -7, -7, -7, -7, probes[2], probes[3], -7, -7, -7, -7 }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(10, 4, 1 << 30, 10)]
    [TestCase(1 << 29, 4, 1 << 30, 1 << 28)]
    [TestCase(5, 4, 8, 2)]
    [TestCase(5, 16, 8, 1)]
    public void Slice_IsWhatIsLeftOrWholeElementsOfASlice(int left, int size, int sliceBytes, int expected) =>
        Assert.That(BinaryArtifact.Slice(left, size, sliceBytes), Is.EqualTo(expected));

    [TestCase("truncated", "truncated")]
    [TestCase("padded", "after the last array")]
    [TestCase("magic", "not a test artifact file")]
    [TestCase("version", "version 4; this build reads version 3")]
    [TestCase("length", "ints holds 2 values where 3 are expected")]
    public void ADamagedFile_IsRefused_NamingItAndTheProblem(string damage, string expected)
    {
        var path = WriteSample();
        var bytes = File.ReadAllBytes(path).ToList();
        switch (damage)
        {
            case "truncated": bytes.RemoveRange(bytes.Count - 5, 5); break;
            case "padded": bytes.AddRange(new byte[4]); break;
            case "magic": bytes[0] ^= 0xFF; break;
            case "version": bytes[4] = 4; break;
            case "length": bytes[12] = 3; break; // the header says 3 ints follow; 2 do
            default: throw new ArgumentException(damage);
        }

        File.WriteAllBytes(path, [.. bytes]);
        var error = Assert.Throws<DataException>(() =>
        {
            using var r = BinaryArtifact.Open(path, Format);
            r.Array<int>(r.Header[0], "ints");
            r.Array<float>(r.Header[1], "floats");
            r.End();
        })!;
        Assert.That(error.Message, Does.StartWith("a.bin").And.Contain(expected));
    }

    [Test]
    public void AWrongHeaderLength_IsAnArgumentError()
    {
        var e = Assert.Throws<ArgumentException>(() => BinaryArtifact.Write(Path.Combine(TestPaths.NewTempDir(), "b.bin"), Format, [1], _ => { }))!;
        Assert.That(e.ParamName, Is.EqualTo("header"));
    }

    /// <summary>Every binary snapshot file goes through the helper, with its own magic.</summary>
    [Test]
    public void TheSnapshotsBinaryFormats_AreDistinct()
    {
        BinaryFormat[] formats = [AlsModel.Format, IvfIndex.Format, UserHistory.Format];
        Assert.That(formats.Select(f => f.Magic), Is.Unique);
    }
}
