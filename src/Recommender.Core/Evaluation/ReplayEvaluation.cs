using System.Globalization;
using System.Text;
using Recommender.Data;
using Recommender.Numerics;
using Recommender.Serving;

namespace Recommender.Evaluation;

/// <summary>One blend strategy replayed: NDCG@10 for users the offline lists know (warm) and for new ones (cold).</summary>
public sealed record ReplayRow(string Strategy, MetricSet Warm, MetricSet Cold);

/// <summary>
/// The online path, measured: each test user's first listens after the split go through
/// <see cref="Blender"/> as online events, as the service would see them, and the blend is scored
/// on the tracks the user heard after those.
/// </summary>
/// <param name="BestWarm">the strategy with the best warm NDCG@10 (the earlier of <see cref="Strategies"/> on a tie).</param>
/// <param name="Period">what was replayed: "the validation window" (where the strategies are chosen) or "the test period" (evaluation only).</param>
public sealed record ReplayReport(int OnlineListens, IReadOnlyList<ReplayRow> Rows, BlendStrategy BestWarm, BlendStrategy BestCold, string Period = ReplayReport.TestPeriod)
{
    public const string TestPeriod = "the test period";
    public const string ValidationWindow = "the validation window";

    public static readonly BlendStrategy[] Strategies = [BlendStrategy.Interleave, BlendStrategy.RankFusion, BlendStrategy.OfflineOnly];

    /// <param name="train">the listens the offline lists were built from (the user's history).</param>
    /// <param name="test">the listens after the split, in each user's order.</param>
    /// <param name="onlineListens">how many of each user's first test listens are fed as online events.</param>
    /// <param name="maxUsers">a seeded sample of at most this many test users.</param>
    public static ReplayReport Run(EventLog train, EventLog test, BlendSources sources, int onlineListens, int maxUsers, ulong seed, CancellationToken cancellation = default, string period = TestPeriod)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(onlineListens, 1);
        var listeners = train.ItemUserCounts();
        var trainUsers = Enumerable.Range(0, train.NumUsers).Count(u => train.CountOf(u) > 0);
        var users = SampleUsers(test, onlineListens, maxUsers, seed);
        var warm = Strategies.Select(_ => new MetricsAccumulator(10, listeners, trainUsers)).ToArray();
        var cold = Strategies.Select(_ => new MetricsAccumulator(10, listeners, trainUsers)).ToArray();
        var truth = new HashSet<int>();
        foreach (var u in users)
        {
            cancellation.ThrowIfCancellationRequested();
            var history = train.ItemsOf(u);
            var after = test.ItemsOf(u);
            var online = after[..onlineListens];
            truth.Clear();
            foreach (var i in after[onlineListens..])
            {
                truth.Add(i);
            }

            foreach (var i in history)
            {
                truth.Remove(i);
            }

            foreach (var i in online)
            {
                truth.Remove(i);
            }

            if (truth.Count == 0)
            {
                continue;
            }

            var relevant = truth.Order().ToArray();
            var known = history.Length > 0 && Blender.IsWarm(sources, u);
            for (var s = 0; s < Strategies.Length; s++)
            {
                var list = Blender.Recommend(sources, known ? u : -1, history, online, 10, Strategies[s]);
                (known ? warm : cold)[s].Add(list.Select(x => x.Item).ToArray(), relevant);
            }
        }

        var rows = Strategies.Select((s, i) => new ReplayRow(s.ToString(), warm[i].Result(), cold[i].Result())).ToArray();
        BlendStrategy Best(Func<ReplayRow, MetricSet> side) =>
            side(rows[0]).Users == 0 ? BlendChoice.Default.Warm : Strategies[Enumerable.Range(0, rows.Length).OrderByDescending(i => side(rows[i]).Ndcg).First()]; // stable sort: ties to the earlier
        return new ReplayReport(onlineListens, rows, Best(r => r.Warm), Best(r => r.Cold), period);
    }

    /// <summary>The users <see cref="Run"/> replays: a seeded sample of those with more than <paramref name="onlineListens"/> listens in <paramref name="test"/>, in index order.</summary>
    public static int[] SampleUsers(EventLog test, int onlineListens, int maxUsers, ulong seed)
    {
        var eligible = Enumerable.Range(0, test.NumUsers).Where(u => test.CountOf(u) > onlineListens).ToArray();
        var rng = new Rng(seed);
        for (var i = eligible.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (eligible[i], eligible[j]) = (eligible[j], eligible[i]);
        }

        return eligible.Take(maxUsers).Order().ToArray();
    }

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        var chosen = Period == ValidationWindow;
        b.AppendLine(CultureInfo.InvariantCulture, $"# Online path: replay of the serving blend on {Period}").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"Each user's first {OnlineListens} listens in {Period} are fed to the blend as online events; the list is scored on the tracks heard after them (already-heard tracks excluded). Warm: users the offline lists know; cold: users new in it (their personal part is an ALS fold-in of the online listens). Best: **{BestWarm}** for warm users, **{BestCold}** for cold ones; {(chosen ? "the service blends each side with these (chosen before the split)" : "an evaluation only: the strategies are chosen on the validation window")}.").AppendLine();
        b.AppendLine("| strategy | warm users | warm NDCG@10 | warm recall@10 | cold users | cold NDCG@10 | cold recall@10 |").AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Rows)
        {
            var warmMark = r.Strategy == BestWarm.ToString() ? " ✓" : "";
            var coldMark = r.Strategy == BestCold.ToString() ? " ✓" : "";
            b.AppendLine(CultureInfo.InvariantCulture, $"| {r.Strategy} | {r.Warm.Users:N0} | {r.Warm.Ndcg:F4}{warmMark} | {r.Warm.Recall:F4} | {r.Cold.Users:N0} | {r.Cold.Ndcg:F4}{coldMark} | {r.Cold.Recall:F4} |");
        }

        return b.AppendLine().ToString();
    }
}
