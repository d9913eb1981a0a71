using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Recommender.Data;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using Recommender.Snapshots;
using Recommender.Tests.Support;

namespace Recommender.Tests.Fleet;

/// <summary>Snapshots published to and downloaded from a real S3-compatible server (s3rver) on loopback.</summary>
[NonParallelizable]
public class S3SnapshotStoreTests
{
    private const string Bucket = "snapshots";
    private FleetServer _server = null!;
    private IAmazonS3 _client = null!;
    private S3Options _options = null!;

    [OneTimeSetUp]
    public void StartServer()
    {
        _server = FleetServer.StartS3(Bucket);
        _options = new S3Options { ServiceUrl = _server.Url, AccessKey = FleetServer.S3AccessKey, SecretKey = FleetServer.S3SecretKey, PartSizeMb = 5, Retention = 2 };
        _client = _options.CreateClient();
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        _client?.Dispose();
        _server?.Dispose();
    }

    private S3SnapshotStore Store(string prefix) => new(_client, new S3Address(Bucket, prefix), _options, NullLogger.Instance);

    /// <summary>A snapshot folder as train writes one: files and a manifest listing their checksums.</summary>
    private static string FakeSnapshot(string id, int bigFileBytes, int seed)
    {
        var dir = Path.Combine(TestPaths.NewTempDir(), id);
        Directory.CreateDirectory(dir);
        var rng = new Random(seed);
        var big = new byte[bigFileBytes];
        rng.NextBytes(big);
        File.WriteAllBytes(Path.Combine(dir, FileNames.AlsModel), big);
        File.WriteAllText(Path.Combine(dir, FileNames.Metrics), $"{{\"seed\": {seed}}}");
        File.WriteAllBytes(Path.Combine(dir, "empty.bin"), []);
        new SnapshotManifest { SnapshotId = id, CreatedUtc = new DateTime(2022, 12, 31, 0, 0, 0, DateTimeKind.Utc), Files = SnapshotIntegrity.Describe(dir) }.Write(dir);
        return dir;
    }

    [Test]
    public async Task Publish_ThenDownload_GivesTheSameFiles_AndCurrentNamesIt()
    {
        var store = Store("roundtrip");
        Assert.That(await store.CurrentIdAsync(), Is.Null, "nothing published yet");
        // 12 MB in 5 MB parts: a three-part multipart upload, every part's MD5 checked.
        var local = FakeSnapshot("20260101-000000-000", (12 << 20) + 123, 1);
        Assert.That(await store.PublishAsync(local), Is.EqualTo("20260101-000000-000"));
        Assert.That(await store.CurrentIdAsync(), Is.EqualTo("20260101-000000-000"));

        var cache = new SnapshotStore(TestPaths.NewTempDir());
        var downloaded = await store.DownloadAsync("20260101-000000-000", cache);
        Assert.That(cache.Current(), Is.EqualTo(downloaded));
        foreach (var file in Directory.GetFiles(local))
        {
            Assert.That(File.ReadAllBytes(Path.Combine(downloaded, Path.GetFileName(file))), Is.EqualTo(File.ReadAllBytes(file)), Path.GetFileName(file));
        }

        Assert.That(Directory.GetDirectories(cache.SnapshotsDir, ".tmp-*"), Is.Empty, "no temporary folder left");
    }

    [Test]
    public async Task ADamagedLocalSnapshot_IsNotUploaded_AndCurrentStays()
    {
        var store = Store("damaged-local");
        await store.PublishAsync(FakeSnapshot("20260101-000000-000", 1000, 2));
        var bad = FakeSnapshot("20260102-000000-000", 1000, 3);
        File.WriteAllText(Path.Combine(bad, FileNames.Metrics), "{\"altered\": true}");
        var e = Assert.ThrowsAsync<DataException>(() => store.PublishAsync(bad));
        Assert.That(e!.Message, Does.Contain(FileNames.Metrics));
        Assert.That(await store.CurrentIdAsync(), Is.EqualTo("20260101-000000-000"));
        Assert.That(await store.ListIdsAsync(), Is.EqualTo(new[] { "20260101-000000-000" }), "nothing of the damaged snapshot reached the bucket");
    }

    [Test]
    public async Task AnObjectAlteredInTheBucket_IsRefusedOnDownload_NamingTheFile()
    {
        var store = Store("damaged-remote");
        await store.PublishAsync(FakeSnapshot("20260101-000000-000", 1000, 4));
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "damaged-remote/snapshots/20260101-000000-000/" + FileNames.AlsModel, ContentBody = "not the model", UseChunkEncoding = false });
        var cache = new SnapshotStore(TestPaths.NewTempDir());
        var e = Assert.ThrowsAsync<DataException>(() => store.DownloadAsync("20260101-000000-000", cache));
        Assert.That(e!.Message, Does.Contain(FileNames.AlsModel));
        Assert.That(cache.Current(), Is.Null, "a damaged download never becomes current");
        Assert.That(Directory.GetDirectories(cache.SnapshotsDir), Is.Empty, "the partial download is removed");
    }

    [Test]
    public async Task ASnapshotWithoutItsManifest_IsAnIncompleteUpload()
    {
        var store = Store("incomplete");
        // What a publisher that died mid-upload leaves: files, no manifest (it goes last), current not moved.
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "incomplete/snapshots/20260101-000000-000/" + FileNames.AlsModel, ContentBody = "half", UseChunkEncoding = false });
        var e = Assert.ThrowsAsync<DataException>(() => store.DownloadAsync("20260101-000000-000", new SnapshotStore(TestPaths.NewTempDir())));
        Assert.That(e!.Message, Does.Contain("no manifest"));
        Assert.That(await store.CurrentIdAsync(), Is.Null);
    }

    [Test]
    public async Task Retention_KeepsTheNewestSnapshots()
    {
        var store = Store("retention");
        string[] ids = ["20260101-000000-000", "20260102-000000-000", "20260103-000000-000", "20260104-000000-000"];
        for (var i = 0; i < ids.Length; i++)
        {
            await store.PublishAsync(FakeSnapshot(ids[i], 100, 10 + i));
        }

        Assert.That(await store.ListIdsAsync(), Is.EqualTo(ids[2..]), "Retention = 2");
        Assert.That(await store.CurrentIdAsync(), Is.EqualTo(ids[^1]));
    }
}

public class S3AddressTests
{
    [Test]
    public void Locations_AreParsed_AndBadOnesNamed()
    {
        Assert.That(S3Address.Parse("s3://my-bucket/a/b/", "--out"), Is.EqualTo(new S3Address("my-bucket", "a/b")));
        Assert.That(S3Address.Parse("s3://my-bucket", "--out"), Is.EqualTo(new S3Address("my-bucket", "")));
        Assert.That(new S3Address("b", "p").Key("current"), Is.EqualTo("p/current"));
        var e = Assert.Throws<ArgumentException>(() => S3Address.Parse("s3://UPPER/x", "--artifacts"));
        Assert.That(e!.Message, Does.Contain("--artifacts").And.Contain("UPPER"));
        Assert.That(new S3Options { AccessKey = "a", PartSizeMb = 1, Retention = 0 }.Validate().ToList(), Has.Count.EqualTo(3), "every failure listed at once");
    }
}
