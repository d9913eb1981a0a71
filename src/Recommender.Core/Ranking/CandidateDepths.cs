using System.Text.Json.Serialization;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Ranking;

/// <summary>
/// How deep the ranker reads each generator's list: its candidates are the union of these tops.
/// ALS, item-based and genre go at least as deep as the blend (<see cref="FusionRecommender.DefaultDepth"/>),
/// so the blend's top and its fused score of every candidate are inside the union.
/// </summary>
public readonly record struct CandidateDepths(int Als, int ItemKnn, int Genre, int Similar, int Popular)
{
    /// <summary>The depths before they were chosen on validation, and the budget a choice keeps: 200 slots a user.</summary>
    public static readonly CandidateDepths Default = new(50, 50, 50, 30, 20);

    /// <summary>Depths move in steps of this many.</summary>
    public const int Step = 10;

    /// <summary>The deepest list read: 200, as deep as the candidate recall report looks.</summary>
    public const int MaxDepth = 200;

    /// <summary>The most candidates a user can have (the union of distinct tracks is at most this).</summary>
    [JsonIgnore] // derived: the manifest and metrics carry the five depths only
    public int Total => Als + ItemKnn + Genre + Similar + Popular;

    /// <summary>The deepest of the five.</summary>
    [JsonIgnore] // derived
    public int Deepest => Math.Max(Math.Max(Math.Max(Als, ItemKnn), Math.Max(Genre, Similar)), Popular);

    public int this[int source] => source switch
    {
        0 => Als,
        1 => ItemKnn,
        2 => Genre,
        3 => Similar,
        4 => Popular,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "a source is 0..4: als, itemknn, genre, similar, popular"),
    };

    /// <summary>These depths with <paramref name="source"/>'s set to <paramref name="depth"/>.</summary>
    public CandidateDepths With(int source, int depth) => source switch
    {
        0 => this with { Als = depth },
        1 => this with { ItemKnn = depth },
        2 => this with { Genre = depth },
        3 => this with { Similar = depth },
        4 => this with { Popular = depth },
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "a source is 0..4: als, itemknn, genre, similar, popular"),
    };

    public static readonly string[] SourceNames = ["als", "itemknn", "genre", "similar", "popular"];

    /// <summary>Every out-of-range depth, named (the blend's three below its depth, any below 0 or above <see cref="MaxDepth"/>).</summary>
    public IEnumerable<string> Validate()
    {
        for (var s = 0; s < SourceNames.Length; s++)
        {
            var floor = s < 3 ? FusionRecommender.DefaultDepth : 0;
            if (this[s] < floor || this[s] > MaxDepth)
            {
                yield return $"candidate depths: {SourceNames[s]} must be in [{floor}, {MaxDepth}] (got {this[s]})";
            }
        }
    }

    /// <summary>
    /// The depths whose union reaches the most validation positives within <paramref name="budget"/>
    /// slots: from the blend's floor (50, 50, 50, 0, 0), each step of <see cref="Step"/> goes to the
    /// source whose deeper list adds the most positives not already in the union (mean per-user
    /// recall; ties to the earlier source); a source stops at its cap. Greedy on the union's recall:
    /// the ceiling of any ranker over the candidates, and what a deeper list buys.
    /// </summary>
    /// <param name="lists">per user, per source (<see cref="SourceNames"/>' order), the source's list, best first, at least as deep as its cap allows.</param>
    /// <param name="truths">per user, the validation positives (sorted).</param>
    /// <param name="caps">per source, the deepest it may go (ALS: the run's precomputed top-k, so a deeper read needs no second search).</param>
    public static CandidateDepths Choose(IReadOnlyList<int[][]> lists, IReadOnlyList<int[]> truths, int budget, ReadOnlySpan<int> caps)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(lists.Count, truths.Count, nameof(truths));
        ArgumentOutOfRangeException.ThrowIfNotEqual(caps.Length, SourceNames.Length, nameof(caps));
        var depths = new CandidateDepths(FusionRecommender.DefaultDepth, FusionRecommender.DefaultDepth, FusionRecommender.DefaultDepth, 0, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, depths.Total, nameof(budget));
        var capsCopy = caps.ToArray();
        while (depths.Total + Step <= budget)
        {
            var best = (Source: -1, Recall: double.MinValue);
            for (var s = 0; s < SourceNames.Length; s++)
            {
                if (depths[s] + Step > Math.Min(capsCopy[s], MaxDepth))
                {
                    continue;
                }

                var recall = UnionRecall(lists, truths, depths.With(s, depths[s] + Step));
                if (recall > best.Recall)
                {
                    best = (s, recall);
                }
            }

            if (best.Source < 0)
            {
                break; // every source at its cap
            }

            depths = depths.With(best.Source, depths[best.Source] + Step);
        }

        return depths;
    }

    /// <summary>The mean share of each user's positives in the union of the sources' tops at <paramref name="depths"/> (users without positives left out).</summary>
    public static double UnionRecall(IReadOnlyList<int[][]> lists, IReadOnlyList<int[]> truths, CandidateDepths depths)
    {
        var (sum, users) = (0.0, 0);
        for (var u = 0; u < lists.Count; u++)
        {
            var truth = truths[u];
            if (truth.Length == 0)
            {
                continue;
            }

            var found = new bool[truth.Length];
            for (var s = 0; s < SourceNames.Length; s++)
            {
                var list = lists[u][s];
                for (var r = 0; r < Math.Min(depths[s], list.Length); r++)
                {
                    var at = Array.BinarySearch(truth, list[r]);
                    if (at >= 0)
                    {
                        found[at] = true;
                    }
                }
            }

            sum += found.Count(f => f) / (double)truth.Length;
            users++;
        }

        return users == 0 ? 0 : sum / users;
    }

    /// <summary>The mean number of distinct tracks in the union of the sources' tops at <paramref name="depths"/>: the ranker's candidates per user.</summary>
    public static double UnionSize(IReadOnlyList<int[][]> lists, CandidateDepths depths)
    {
        var sum = 0L;
        var seen = new HashSet<int>();
        foreach (var user in lists)
        {
            seen.Clear();
            for (var s = 0; s < SourceNames.Length; s++)
            {
                seen.UnionWith(user[s].Take(depths[s]));
            }

            sum += seen.Count;
        }

        return lists.Count == 0 ? 0 : sum / (double)lists.Count;
    }
}
