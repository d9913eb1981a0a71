using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

public sealed record ItemKnnParameters
{
    /// <summary>Neighbours kept per item.</summary>
    public int Neighbors { get; init; } = 100;

    /// <summary>Added to the cosine's denominator: pairs seen together by few users count less.</summary>
    public float Shrink { get; init; } = 10f;

    /// <summary>Only a user's latest this-many tracks build the similarities and score a recommendation (bounds the quadratic cost of heavy users).</summary>
    public int MaxUserItems { get; init; } = 500;

    /// <summary>
    /// At most this many co-listening updates (Σ over users of window²) build the table: above it
    /// the users' windows shrink until it holds. Small data never reaches it; at full size (222M
    /// events) it bounds the build's time.
    /// </summary>
    public long PairBudget { get; init; } = 4_000_000_000;

    /// <summary>
    /// EASE's L2 weight (Steck 2019) when the table is built by EASE instead of the cosine; null
    /// for the cosine. The pipeline sets it when EASE measures better on validation.
    /// </summary>
    public float? EaseLambda { get; init; }

    /// <summary>
    /// EASE inverts a dense tracks × tracks matrix: it covers at most this many tracks, the most
    /// listened (the pipeline only tries it when the catalog with a listener fits).
    /// </summary>
    public int EaseMaxItems { get; init; } = 6000;

    /// <summary>
    /// RP3β's popularity penalty (Paudel et al. 2017; α = 0.5) when the table is built by the
    /// random walk instead of the cosine; null for the cosine. The pipeline sets it when RP3β
    /// measures better on validation.
    /// </summary>
    public float? Rp3Beta { get; init; }

    /// <summary>RP3β's α: each step of the walk's probabilities is raised to it.</summary>
    public const double Rp3Alpha = 0.5;

    /// <summary>The build this names, for logs and the manifest.</summary>
    public string Method => EaseLambda is { } l ? $"EASE λ={l}" : Rp3Beta is { } b ? $"RP3beta β={b}" : $"cosine, shrink {Shrink}";
}
