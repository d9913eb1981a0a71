namespace Recommender.Host.State;

public enum RunState
{
    Idle,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>The last retrain run as GetStatus and the metrics report it.</summary>
public sealed record RunStatus(string RunId, RunState State, string Error, DateTime StartedUtc, DateTime? FinishedUtc);
