using Microsoft.Extensions.Options;
using Quartz;

namespace Recommender.Host.Hosting;

/// <summary>The "Recommender" configuration section.</summary>
public sealed class RecommenderOptions
{
    public const string Section = "Recommender";

    /// <summary>Snapshot root written by train: DIR/current is served.</summary>
    public string ArtifactsDir { get; set; } = "out/artifacts";

    /// <summary>The three input parquet files the nightly retrain reads.</summary>
    public string DataDir { get; set; } = "data/synthetic";

    /// <summary>Durable log of listens received through LogListen.</summary>
    public string OnlineLogPath { get; set; } = "out/online/listens.log";

    /// <summary>Quartz cron expression of the nightly retrain (seconds first).</summary>
    public string RetrainCron { get; set; } = "0 0 3 * * ?";

    /// <summary>Where the retrain pipeline runs: a child process (default) or inside the service.</summary>
    public RetrainMode RetrainMode { get; set; } = RetrainMode.ChildProcess;

    public int AlsFactors { get; set; } = 64;
    public int AlsIterations { get; set; } = 15;
    public int MaxK { get; set; } = 1000;
}

/// <summary>The "Ops" section: operator RPCs need this bearer token.</summary>
public sealed class OpsOptions
{
    public const string Section = "Ops";

    public string Token { get; set; } = "";
}

/// <summary>Checks every option at start and reports all failures at once.</summary>
public sealed class RecommenderOptionsValidator : IValidateOptions<RecommenderOptions>
{
    public ValidateOptionsResult Validate(string? name, RecommenderOptions o)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(o.ArtifactsDir))
        {
            failures.Add("Recommender:ArtifactsDir is required");
        }

        if (string.IsNullOrWhiteSpace(o.DataDir))
        {
            failures.Add("Recommender:DataDir is required");
        }

        if (string.IsNullOrWhiteSpace(o.OnlineLogPath))
        {
            failures.Add("Recommender:OnlineLogPath is required");
        }

        if (!CronExpression.TryParse(o.RetrainCron, out _))
        {
            failures.Add($"Recommender:RetrainCron '{o.RetrainCron}' is not a valid Quartz cron expression");
        }

        if (!Enum.IsDefined(o.RetrainMode))
        {
            failures.Add($"Recommender:RetrainMode must be ChildProcess or InProcess (got {o.RetrainMode})");
        }

        if (o.AlsFactors is < 1 or > 1024)
        {
            failures.Add($"Recommender:AlsFactors must be in [1, 1024] (got {o.AlsFactors})");
        }

        if (o.AlsIterations is < 1 or > 1000)
        {
            failures.Add($"Recommender:AlsIterations must be in [1, 1000] (got {o.AlsIterations})");
        }

        if (o.MaxK is < 1 or > 10_000)
        {
            failures.Add($"Recommender:MaxK must be in [1, 10000] (got {o.MaxK})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

public sealed class OpsOptionsValidator : IValidateOptions<OpsOptions>
{
    public ValidateOptionsResult Validate(string? name, OpsOptions o) =>
        string.IsNullOrWhiteSpace(o.Token) || o.Token.Length < 16
            ? ValidateOptionsResult.Fail("Ops:Token must be set to at least 16 characters (operators send it as 'authorization: Bearer <token>')")
            : ValidateOptionsResult.Success;
}
