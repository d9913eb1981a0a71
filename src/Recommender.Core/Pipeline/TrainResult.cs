using Recommender.Evaluation;

namespace Recommender.Pipeline;

/// <summary>How long one stage of a train took, and the process's peak working set by its end.</summary>
public sealed record StageTiming(string Stage, double Seconds, long PeakWorkingSetMb);

/// <summary>What a train produced: the snapshot, its validation (what is served) and, with a test period, its evaluation.</summary>
public sealed record TrainResult(string SnapshotId, string SnapshotDir, EvaluationReport? Evaluation, ValidationReport Validation, IReadOnlyList<StageTiming> Timings);
