using Recommender.Data;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Ranking;

/// <summary>
/// The ranker's training data and fit: each sampled user's candidates from the generators fitted
/// before a label window, labelled by what the user first heard in it, every positive and a seeded
/// sample of the negatives; then LambdaRank over those groups.
/// </summary>
public static class RankerTraining
{
    /// <summary>
    /// One group per sampled user of the window whose candidates hold at least one positive and one
    /// negative (a group with one label value teaches LambdaRank nothing), in the order of its users.
    /// The window's number and the user seed the negative sample.
    /// </summary>
    /// <param name="blend">the blend's weights: its fused score is a feature.</param>
    /// <param name="depths">how deep each generator's list is read.</param>
    /// <param name="hardNegatives">how many of the <paramref name="negatives"/> are the blend's best-ranked negatives rather than random ones.</param>
    public static RankerGroup[] Groups(LabelWindow labelWindow, BlendWeights blend, CandidateDepths depths, int negatives, int hardNegatives, ulong seed, CancellationToken cancellation)
    {
        var (window, history, labels, users, generators) = labelWindow;
        var (als, _, _, _, features, _) = generators;
        var sources = generators.Sources(blend, depths);
        var perUser = new RankerGroup?[users.Length];
        Parallel.For(0, users.Length, Cores.Options(cancellation), b =>
        {
            var u = users[b];
            var candidates = new Candidate[depths.Total];
            var n = RankedRecommender.Candidates(sources, u, history.ItemsOf(u), candidates);
            var truth = labels.ItemsOf(u).ToArray();
            Array.Sort(truth);
            var y = new float[n];
            var positives = 0;
            for (var c = 0; c < n; c++)
            {
                y[c] = truth.AsSpan().BinarySearch(candidates[c].Item) >= 0 ? 1 : 0;
                positives += (int)y[c];
            }

            if (positives == 0 || positives == n)
            {
                return;
            }

            // Every positive and a seeded sample of the negatives: the ranker learns as well from a
            // fraction of the (mostly negative) rows, in a fraction of the time.
            var keep = n - positives > negatives ? SampleNegatives(candidates.AsSpan(0, n), y, negatives, new Rng(seed ^ ((ulong)(uint)u << 8) ^ (ulong)window), hardNegatives) : n;
            var x = new float[keep * FeatureContext.FeatureCount];
            features.Compute(u, als.Model.UserVector(u), history.ItemsOf(u), candidates.AsSpan(0, keep), x);
            perUser[b] = new RankerGroup(u, window, x, y[..keep]);
        });
        return perUser.OfType<RankerGroup>().ToArray();
    }

    /// <summary>
    /// Moves every positive, then the <paramref name="hard"/> negatives the blend ranks highest,
    /// then random negatives up to <paramref name="negatives"/> in all, to the front (labels
    /// alongside); returns how many that is.
    /// </summary>
    public static int SampleNegatives(Span<Candidate> candidates, Span<float> labels, int negatives, Rng rng, int hard = 0)
    {
        var at = 0;
        for (var c = 0; c < candidates.Length; c++)
        {
            if (labels[c] > 0)
            {
                Swap(candidates, labels, at++, c);
            }
        }

        var end = Math.Min(candidates.Length, at + negatives);

        // The hard ones: a selection by blend rank (then track), a few passes over ~200 candidates.
        var hardEnd = at + Math.Min(hard, end - at);
        while (at < hardEnd)
        {
            var best = at;
            for (var c = at + 1; c < candidates.Length; c++)
            {
                if ((candidates[c].BlendRank, candidates[c].Item).CompareTo((candidates[best].BlendRank, candidates[best].Item)) < 0)
                {
                    best = c;
                }
            }

            Swap(candidates, labels, at++, best);
        }

        // A partial Fisher–Yates shuffle over the remaining negatives picks the random ones.
        for (var c = at; c < end; c++)
        {
            Swap(candidates, labels, c, c + rng.Next(candidates.Length - c));
        }

        return end;
    }

    private static void Swap(Span<Candidate> candidates, Span<float> labels, int a, int b)
    {
        (candidates[a], candidates[b]) = (candidates[b], candidates[a]);
        (labels[a], labels[b]) = (labels[b], labels[a]);
    }

    /// <summary>LambdaRank over <paramref name="groups"/>, one query group each (a user in two windows is two groups).</summary>
    /// <param name="shuffleLabelsSeed">when given, the labels are shuffled first: a ranker that can learn nothing (the gate's test).</param>
    public static GradientBoostedRanker Fit(IReadOnlyList<RankerGroup> groups, RankerParameters parameters, ulong? shuffleLabelsSeed = null)
    {
        var count = groups.Sum(r => r.Labels.Length);
        var labels = new float[count];
        var at = 0;
        foreach (var r in groups)
        {
            r.Labels.CopyTo(labels, at);
            at += r.Labels.Length;
        }

        if (shuffleLabelsSeed is { } seed)
        {
            var rng = new Rng(seed);
            for (var i = labels.Length - 1; i > 0; i--)
            {
                var j = rng.Next(i + 1);
                (labels[i], labels[j]) = (labels[j], labels[i]);
            }
        }

        // Leaves need enough rows to generalise; on small data a fixed 100 left the trees almost nothing.
        var p = parameters.MinExamplesPerLeaf is null ? parameters with { MinExamplesPerLeaf = Math.Clamp(count / 2000, 5, 100) } : parameters;
        return GradientBoostedRanker.Fit(Rows(groups, labels), p);
    }

    /// <summary>The groups' rows in order, read from the groups' own arrays (no flat copy of the features), with <paramref name="labels"/> in place of theirs.</summary>
    private static IEnumerable<(ReadOnlyMemory<float> Features, float Label, uint Group)> Rows(IReadOnlyList<RankerGroup> groups, float[] labels)
    {
        const int F = FeatureContext.FeatureCount;
        var at = 0;
        for (var g = 0; g < groups.Count; g++)
        {
            var features = groups[g].Features;
            for (var i = 0; i < groups[g].Labels.Length; i++)
            {
                yield return ((ReadOnlyMemory<float>)features.AsMemory(i * F, F), labels[at++], (uint)g);
            }
        }
    }
}
