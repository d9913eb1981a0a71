namespace Recommender.Host.State;

public enum RunState
{
    Idle,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>What started a retrain.</summary>
public enum RunTrigger
{
    /// <summary>The nightly cron (Recommender:RetrainCron).</summary>
    Nightly,

    /// <summary>An operator's RetrainNow.</summary>
    RetrainNow,
}

/// <summary>One retrain run as GetStatus, ListRuns and the metrics report it.</summary>
/// <param name="SnapshotId">the snapshot the run produced and swapped in; empty until it succeeds.</param>
public sealed record RunStatus(string RunId, RunState State, string Error, DateTime StartedUtc, DateTime? FinishedUtc, RunTrigger Trigger = RunTrigger.RetrainNow, string SnapshotId = "");

/// <summary>
/// The latest runs, newest first, at most <see cref="Capacity"/> of them (bounded memory over months
/// of nightly runs); a run is added when it starts and replaced when it ends. Kept in memory: a
/// restarted service starts a new history.
/// </summary>
public sealed class RunHistory
{
    public const int Capacity = 50;

    private readonly Lock _gate = new();
    private readonly LinkedList<RunStatus> _runs = new();

    /// <summary>Adds a run, or replaces the entry with its run id.</summary>
    public void Record(RunStatus run)
    {
        lock (_gate)
        {
            for (var node = _runs.First; node is not null; node = node.Next)
            {
                if (node.Value.RunId == run.RunId)
                {
                    node.Value = run;
                    return;
                }
            }

            _runs.AddFirst(run);
            if (_runs.Count > Capacity)
            {
                _runs.RemoveLast();
            }
        }
    }

    /// <summary>The run started last; an idle placeholder before the first.</summary>
    public RunStatus Newest
    {
        get
        {
            lock (_gate)
            {
                return _runs.First?.Value ?? Idle;
            }
        }
    }

    private static readonly RunStatus Idle = new("", RunState.Idle, "", DateTime.MinValue, null);

    /// <summary>The newest <paramref name="limit"/> runs, newest first.</summary>
    public IReadOnlyList<RunStatus> Latest(int limit)
    {
        lock (_gate)
        {
            return [.. _runs.Take(Math.Clamp(limit, 0, Capacity))];
        }
    }
}
