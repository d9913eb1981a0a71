using System.Globalization;
using System.Text;

namespace Recommender.Evaluation;

/// <summary>
/// The candidate lists scored on the validation window (tracks users first heard in it, by models
/// fitted before it), and the one served: the best NDCG@10; on a tie the simpler list, so the ranker is
/// served only when it beats every list it was built from.
/// </summary>
public sealed record ValidationReport(int Users, IReadOnlyDictionary<string, MetricSet[]> Sources, string Served, string BestSingle, double Margin)
{
    /// <summary>From simplest to most complex: the order that breaks ties.</summary>
    public static readonly string[] Candidates = ["popular", "als", "itemknn", "similar", "ranked"];

    public double NdcgAt10(string source) => Sources[source].Single(m => m.K == 10).Ndcg;

    public static ValidationReport Choose(int users, IReadOnlyDictionary<string, MetricSet[]> sources)
    {
        string? best = null;
        foreach (var s in Candidates.Where(sources.ContainsKey))
        {
            if (best is null || sources[s].Single(m => m.K == 10).Ndcg > sources[best].Single(m => m.K == 10).Ndcg)
            {
                best = s;
            }
        }

        best ??= "popular";
        var singles = Candidates.Where(s => s != "ranked" && sources.ContainsKey(s)).ToArray();
        var bestSingle = singles.OrderByDescending(s => sources[s].Single(m => m.K == 10).Ndcg).ThenBy(s => Array.IndexOf(Candidates, s)).First();
        var runnerUp = Candidates.Where(s => s != best && sources.ContainsKey(s)).Max(s => sources[s].Single(m => m.K == 10).Ndcg);
        return new ValidationReport(users, sources, best, bestSingle, sources[best].Single(m => m.K == 10).Ndcg - runnerUp);
    }

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# Validation: the list that is served").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"{Users:N0} users, scored on the tracks they first heard in the validation window (the last part of the fit period) by models fitted before it. Served: **{Served}** (NDCG@10 {NdcgAt10(Served):F4}, {Margin:+0.0000;-0.0000} over the next best list; best single generator: {BestSingle}, {NdcgAt10(BestSingle):F4}).").AppendLine();
        b.AppendLine("| source | k | precision | recall | NDCG | MAP | coverage | novelty |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (source, sets) in Sources)
        {
            foreach (var m in sets)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"| {source}{(source == Served ? " (served)" : "")} | {m.K} | {m.Precision:F4} | {m.Recall:F4} | {m.Ndcg:F4} | {m.Map:F4} | {m.Coverage:F4} | {m.Novelty:F2} |");
            }
        }

        return b.AppendLine().ToString();
    }
}
