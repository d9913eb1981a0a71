using System.Text.Json;
using Recommender.Data;

namespace Recommender.Diagnostics;

/// <summary>Where a training run is: the stage running, its units done of total, and the stages finished, with their seconds.</summary>
public sealed record RunProgressReport(string Stage, DateTime StageStartedUtc, long Done, long Total, IReadOnlyList<string> Completed);

/// <summary>
/// A training run's progress as a small JSON file, replaced whole (write, then rename) at every
/// stage start and end and at most every few seconds within a long stage: the host reads it for
/// the console whether the run is in its process or a child process.
/// </summary>
public sealed class RunProgressFile(string path, TimeProvider? clock = null)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly List<string> _completed = [];
    private readonly Lock _gate = new();
    private string _stage = "";
    private DateTime _stageStarted;

    public string Path => path;

    public void StageStarted(string stage)
    {
        lock (_gate)
        {
            (_stage, _stageStarted) = (stage, _clock.GetUtcNow().UtcDateTime);
            Write(0, 0);
        }
    }

    public void StageFinished(string stage)
    {
        lock (_gate)
        {
            _completed.Add(stage);
            Write(0, 0);
        }
    }

    /// <summary>Units of the current stage done so far (called from <see cref="StageProgress"/>, throttled there).</summary>
    public void Units(long done, long total)
    {
        lock (_gate)
        {
            Write(done, total);
        }
    }

    private void Write(long done, long total)
    {
        try
        {
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(new RunProgressReport(_stage, _stageStarted, done, total, [.. _completed]), Json));
        }
        catch (IOException)
        {
            // Progress is for the console only: a full disk must not fail the run here (the run's own writes report it).
        }
    }

    /// <summary>The last report written at <paramref name="path"/>; null when there is none (not started, or unreadable mid-replace).</summary>
    public static RunProgressReport? Read(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<RunProgressReport>(File.ReadAllText(path), Json) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}
