using Microsoft.Extensions.Options;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using Recommender.Host.Observability;
using Recommender.Host.State;
using Recommender.Diagnostics;
using Recommender.Serving;

namespace Recommender.Host.Retraining;

/// <summary>
/// Runs the retrain pipeline (all events plus the online log), one run at a time, and swaps the
/// new snapshot in when it is complete. A failed or cancelled run leaves the current snapshot serving.
/// </summary>
public sealed partial class RetrainCoordinator(
    IOptions<RecommenderOptions> options,
    SnapshotHolder holder,
    IListenLog online,
    RetrainLease lease,
    IRetrainRunner runner,
    SnapshotSource source,
    RecommenderMetrics metrics,
    TimeProvider clock,
    ILogger<RetrainCoordinator> logger)
{
    private readonly RunHistory _history = new();
    private int _running;

    /// <summary>The run started last (idle before the first).</summary>
    public RunStatus Last => _history.Newest;

    /// <summary>The latest runs, newest first (<see cref="RunHistory.Capacity"/> at most).</summary>
    public IReadOnlyList<RunStatus> Runs(int limit) => _history.Latest(limit);

    /// <summary>Where run <paramref name="runId"/> reports its stage (<see cref="RunProgressFile"/>), in the temporary folder; deleted when the run ends.</summary>
    public static string ProgressPath(string runId) => Path.Combine(Path.GetTempPath(), $"recommender-{runId}.progress.json");

    /// <summary>The running run's stage and progress; null when no run is in progress or it has not reported yet.</summary>
    public (string RunId, RunProgressReport Report)? Progress() =>
        Last is { State: RunState.Running } running && RunProgressFile.Read(ProgressPath(running.RunId)) is { } report ? (running.RunId, report) : null;

    /// <summary>Claims the single run slot; false when a run is in progress.</summary>
    public bool TryBegin(RunTrigger trigger, out string runId)
    {
        if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
        {
            runId = Last.RunId;
            return false;
        }

        runId = $"run-{clock.GetUtcNow().UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
        _history.Record(new RunStatus(runId, RunState.Running, "", clock.GetUtcNow().UtcDateTime, null, trigger));
        return true;
    }

    /// <summary>Runs a claimed slot to the end; never throws (the outcome is in <see cref="Last"/>).</summary>
    public void Run(string runId, CancellationToken cancellation)
    {
        var begun = Last;
        var started = begun.StartedUtc;
        try
        {
            // Several replicas: one retrains and publishes, the others swap when it does.
            using var held = lease.TryAcquire($"{Environment.MachineName}/{Environment.ProcessId}/{runId}")
                ?? throw new InvalidOperationException("another replica holds the retrain lease (or Redis is unreachable): this replica swaps to the snapshot it publishes");
            LogStarting(logger, runId);
            var listens = online.ExportForRetrain(Path.Combine(source.LocalRoot, ".listens"));
            var snapshotDir = runner.Run(options.Value, listens, runId, cancellation);
            if (options.Value.RetrainMode == RetrainMode.InProcess)
            {
                // The run's dead arrays (~10 GB at full size) go before the new snapshot loads beside the serving one.
                Heap.CompactLargeObjects();
            }

            var next = LoadOrReject(snapshotDir);
            ServingSnapshot? replaced = null;
            var served = false;
            try
            {
                // With an object store the other replicas follow it; a snapshot that did not reach it is
                // not served here either. Publish and swap are one step for this replica's follower,
                // which would otherwise see the new pointer first and load the same snapshot again.
                source.SwapGate.Wait(cancellation);
                try
                {
                    held.EnsureHeld(); // a run whose lease lapsed while it was paused neither publishes nor swaps
                    source.PublishAsync(snapshotDir, cancellation, held.EnsureHeld).GetAwaiter().GetResult(); // a background run, not a request; fenced again after the upload
                    replaced = holder.Replace(next);
                    served = true;
                }
                finally
                {
                    source.SwapGate.Release();
                }
            }
            finally
            {
                if (!served)
                {
                    next.Release(); // loaded but never served: its tables are unmapped now, not left to the process's end
                }
            }

            Heap.Log(logger, next.Id, Heap.ReleaseReplaced(replaced));
            _history.Record(begun with { State = RunState.Succeeded, FinishedUtc = clock.GetUtcNow().UtcDateTime, SnapshotId = next.Id });
            LogSucceeded(logger, runId, next.Id);
        }
        catch (OperationCanceledException)
        {
            _history.Record(begun with { State = RunState.Cancelled, Error = "cancelled (service shutting down)", FinishedUtc = clock.GetUtcNow().UtcDateTime });
            LogCancelled(logger, runId);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Any failure of a run is reported through GetStatus; the service keeps serving.
            _history.Record(begun with { State = RunState.Failed, Error = e.Message, FinishedUtc = clock.GetUtcNow().UtcDateTime });
            LogFailed(logger, runId, e);
        }
        finally
        {
            File.Delete(ProgressPath(runId));
            var last = Last;
            metrics.RetrainFinished(last.State, ((last.FinishedUtc ?? clock.GetUtcNow().UtcDateTime) - started).TotalSeconds);
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Verifies and loads the new snapshot; a damaged one is refused and current points back at the
    /// snapshot being served, so that a restart serves that one too.
    /// </summary>
    private ServingSnapshot LoadOrReject(string snapshotDir)
    {
        try
        {
            return ServingSnapshot.Load(snapshotDir, tablesOutsideGcHeap: true);
        }
        catch (Recommender.Data.DataException e)
        {
            var serving = holder.Current;
            if (serving is not null)
            {
                new Recommender.Snapshots.SnapshotStore(source.LocalRoot).PointCurrentAt(serving.Directory);
            }

            throw new InvalidOperationException($"new snapshot {Path.GetFileName(snapshotDir)} refused: {e.Message}; {(serving is null ? "nothing was serving" : $"current points back at {serving.Id}")}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "retrain {RunId}: starting")]
    private static partial void LogStarting(ILogger logger, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "retrain {RunId}: snapshot {SnapshotId} is now serving")]
    private static partial void LogSucceeded(ILogger logger, string runId, string snapshotId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "retrain {RunId}: cancelled; the previous snapshot keeps serving")]
    private static partial void LogCancelled(ILogger logger, string runId);

    [LoggerMessage(Level = LogLevel.Error, Message = "retrain {RunId}: failed; the previous snapshot keeps serving")]
    private static partial void LogFailed(ILogger logger, string runId, Exception error);
}
