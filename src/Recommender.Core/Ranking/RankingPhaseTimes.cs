using System.Diagnostics;

namespace Recommender.Ranking;

/// <summary>Where ranking many users spends its time: generating candidates, computing their features, scoring them.</summary>
public sealed class RankingPhaseTimes
{
    private long _candidates;
    private long _features;
    private long _scoring;
    private long _rows;
    private readonly long[] _sources = new long[SourceNames.Length];

    /// <summary>The candidate generators in the order <see cref="RankedRecommender.Candidates"/> asks them, then the blend's ranking of the union.</summary>
    public static readonly string[] SourceNames = ["als", "item-based", "genre", "similar", "popular", "blend rank"];

    public TimeSpan Candidates => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _candidates));

    public TimeSpan Features => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _features));

    public TimeSpan Scoring => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _scoring));

    /// <summary>Thread time spent in each of <see cref="SourceNames"/> (summed over the cores, so it adds up to about cores × <see cref="Candidates"/>).</summary>
    public TimeSpan Source(int index) => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _sources[index]));

    /// <summary>Adds one thread's per-source ticks.</summary>
    internal void AddSources(ReadOnlySpan<long> ticks)
    {
        for (var s = 0; s < _sources.Length; s++)
        {
            Interlocked.Add(ref _sources[s], ticks[s]);
        }
    }

    /// <summary>Candidate rows scored.</summary>
    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>Adds one batch, from the timestamps at which each phase started and the last one ended.</summary>
    internal void Add(long candidates, long features, long scoring, long end, long rows)
    {
        Interlocked.Add(ref _candidates, features - candidates);
        Interlocked.Add(ref _features, scoring - features);
        Interlocked.Add(ref _scoring, end - scoring);
        Interlocked.Add(ref _rows, rows);
    }
}
