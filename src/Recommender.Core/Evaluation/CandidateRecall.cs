using System.Globalization;
using System.Text;
using Recommender.Models;
using Recommender.Numerics;
using Recommender.Ranking;

namespace Recommender.Evaluation;

/// <summary>One generator's recall of the validation positives at three depths.</summary>
public sealed record CandidateRecallRow(string Source, double At50, double At100, double At200);

/// <summary>
/// How many of the validation window's positives (the tracks users first heard in it) the
/// candidate generators reach, per generator at depths 50, 100 and 200, and for the union the
/// ranker scores (its 50 ALS, 50 item-based, 50 genre, 30 similar and 20 popular candidates): the ceiling of
/// any ranker over those candidates, and where candidates are missing. Warm users of the window.
/// </summary>
public sealed record CandidateRecallReport(int Users, IReadOnlyList<CandidateRecallRow> Rows, double Union, double UnionSize)
{
    public static readonly int[] Depths = [50, 100, 200];

    /// <param name="window">the latest validation window: its users, labels and the generators fitted before it.</param>
    /// <param name="weights">the blend's weights, chosen on validation.</param>
    /// <param name="maxUsers">at most this many of the window's users, an even stride through them (the same users every run).</param>
    public static CandidateRecallReport Measure(LabelWindow window, BlendWeights weights, int maxUsers)
    {
        var m = window.Models;
        var blend = FusionRecommender.Blend(m.Als, m.ItemKnn, m.Genre, weights);
        var candidateSources = m.Sources(weights);
        var sources = new (string Name, IRecommenderModel Model)[] { ("als", m.Als), ("itemknn", m.ItemKnn), ("genre", m.Genre), ("similar", m.Similar), ("popular", m.Popular), ("blend", blend) };
        var all = window.Users.Where(u => window.History.CountOf(u) > 0 && window.Labels.CountOf(u) > 0).ToArray();
        var stride = Math.Max(1, (all.Length + maxUsers - 1) / Math.Max(1, maxUsers));
        var users = all.Where((_, i) => i % stride == 0).ToArray();
        var found = new double[users.Length, sources.Length, Depths.Length];
        var union = new double[users.Length];
        var unionSize = new int[users.Length];
        Parallel.For(0, users.Length, Cores.Options(), b =>
        {
            var u = users[b];
            var history = window.History.ItemsOf(u);
            var truth = window.Labels.ItemsOf(u).ToArray().ToHashSet();
            var buffer = new ScoredItem[Depths[^1]];
            for (var s = 0; s < sources.Length; s++)
            {
                var n = sources[s].Model.Recommend(u, history, buffer.Length, buffer);
                for (var d = 0; d < Depths.Length; d++)
                {
                    var hits = 0;
                    for (var r = 0; r < Math.Min(n, Depths[d]); r++)
                    {
                        hits += truth.Contains(buffer[r].Item) ? 1 : 0;
                    }

                    found[b, s, d] = hits / (double)truth.Count;
                }
            }

            var candidates = new Candidate[RankedRecommender.MaxCandidates];
            var count = RankedRecommender.Candidates(candidateSources, u, history, candidates);
            union[b] = candidates.AsSpan(0, count).ToArray().Count(c => truth.Contains(c.Item)) / (double)truth.Count;
            unionSize[b] = count;
        });

        double Mean(Func<int, double> of) => users.Length == 0 ? 0 : Enumerable.Range(0, users.Length).Sum(of) / users.Length; // summed in user order: the same figure on any core count
        var rows = sources.Select((s, si) => new CandidateRecallRow(s.Name, Mean(b => found[b, si, 0]), Mean(b => found[b, si, 1]), Mean(b => found[b, si, 2]))).ToArray();
        return new CandidateRecallReport(users.Length, rows, Mean(b => union[b]), Mean(b => unionSize[b]));
    }

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# Candidate recall on the validation window").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"The share of each user's validation positives (tracks first heard in the window) found in a generator's top 50, 100 and 200, over {Users:N0} warm users; the ranker's candidates (the union of 50 ALS, 50 item-based, 50 genre, 30 similar, 20 popular: {UnionSize:F0} tracks on average) reach **{Union:F4}**, the most any ranker over them can find.").AppendLine();
        b.AppendLine("| generator | recall@50 | recall@100 | recall@200 |").AppendLine("|---|---:|---:|---:|");
        foreach (var r in Rows)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"| {r.Source} | {r.At50:F4} | {r.At100:F4} | {r.At200:F4} |");
        }

        return b.AppendLine().ToString();
    }
}
