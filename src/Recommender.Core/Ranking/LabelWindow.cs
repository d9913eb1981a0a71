using Recommender.Data;

namespace Recommender.Ranking;

/// <summary>
/// A stretch of listens used as labels: the generators fitted on the events before it
/// (<paramref name="History"/>), its own events (<paramref name="Labels"/>) and the users sampled
/// in it. Window 0 is the latest (validation); earlier ones add ranker training groups.
/// </summary>
public sealed record LabelWindow(int Index, EventLog History, EventLog Labels, int[] Users, CandidateGenerators Models);
