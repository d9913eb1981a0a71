using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Recommender.Benchmarks -- --filter '*'   (docs/benchmarks.md)
BenchmarkSwitcher.FromAssembly(typeof(Recommender.Benchmarks.ScoreKernelBenchmarks).Assembly).Run(args);
