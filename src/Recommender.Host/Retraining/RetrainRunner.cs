using System.Diagnostics;
using Recommender.Host.Configuration;
using Recommender.Host.Fleet;
using Recommender.Host.State;
using Recommender.Models;
using Recommender.Pipeline;
using Recommender.Snapshots;

namespace Recommender.Host.Retraining;

/// <summary>Runs the retrain pipeline over all events plus the online log and returns the published snapshot folder.</summary>
public sealed partial class RetrainRunner(ILoggerFactory loggers, ILogger<RetrainRunner> logger, SnapshotSource source) : IRetrainRunner
{
    /// <summary>
    /// How long a cancelled child may take to stop cleanly (it checks before every stage, between
    /// ALS sweeps and inside the per-user and per-track loops; the longest stage without a check,
    /// reading the input, takes ~25 s at full size) before it is killed. Within the host's 30 s
    /// shutdown timeout; a killed child's folder is removed by the next run.
    /// </summary>
    public static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(25);

    public string Run(RecommenderOptions o, string onlineLog, string runId, CancellationToken cancellation)
    {
        var train = RetrainOptions(o, onlineLog, source.LocalRoot) with { ProgressPath = RetrainCoordinator.ProgressPath(runId) };
        return o.RetrainMode == RetrainMode.InProcess
            ? new TrainPipeline(train, loggers.CreateLogger<TrainPipeline>(), Heap.CompactLargeObjects).Run(cancellation).SnapshotDir
            : RunChild(train, runId, cancellation);
    }

    /// <summary>What the nightly retrain fits, in either mode: everything, plus the online log.</summary>
    internal static TrainOptions RetrainOptions(RecommenderOptions o, string onlineLog, string outRoot) => new()
    {
        DataDir = Path.GetFullPath(o.DataDir),
        OutRoot = Path.GetFullPath(outRoot),
        AllEvents = true,
        DropDuplicates = true,
        OnlineEventsPath = Path.GetFullPath(onlineLog),
        TrainWindowDays = o.TrainWindowDays,
        Als = new AlsParameters { Factors = o.AlsFactors, Iterations = o.AlsIterations },
    };

    private string RunChild(TrainOptions train, string runId, CancellationToken cancellation)
    {
        // The options travel typed, as a file the child reads whole (TrainOptions.WriteFile); in
        // the temporary folder, not the snapshot root, which may be the full disk the run reports.
        var optionsFile = Path.Combine(Path.GetTempPath(), $"recommender-{runId}.json");
        train.WriteFile(optionsFile);
        using var cleanup = new DeleteOnDispose(optionsFile);
        var start = TrainerStartInfo();
        start.ArgumentList.Add("train");
        start.ArgumentList.Add("--options");
        start.ArgumentList.Add(optionsFile);

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var errors = new Queue<string>();
        using var child = new Process { StartInfo = start };
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                LogChildOutput(logger, runId, line);
            }
        };
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                LogChildError(logger, runId, line);
                lock (errors)
                {
                    errors.Enqueue(line);
                    if (errors.Count > 5)
                    {
                        errors.Dequeue();
                    }
                }
            }
        };

        child.Start();
        LogChildStarted(logger, runId, child.Id, start.FileName);
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        WaitOrStop(child, cancellation);
        cancellation.ThrowIfCancellationRequested();
        if (child.ExitCode != 0)
        {
            string tail;
            lock (errors)
            {
                tail = string.Join(" | ", errors);
            }

            throw new InvalidOperationException($"train exited with code {child.ExitCode}: {(tail.Length > 0 ? tail : "no error output")}");
        }

        return new SnapshotStore(train.OutRoot).RequireCurrent();
    }

    /// <summary>
    /// This executable (its apphost, or `dotnet Recommender.Host.dll` where there is none), under
    /// `chrt --idle 0` where it exists: SCHED_IDLE for the process and every thread it starts, so a
    /// request never waits for the retrain's time slice. (Setting the priority class after the start
    /// reaches the main thread only: the thread-pool workers doing the work kept nice 0, measured.)
    /// </summary>
    internal static ProcessStartInfo TrainerStartInfo()
    {
        var assembly = typeof(RetrainRunner).Assembly.Location;
        var dir = string.IsNullOrEmpty(assembly) ? AppContext.BaseDirectory : Path.GetDirectoryName(assembly)!;
        var apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "Recommender.Host.exe" : "Recommender.Host");
        var command = File.Exists(apphost)
            ? new List<string> { apphost }
            : [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", assembly];
        if (OperatingSystem.IsLinux() && File.Exists(IdleScheduler))
        {
            command.InsertRange(0, [IdleScheduler, "--idle", "0"]);
        }

        var start = new ProcessStartInfo(command[0]);
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private const string IdleScheduler = "/usr/bin/chrt";

    /// <summary>
    /// Waits for the child; on cancellation sends SIGTERM first, so that the child cancels and
    /// removes its unfinished snapshot, and kills it if it is still running after the grace period.
    /// (Not SIGINT: a service started in the background inherits SIGINT ignored, and so would the child.)
    /// </summary>
    private static void WaitOrStop(Process child, CancellationToken cancellation)
    {
        DateTime? stopSent = null;
        while (!child.WaitForExit(TimeSpan.FromMilliseconds(200)))
        {
            if (!cancellation.IsCancellationRequested)
            {
                continue;
            }

            if (stopSent is null)
            {
                stopSent = DateTime.UtcNow;
                if (OperatingSystem.IsWindows() || NativeSignals.Kill(child.Id, NativeSignals.SigTerm) != 0)
                {
                    child.Kill(entireProcessTree: true);
                }
            }
            else if (DateTime.UtcNow - stopSent > CancelGrace)
            {
                child.Kill(entireProcessTree: true);
            }
        }

        child.WaitForExit(); // the redirected output is drained
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "retrain {RunId}: train process {Pid} started ({Executable})")]
    private static partial void LogChildStarted(ILogger logger, string runId, int pid, string executable);

    [LoggerMessage(Level = LogLevel.Information, Message = "retrain {RunId} | {Line}")]
    private static partial void LogChildOutput(ILogger logger, string runId, string line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "retrain {RunId} ! {Line}")]
    private static partial void LogChildError(ILogger logger, string runId, string line);
}
