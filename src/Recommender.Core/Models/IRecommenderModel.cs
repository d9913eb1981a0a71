using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>Raw ids for the dense indexes an artifact stores.</summary>
public sealed record ArtifactIds(IdMap Users, IdMap Items);

/// <summary>
/// A fitted candidate generator: parameters went in at fit time, learned state is inside, and
/// <see cref="Save"/> writes everything a later load needs.
/// </summary>
public interface IRecommenderModel
{
    string Name { get; }

    /// <summary>
    /// Writes up to <paramref name="k"/> items best first, never one of <paramref name="history"/>
    /// (the user's listens, oldest first); returns how many were written.
    /// </summary>
    int Recommend(int user, ReadOnlySpan<int> history, int k, Span<ScoredItem> destination);

    void Save(string dir, ArtifactIds ids);
}
