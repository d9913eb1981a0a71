using System.Globalization;
using System.Text;

namespace Recommender.Evaluation;

/// <summary>How well the IVF index agrees with exact search (recall@10 on sampled users and items).</summary>
public sealed record IvfRecall(bool Exact, double UserRecallAt10, double SimilarRecallAt10, int SampledUsers);

/// <summary>Metrics per user group (warm/cold), per source, at k = 5 and 10.</summary>
public sealed record EvaluationReport(
    int WarmUsers,
    int SampledWarmUsers,
    int ColdUsers,
    IReadOnlyDictionary<string, MetricSet[]> Warm,
    IReadOnlyDictionary<string, MetricSet[]> Cold,
    IvfRecall? IvfRecall)
{
    public MetricSet WarmAt(string source, int k) => Warm[source].Single(m => m.K == k);

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# Evaluation on the test period").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"Warm users (history before the split and listens after it): {WarmUsers:N0}{(SampledWarmUsers < WarmUsers ? $", scored on a seeded sample of {SampledWarmUsers:N0}" : string.Empty)}; cold users (listens only after it): {ColdUsers:N0}.").AppendLine();
        foreach (var (group, table) in new[] { ("warm", Warm), ("cold (every source falls back to popular)", Cold) })
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"## {group}").AppendLine();
            b.AppendLine("| source | k | precision | recall | NDCG | MAP | coverage | novelty |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (source, sets) in table)
            {
                foreach (var m in sets)
                {
                    b.AppendLine(CultureInfo.InvariantCulture, $"| {source} | {m.K} | {m.Precision:F4} | {m.Recall:F4} | {m.Ndcg:F4} | {m.Map:F4} | {m.Coverage:F4} | {m.Novelty:F2} |");
                }
            }

            b.AppendLine();
        }

        if (IvfRecall is { Exact: false } r)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"IVF index recall@10 against exact search: users {r.UserRecallAt10:F3}, similar items {r.SimilarRecallAt10:F3} ({r.SampledUsers} sampled).");
        }

        return b.ToString();
    }
}
