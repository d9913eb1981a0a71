using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Evaluation;

/// <summary>
/// The test-period protocol: every list is scored at k = 5 and 10 on the tracks each user first
/// heard after the split. Warm users (history before the split) are scored where
/// <c>scored[user]</c> is set (a seeded sample at full size); cold users are all scored, and every
/// source serves them popular. Its figures never feed back into what is served.
/// </summary>
public static class TestPeriodEvaluation
{
    /// <param name="tables">the precomputed lists of the warm users: als, itemknn (deeper than 10 is cut), blend, ranked and served.</param>
    public static EvaluationReport Score(EventLog train, EventLog test, int warmUserCount, bool[] scored, PopularModel popular, SimilarToRecentModel similar, GenreProfileModel genre, IReadOnlyDictionary<string, RecommendationTable> tables)
    {
        var listeners = train.ItemUserCounts();
        var trainUsers = Enumerable.Range(0, train.NumUsers).Count(u => train.CountOf(u) > 0);
        int[] ks = [5, 10];
        string[] sources = ["popular", "als", "itemknn", "genre", "similar", "blend", "ranked", "served"];
        var warm = sources.ToDictionary(s => s, _ => ks.Select(k => new MetricsAccumulator(k, listeners, trainUsers)).ToArray());
        var cold = sources.ToDictionary(s => s, _ => ks.Select(k => new MetricsAccumulator(k, listeners, trainUsers)).ToArray());
        int coldUsers = 0;
        var popularList = new ScoredItem[10];
        var similarList = new ScoredItem[10];
        var genreList = new ScoredItem[10];
        for (var u = 0; u < test.NumUsers; u++)
        {
            if (test.CountOf(u) == 0)
            {
                continue;
            }

            var history = train.ItemsOf(u);
            if (history.Length > 0 && !scored[u])
            {
                continue; // a warm user outside the sample
            }

            var truth = test.ItemsOf(u).ToArray();
            Array.Sort(truth);
            var np = popular.Recommend(u, history, 10, popularList);
            var pop = popularList[..np].Select(s => s.Item).ToArray();
            if (history.Length == 0)
            {
                // Cold: nothing personal exists; every source serves popular.
                coldUsers++;
                foreach (var source in sources)
                {
                    foreach (var acc in cold[source])
                    {
                        acc.Add(pop, truth);
                    }
                }

                continue;
            }

            var ns = similar.Recommend(u, history, 10, similarList);
            var ng = genre.Recommend(u, history, 10, genreList);
            var lists = new Dictionary<string, int[]>
            {
                ["popular"] = pop,
                ["als"] = tables["als"].ItemsOf(u).ToArray(),
                ["itemknn"] = tables["itemknn"].ItemsOf(u)[..Math.Min(10, tables["itemknn"].ItemsOf(u).Length)].ToArray(),
                ["genre"] = genreList[..ng].Select(s => s.Item).ToArray(),
                ["similar"] = similarList[..ns].Select(s => s.Item).ToArray(),
                ["blend"] = tables["blend"].ItemsOf(u).ToArray(),
                ["ranked"] = tables["ranked"].ItemsOf(u).ToArray(),
                ["served"] = tables["served"].ItemsOf(u).ToArray(),
            };
            foreach (var source in sources)
            {
                foreach (var acc in warm[source])
                {
                    acc.Add(lists[source], truth);
                }
            }
        }

        return new EvaluationReport(
            warmUserCount,
            scored.Count(x => x),
            coldUsers,
            warm.ToDictionary(kv => kv.Key, kv => kv.Value.Select(a => a.Result()).ToArray()),
            cold.ToDictionary(kv => kv.Key, kv => kv.Value.Select(a => a.Result()).ToArray()),
            null);
    }
}
