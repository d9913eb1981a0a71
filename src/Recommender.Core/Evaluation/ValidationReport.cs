using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Recommender.Models;

namespace Recommender.Evaluation;

/// <summary>
/// The candidate lists scored on the validation windows (tracks users first heard in each, by models
/// fitted before it), and the one served. Candidates are taken from the simplest up: a more complex
/// list replaces the current choice only when its NDCG@10 is higher by more than one standard error
/// of the paired per-user difference, so the ranker (or the blend) is served only when it clearly
/// beats every list it was built from, and noise does not pick the list.
/// </summary>
/// <param name="Margin">the served list's NDCG@10 minus the best other list's.</param>
public sealed record ValidationReport(int Users, IReadOnlyDictionary<string, MetricSet[]> Sources, string Served, string BestSingle, double Margin)
{
    /// <summary>From simplest to most complex: the order that breaks ties.</summary>
    public static readonly string[] Candidates = [.. CandidateLists.All.Select(l => l.Name())];

    /// <summary>The blend's weights, chosen on these windows (the "blend" row is scored with them).</summary>
    public BlendWeights Blend { get; init; } = BlendWeights.Default;

    /// <summary>The lists built from others: the ranker and the weighted fusion of ALS, item-based and genre.</summary>
    public static readonly string[] Combined = [CandidateList.Blend.Name(), CandidateList.Ranked.Name()];

    /// <summary>The served list as a value: an unknown name (a list renamed on one side only) throws instead of serving another list.</summary>
    [JsonIgnore] // metrics.json names the list once, as "served"
    public CandidateList ServedList => CandidateLists.Parse(Served);

    public double NdcgAt10(string source) => Sources[source].Single(m => m.K == 10).Ndcg;

    /// <summary>The gate's comparisons in order: each list against the choice it had to beat.</summary>
    public IReadOnlyList<GateStep> Gate { get; init; } = [];

    /// <param name="userNdcg">each candidate's per-user NDCG@10, the users in the same order for every candidate.</param>
    public static ValidationReport Choose(int users, IReadOnlyDictionary<string, MetricSet[]> sources, IReadOnlyDictionary<string, IReadOnlyList<double>> userNdcg)
    {
        double Ndcg(string s) => sources[s].Single(m => m.K == 10).Ndcg;
        var present = Candidates.Where(sources.ContainsKey).ToArray();
        var best = present.FirstOrDefault() ?? "popular";
        var gate = new List<GateStep>();
        foreach (var s in present.Skip(1))
        {
            var (difference, standardError) = PairedDifference(userNdcg[s], userNdcg[best]);
            var taken = IsClear(difference, standardError, userNdcg[s].Count);
            gate.Add(new GateStep(s, best, difference, standardError, taken));
            if (taken)
            {
                best = s;
            }
        }

        var singles = present.Where(s => !Combined.Contains(s)).ToArray();
        var bestSingle = singles.OrderByDescending(Ndcg).ThenBy(s => Array.IndexOf(Candidates, s)).First();
        var runnerUp = present.Where(s => s != best).Select(Ndcg).DefaultIfEmpty(0).Max();
        return new ValidationReport(users, sources, best, bestSingle, Ndcg(best) - runnerUp) { Gate = gate };
    }

    /// <summary>Whether the paired mean difference a − b exceeds one standard error of it.</summary>
    public static bool ClearlyBetter(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var (difference, standardError) = PairedDifference(a, b);
        return IsClear(difference, standardError, a.Count);
    }

    private static bool IsClear(double difference, double standardError, int users) => users >= 2 && difference > standardError;

    /// <summary>The mean of the per-user differences a − b and its standard error (0 for fewer than two users, where nothing is clear).</summary>
    public static (double Mean, double StandardError) PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count)
        {
            throw new ArgumentException($"paired lists differ in length ({a.Count} against {b.Count})", nameof(b));
        }

        var n = a.Count;
        if (n < 2)
        {
            return (n == 1 ? a[0] - b[0] : 0, 0);
        }

        double mean = 0;
        for (var i = 0; i < n; i++)
        {
            mean += a[i] - b[i];
        }

        mean /= n;
        double variance = 0;
        for (var i = 0; i < n; i++)
        {
            var d = a[i] - b[i] - mean;
            variance += d * d;
        }

        return (mean, Math.Sqrt(variance / (n - 1) / n));
    }

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# Validation: the list that is served").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"{Users:N0} users, scored on the tracks they first heard in the validation window (the last part of the fit period) by models fitted before it. Served: **{Served}** (NDCG@10 {NdcgAt10(Served):F4}, {Margin:+0.0000;-0.0000} over the next best list; best single generator: {BestSingle}, {NdcgAt10(BestSingle):F4}). A more complex list is served only when it beats the simpler choice by more than one standard error of the paired per-user difference. The blend's weights, chosen on these users: {Blend}.").AppendLine();
        b.AppendLine("| source | k | precision | recall | NDCG | MAP | coverage | novelty |").AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (source, sets) in Sources)
        {
            foreach (var m in sets)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"| {source}{(source == Served ? " (served)" : "")} | {m.K} | {m.Precision:F4} | {m.Recall:F4} | {m.Ndcg:F4} | {m.Map:F4} | {m.Coverage:F4} | {m.Novelty:F2} |");
            }
        }

        if (Gate.Count > 0)
        {
            b.AppendLine().AppendLine("The gate, simplest first: each list against the choice it had to beat, by the mean of the per-user NDCG@10 differences.").AppendLine();
            b.AppendLine("| list | against | NDCG@10 difference | standard error | replaces it |").AppendLine("|---|---|---:|---:|---|");
            foreach (var g in Gate)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"| {g.Candidate} | {g.Against} | {g.Difference:+0.0000;-0.0000;0.0000} | {g.StandardError:F4} | {(g.Replaces ? "yes" : "no")} |");
            }
        }

        return b.AppendLine().ToString();
    }
}

/// <summary>One comparison of the validation gate.</summary>
/// <param name="Candidate">the more complex list.</param>
/// <param name="Against">the choice so far, which it must beat.</param>
/// <param name="Difference">the mean per-user NDCG@10 difference, candidate − choice.</param>
/// <param name="StandardError">the standard error of that mean.</param>
/// <param name="Replaces">whether the difference exceeded one standard error, so the candidate became the choice.</param>
public sealed record GateStep(string Candidate, string Against, double Difference, double StandardError, bool Replaces);
