using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Recommender.Tests.Architecture;

/// <summary>
/// The kernel benchmarks stay runnable: every [Benchmark] method is invoked once after its
/// [GlobalSetup] (what BenchmarkDotNet does before measuring), and the fast kernels agree with
/// the baselines they are measured against.
/// </summary>
public sealed class BenchmarkProjectTests
{
    private static IEnumerable<Type> BenchmarkTypes() =>
        typeof(Recommender.Benchmarks.ScoreKernelBenchmarks).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null));

    [Test]
    public void Every_benchmark_runs_once_and_carries_a_memory_diagnoser()
    {
        var types = BenchmarkTypes().ToArray();
        Assert.That(types, Has.Length.GreaterThanOrEqualTo(5));
        foreach (var type in types)
        {
            Assert.That(type.GetCustomAttribute<MemoryDiagnoserAttribute>(), Is.Not.Null, type.Name);
            var instance = Activator.CreateInstance(type)!;
            if (type.GetProperty("Probes") is { } probes)
            {
                probes.SetValue(instance, 1);
            }

            type.GetMethods().SingleOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() is not null)?.Invoke(instance, null);
            foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            {
                Assert.DoesNotThrow(() => method.Invoke(instance, null), $"{type.Name}.{method.Name}");
            }
        }
    }

    [Test]
    public void The_kernels_agree_with_their_baselines()
    {
        var rows = new Recommender.Benchmarks.ScoreKernelBenchmarks();
        Assert.That(rows.DotRows(), Is.EqualTo(rows.DotPerRow()).Within(1e-4));

        var als = new Recommender.Benchmarks.AlsRowBenchmarks();
        Assert.That(als.Bfloat16(), Is.EqualTo(als.Float32()).Within(Math.Abs(als.Float32()) * 0.02), "bfloat16 keeps 8 bits of mantissa");

        var ranker = new Recommender.Benchmarks.RankerScoringBenchmarks();
        ranker.Setup();
        Assert.That(ranker.Score(), Is.EqualTo(ranker.Walk()), "the vector walk scores bit for bit as the row walk");

        var top = new Recommender.Benchmarks.TopKBenchmarks();
        Assert.That(top.TopHundred(), Is.EqualTo(100));
    }
}
