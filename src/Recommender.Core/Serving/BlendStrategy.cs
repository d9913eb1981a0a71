using System.Text.Json.Serialization;

namespace Recommender.Serving;

/// <summary>How the online list (neighbours of the listens since the snapshot) meets the offline personal list.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BlendStrategy>))]
public enum BlendStrategy
{
    /// <summary>Online and personal alternate, online first (each falls back to the other).</summary>
    Interleave = 0,

    /// <summary>Reciprocal-rank fusion of the online, personal and popular lists: each track scores Σ 1/(60 + rank) over the lists holding it, so agreement lifts a track.</summary>
    RankFusion = 1,

    /// <summary>The offline personal list only; online listens are just kept out of it.</summary>
    OfflineOnly = 2,
}
