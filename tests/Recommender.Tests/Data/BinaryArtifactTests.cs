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
