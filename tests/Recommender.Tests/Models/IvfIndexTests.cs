using System.Numerics.Tensors;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Tests.Models;

public class IvfIndexTests
{
    private static float[] Clustered(int n, int dim, int clusters, ulong seed)
    {
        var rng = new Rng(seed);
        var centers = Enumerable.Range(0, clusters * dim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var v = new float[n * dim];
        for (var i = 0; i < n; i++)
        {
            var c = rng.Next(clusters);
            var scale = 0.5f + (float)rng.NextDouble();
            for (var d = 0; d < dim; d++)
            {
                v[(i * dim) + d] = (centers[(c * dim) + d] * scale) + (0.3f * (float)rng.NextGaussian());
            }
        }

        return v;
    }

    /// <summary>
    /// The k-means assignment (row kernel over the first dim coordinates plus the extra one) against
    /// a double-precision scan of every centroid: the chosen centroid is the best up to float
    /// rounding, for every point or a sample of them, for widths the kernel vectorises and not.
    /// </summary>
    [TestCase(64, 37)]
    [TestCase(16, 200)]
    [TestCase(12, 5)]
    public void AssignNearest_PicksTheBestCentroid(int dim, int lists)
    {
        var d1 = dim + 1;
        var rng = new Rng((ulong)(dim * lists));
        var points = Enumerable.Range(0, 3000 * d1).Select(_ => (float)rng.NextGaussian()).ToArray();
        var centroids = Enumerable.Range(0, lists * d1).Select(_ => (float)rng.NextGaussian()).ToArray();
        double Exact(int p, int c) => Enumerable.Range(0, d1).Sum(d => (double)points[(p * d1) + d] * centroids[(c * d1) + d]);

        var all = new int[3000];
        IvfIndex.AssignNearest(centroids, lists, dim, points, null, all);
        int[] sample = [2999, 5, 17, 1000];
        var some = new int[sample.Length];
        IvfIndex.AssignNearest(centroids, lists, dim, points, sample, some);
        for (var p = 0; p < all.Length; p++)
        {
            var best = Enumerable.Range(0, lists).Max(c => Exact(p, c));
            Assert.That(Exact(p, all[p]), Is.EqualTo(best).Within(1e-4), $"point {p}");
        }

        Assert.That(some, Is.EqualTo(sample.Select(p => all[p]).ToArray()), "a sample gets what the same points get in a full pass");
    }

    [Test]
    public void ExactIndex_EqualsBruteForce()
    {
        const int Dim = 8;
        var v = Clustered(500, Dim, 5, 1);
        var index = IvfIndex.Build(v, Dim, 1, 0);
        var query = v.AsSpan(0, Dim).ToArray();
        var top = new TopK(10);
        index.Search(query, 1, top, [], new float[1]);
        var expected = Enumerable.Range(0, 500).OrderByDescending(i => TensorPrimitives.Dot(query, v.AsSpan(i * Dim, Dim))).ThenBy(i => i).Take(10);
        Assert.That(top.ToArray().Select(s => s.Item), Is.EqualTo(expected));
    }

    [Test]
    public void InvertedLists_FindMostOfTheExactTopTen_AndRespectExclusions()
    {
        const int Dim = 16;
        const int N = 20_000;
        var v = Clustered(N, Dim, 40, 2);
        var ivf = IvfIndex.Build(v, Dim, 100, 3);
        var exact = IvfIndex.Build(v, Dim, 1, 0);
        var rng = new Rng(4);
        var excluded = new bool[N];
        excluded[7] = true;
        double recall = 0;
        const int Queries = 200;
        for (var q = 0; q < Queries; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)rng.NextGaussian()).ToArray();
            var a = new TopK(10);
            var b = new TopK(10);
            ivf.Search(query, 10, a, excluded, new float[100]);
            exact.Search(query, 1, b, excluded, new float[1]);
            var found = a.ToArray().Select(s => s.Item).ToArray();
            Assert.That(found, Does.Not.Contain(7));
            recall += found.Intersect(b.ToArray().Select(s => s.Item)).Count() / 10.0;
        }

