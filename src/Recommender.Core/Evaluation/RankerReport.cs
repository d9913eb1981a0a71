using System.Globalization;
using System.Text;
using Recommender.Ranking;

namespace Recommender.Evaluation;

/// <summary>One setting of the ranker scored on validation by cross-fitting (NDCG@10 of the ranked lists).</summary>
public sealed record RankerTrial(int Leaves, double LearningRate, double FeatureFraction, int Trees, double Ndcg);

/// <summary>A feature and the total gain of the kept ranker's splits on it.</summary>
public sealed record FeatureGain(string Feature, double Gain, double Share);

/// <summary>
/// The ranker that is kept: its settings (the options', or validation's choice among
/// <see cref="Trials"/>), and what its trees learned from each feature (LightGBM's gain importance).
/// </summary>
public sealed record RankerReport(RankerParameters Settings, IReadOnlyList<RankerTrial> Trials, IReadOnlyList<FeatureGain> Importance)
{
    public static RankerReport Of(GradientBoostedRanker ranker, RankerParameters settings, IReadOnlyList<RankerTrial> trials)
    {
        var total = Math.Max(double.Epsilon, ranker.FeatureGains.Sum());
        var importance = ranker.FeatureGains
            .Select((g, f) => new FeatureGain(FeatureContext.FeatureNames[f], g, g / total))
            .OrderByDescending(g => g.Gain).ThenBy(g => Array.IndexOf(FeatureContext.FeatureNames, g.Feature))
            .ToArray();
        return new RankerReport(settings, trials, importance);
    }

    public string ToMarkdown()
    {
        var b = new StringBuilder();
        b.AppendLine("# The ranker").AppendLine();
        var how = Trials.Count == 0 ? "the options' settings (no search: set on the command line, or more training rows than the search's limit)" : $"chosen on validation by cross-fitting among {Trials.Count} settings";
        b.AppendLine(CultureInfo.InvariantCulture, $"LambdaRank, {Settings.Trees} trees of {Settings.Leaves} leaves, learning rate {Settings.LearningRate}, feature fraction {Settings.FeatureFraction}: {how}.").AppendLine();
        if (Trials.Count > 0)
        {
            b.AppendLine("| leaves | learning rate | feature fraction | trees | validation NDCG@10 |").AppendLine("|---:|---:|---:|---:|---:|");
            foreach (var t in Trials.OrderByDescending(t => t.Ndcg).Take(8))
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"| {t.Leaves} | {t.LearningRate} | {t.FeatureFraction} | {t.Trees} | {t.Ndcg:F4} |");
            }

            b.AppendLine(CultureInfo.InvariantCulture, $"\nThe best 8 of {Trials.Count} shown.").AppendLine();
        }

        b.AppendLine("Feature importance: the total gain of the kept ranker's splits on each feature.").AppendLine();
        b.AppendLine("| feature | gain | share |").AppendLine("|---|---:|---:|");
        foreach (var g in Importance)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"| {g.Feature} | {g.Gain:G3} | {g.Share:P1} |");
        }

        return b.AppendLine().ToString();
    }
}
