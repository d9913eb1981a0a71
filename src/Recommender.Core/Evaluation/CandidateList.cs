namespace Recommender.Evaluation;

/// <summary>
/// The lists validation scores and may serve, from the simplest to the most complex (the order
/// that breaks ties). Reports, metrics.json and the manifest name them by <see cref="CandidateLists.Name"/>.
/// </summary>
public enum CandidateList
{
    Popular,
    Als,
    ItemKnn,
    Genre,
    Similar,
    Blend,
    Ranked,
}

public static class CandidateLists
{
    /// <summary>Every list in tie-breaking order.</summary>
    public static IReadOnlyList<CandidateList> All { get; } = Enum.GetValues<CandidateList>();

    /// <summary>The name written in reports and files.</summary>
    public static string Name(this CandidateList list) => list switch
    {
        CandidateList.Popular => "popular",
        CandidateList.Als => "als",
        CandidateList.ItemKnn => "itemknn",
        CandidateList.Genre => "genre",
        CandidateList.Similar => "similar",
        CandidateList.Blend => "blend",
        CandidateList.Ranked => "ranked",
        _ => throw new ArgumentOutOfRangeException(nameof(list), list, "not a candidate list"),
    };

    /// <summary>The list a name stands for; an unknown name is an error naming it (a renamed list cannot fall back to another silently).</summary>
    public static CandidateList Parse(string name) =>
        All.FirstOrDefault(l => l.Name() == name) is var list && list.Name() == name
            ? list
            : throw new ArgumentException($"'{name}' is not a candidate list (lists: {string.Join(", ", All.Select(l => l.Name()))})", nameof(name));
}