        Assert.That(recall / Queries, Is.GreaterThan(0.8), "probing 10 of 100 lists");
    }

    [TestCase(1)]
    [TestCase(30)]
    public void SaveThenLoad_SearchesExactlyAsTheBuiltIndex(int lists)
    {
        const int Dim = 12, N = 3_000;
        var v = Clustered(N, Dim, 20, 9);
        var built = IvfIndex.Build(v, Dim, lists, 5);
        var path = Path.Combine(Support.TestPaths.NewTempDir(), "index.bin");
        built.Save(path);
        var loaded = IvfIndex.Load(path, v, Dim);
        Assert.That(loaded.Lists, Is.EqualTo(built.Lists));
        var rng = new Rng(6);
        for (var q = 0; q < 50; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)rng.NextGaussian()).ToArray();
            var a = new TopK(10);
            var b = new TopK(10);
            built.Search(query, 4, a, [], new float[lists]);
            loaded.Search(query, 4, b, [], new float[lists]);
            Assert.That(b.ToArray(), Is.EqualTo(a.ToArray()), $"query {q}");
        }
    }

    [Test]
    public void Load_RejectsAnIndexOfOtherVectorsOrACutFile()
    {
        const int Dim = 4;
        var v = Clustered(400, Dim, 4, 1);
        var path = Path.Combine(Support.TestPaths.NewTempDir(), "index.bin");
        IvfIndex.Build(v, Dim, 10, 2).Save(path);
        Assert.That(() => IvfIndex.Load(path, v[..(200 * Dim)], Dim), Throws.TypeOf<Recommender.Data.DataException>().With.Message.Contains("index.bin").And.Message.Contains("does not fit"));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^8]);
        Assert.That(() => IvfIndex.Load(path, v, Dim), Throws.TypeOf<Recommender.Data.DataException>().With.Message.Contains("truncated"));
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.That(() => IvfIndex.Load(path, v, Dim), Throws.TypeOf<Recommender.Data.DataException>().With.Message.Contains("not an IVF index"));
    }
}

public class IvfBatchSearchTests
{
    [TestCase(1, 16, 64)]
    [TestCase(40, 16, 64)]
    [TestCase(40, 12, 64)]
    [TestCase(40, 16, 1)]
    [TestCase(40, 16, 37)]
    [TestCase(40, 16, 256)]
    public void SearchMany_GivesEveryQueryExactlyWhatSearchGivesIt(int lists, int dim, int batchSize)
    {
        const int N = 4_000, Queries = 150, K = 15, Probes = 6;
        var rng = new Rng(21);
        var v = Enumerable.Range(0, N * dim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var index = IvfIndex.Build(v, dim, lists, 22);
        var queries = Enumerable.Range(0, Queries * dim).Select(_ => (float)rng.NextGaussian()).ToArray();
        var histories = Enumerable.Range(0, Queries).Select(q => Enumerable.Range(0, q % 7 == 0 ? 0 : 40).Select(_ => rng.Next(N)).ToArray()).ToArray();

        var got = new ScoredItem[Queries][];
        index.SearchAll(Queries, K, Probes, (int q, Span<float> query, out ReadOnlySpan<int> excluded) =>
        {
            queries.AsSpan(q * dim, dim).CopyTo(query);
            excluded = histories[q];
            return q != 3; // a skipped query gets no call back
        }, (q, best) => got[q] = best.ToArray(), batchSize: batchSize);

        Assert.That(got[3], Is.Null);
        for (var q = 0; q < Queries; q++)
        {
            if (q == 3)
            {
                continue;
            }

            var mask = new bool[N];
            foreach (var i in histories[q])
            {
                mask[i] = true;
            }

            var top = new TopK(K);
            index.Search(queries.AsSpan(q * dim, dim), Probes, top, mask, new float[index.Lists]);
            Assert.That(got[q], Is.EqualTo(top.ToArray()), $"query {q}");
            Assert.That(got[q].Select(s => s.Item).Intersect(histories[q]), Is.Empty);
        }
    }

    [Test]
    public void SearchMany_RejectsQueriesThatDoNotFitTheBatch()
    {
        var index = IvfIndex.Build(new float[80], 8, 1, 0);
        Assert.Throws<ArgumentException>(() => index.SearchMany(new float[15], 1, [new TopK(3), new TopK(3)], [], [], new IvfSearchScratch()));
        Assert.Throws<ArgumentException>(() => index.SearchMany(new float[16], 1, [new TopK(3), new TopK(3)], [0, 0], [], new IvfSearchScratch()));
    }
}
