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
/// ranker scores: the ceiling of any ranker over those candidates, and where candidates are
/// missing. Warm users of the window. The same lists choose how deep the ranker reads each
/// generator (<see cref="CandidateDepths.Choose"/>): the union at the chosen depths against the
/// union at <see cref="CandidateDepths.Default"/>, within the same budget of slots.
/// </summary>
/// <param name="Depths">the depths chosen on these users.</param>
/// <param name="Union">the chosen union's recall; <paramref name="UnionSize"/> its mean number of tracks.</param>
/// <param name="DefaultUnion">the recall of the union at <see cref="CandidateDepths.Default"/>.</param>
public sealed record CandidateRecallReport(int Users, IReadOnlyList<CandidateRecallRow> Rows, CandidateDepths Depths, double Union, double UnionSize, double DefaultUnion)
{
    /// <summary>The depths each generator's recall is reported at.</summary>
    public static readonly int[] ReportDepths = [50, 100, 200];

    /// <param name="window">the latest validation window: its users, labels and the generators fitted before it.</param>
    /// <param name="weights">the blend's weights, chosen on validation.</param>
    /// <param name="maxUsers">at most this many of the window's users, an even stride through them (the same users every run).</param>
    /// <param name="alsCap">the deepest ALS list the ranker may read (the run's precomputed ALS top-k).</param>
    public static CandidateRecallReport Measure(LabelWindow window, BlendWeights weights, int maxUsers, int alsCap)
    {
        var m = window.Models;
        var blend = FusionRecommender.Blend(m.Als, m.ItemKnn, m.Genre, weights);
        // CandidateDepths.SourceNames' order, then the blend.
        var sources = new (string Name, IRecommenderModel Model)[] { ("als", m.Als), ("itemknn", m.ItemKnn), ("genre", m.Genre), ("similar", m.Similar), ("popular", m.Popular), ("blend", blend) };
        var all = window.Users.Where(u => window.History.CountOf(u) > 0 && window.Labels.CountOf(u) > 0).ToArray();
        var stride = Math.Max(1, (all.Length + maxUsers - 1) / Math.Max(1, maxUsers));
        var users = all.Where((_, i) => i % stride == 0).ToArray();
        var lists = new int[users.Length][][];
        var truths = new int[users.Length][];
        Parallel.For(0, users.Length, Cores.Options(), b =>
        {
            var u = users[b];
            var history = window.History.ItemsOf(u);
            truths[b] = [.. window.Labels.ItemsOf(u).ToArray().Distinct().Order()];
            var buffer = new ScoredItem[ReportDepths[^1]];
            lists[b] = new int[sources.Length][];
            for (var s = 0; s < sources.Length; s++)
            {
                lists[b][s] = buffer[..sources[s].Model.Recommend(u, history, buffer.Length, buffer)].Select(x => x.Item).ToArray();
            }
        });

        var rows = sources.Select((s, si) => new CandidateRecallRow(s.Name, Recall(si, 50), Recall(si, 100), Recall(si, 200))).ToArray();
        double Recall(int source, int depth) => Mean(b => truths[b].Count(t => lists[b][source].Take(depth).Contains(t)) / (double)truths[b].Length);
        double Mean(Func<int, double> of) => users.Length == 0 ? 0 : Enumerable.Range(0, users.Length).Sum(of) / users.Length; // summed in user order: the same figure on any core count

        int[] caps = [alsCap, CandidateDepths.MaxDepth, CandidateDepths.MaxDepth, CandidateDepths.MaxDepth, CandidateDepths.MaxDepth];
        var sourceLists = lists.Select(l => l[..CandidateDepths.SourceNames.Length]).ToArray(); // the blend is reported, not a candidate source
        var depths = users.Length == 0 ? CandidateDepths.Default : CandidateDepths.Choose(sourceLists, truths, CandidateDepths.Default.Total, caps);

        // The ranker's candidates are exactly the union of these lists' prefixes (CandidateUnionTests), so
        // the unions are counted on the lists rather than asked of every generator again.
        return new CandidateRecallReport(users.Length, rows, depths, CandidateDepths.UnionRecall(sourceLists, truths, depths),
            CandidateDepths.UnionSize(sourceLists, depths), CandidateDepths.UnionRecall(sourceLists, truths, CandidateDepths.Default));
    }

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# Candidate recall on the validation window").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"The share of each user's validation positives (tracks first heard in the window) found in a generator's top 50, 100 and 200, over {Users:N0} warm users. The ranker's candidates are the union of each generator's top at depths chosen on these users within {CandidateDepths.Default.Total} slots ({Depths.Als} ALS, {Depths.ItemKnn} item-based, {Depths.Genre} genre, {Depths.Similar} similar, {Depths.Popular} popular: {UnionSize:F0} tracks on average); they reach **{Union:F4}**, the most any ranker over them can find ({DefaultUnion:F4} at the depths before the choice, {CandidateDepths.Default.Als}/{CandidateDepths.Default.ItemKnn}/{CandidateDepths.Default.Genre}/{CandidateDepths.Default.Similar}/{CandidateDepths.Default.Popular}).").AppendLine();
        b.AppendLine("| generator | recall@50 | recall@100 | recall@200 |").AppendLine("|---|---:|---:|---:|");
        foreach (var r in Rows)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"| {r.Source} | {r.At50:F4} | {r.At100:F4} | {r.At200:F4} |");
        }

        return b.AppendLine().ToString();
    }
}
