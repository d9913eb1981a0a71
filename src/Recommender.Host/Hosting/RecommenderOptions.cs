using Microsoft.Extensions.Options;
using Quartz;
using Recommender.Models;
using Recommender.Pipeline;

namespace Recommender.Host.Hosting;

/// <summary>The "Recommender" configuration section.</summary>
public sealed class RecommenderOptions
{
    public const string Section = "Recommender";

    /// <summary>Snapshot root written by train: DIR/current is served. s3://BUCKET/PREFIX follows an object store (the S3 section) instead.</summary>
    public string ArtifactsDir { get; set; } = TrainOptions.DefaultOutRoot;

    /// <summary>HTTP/1.1 addresses of the JSON routes (gRPC JSON transcoding), ';'-separated; empty for none. gRPC listens on Urls.</summary>
    public string HttpUrls { get; set; } = RecommenderHost.DefaultHttpUrl;

    /// <summary>The three input parquet files the nightly retrain reads.</summary>
    public string DataDir { get; set; } = TrainOptions.DefaultDataDir;

    /// <summary>Durable log of listens received through LogListen.</summary>
    public string OnlineLogPath { get; set; } = "out/online/listens.log";

    /// <summary>Quartz cron expression of the nightly retrain (seconds first).</summary>
    public string RetrainCron { get; set; } = "0 0 3 * * ?";

    /// <summary>Where the retrain pipeline runs: a child process (default) or inside the service.</summary>
    public RetrainMode RetrainMode { get; set; } = RetrainMode.ChildProcess;

    /// <summary>ALS factors of the nightly retrain.</summary>
    public int AlsFactors { get; set; } = AlsParameters.Default.Factors;

    /// <summary>ALS iterations of the nightly retrain.</summary>
    public int AlsIterations { get; set; } = AlsParameters.Default.Iterations;

    /// <summary>The longest list a request may ask for.</summary>
    public int MaxK { get; set; } = 1000;

    /// <summary>
    /// How online listens blend with the offline list: Measured (the snapshot's replay winner for
    /// warm and for cold users, RankFusion when it has none), or one strategy for everyone.
    /// </summary>
    public BlendMode Blend { get; set; } = BlendMode.Measured;

    /// <summary>Recommendation calls worked on at once; more are refused with RESOURCE_EXHAUSTED (load shedding).</summary>
    public int MaxInFlight { get; set; } = 64;
}

public enum BlendMode
{
    Measured,
    Interleave,
    RankFusion,
    OfflineOnly,
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
        else if (Fleet.S3Address.IsS3(o.ArtifactsDir))
        {
            try
            {
                _ = Fleet.S3Address.Parse(o.ArtifactsDir, "Recommender:ArtifactsDir");
            }
            catch (ArgumentException e)
            {
                failures.Add(e.Message);
            }
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

        failures.AddRange(new AlsParameters { Factors = o.AlsFactors, Iterations = o.AlsIterations }.Validate("Recommender:AlsFactors", "Recommender:AlsIterations"));

        if (o.MaxK is < 1 or > 10_000)
        {
            failures.Add($"Recommender:MaxK must be in [1, 10000] (got {o.MaxK})");
        }

        if (o.MaxInFlight is < 1 or > 100_000)
        {
            failures.Add($"Recommender:MaxInFlight must be in [1, 100000] (got {o.MaxInFlight})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// The token must be at least 16 characters; outside the Development environment the public
/// development token (config/appsettings.Development.json) is refused too, so that a service
/// started without <c>Ops__Token</c> fails at start instead of accepting a token anyone can read.
/// </summary>
public sealed class OpsOptionsValidator(IHostEnvironment environment) : IValidateOptions<OpsOptions>
{
    public const int MinTokenLength = 16;

    /// <summary>The token in config/appsettings.Development.json, accepted only in Development.</summary>
    public const string DevelopmentToken = "change-me-local-dev-token";

    public ValidateOptionsResult Validate(string? name, OpsOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Token) || o.Token.Length < MinTokenLength)
        {
            return ValidateOptionsResult.Fail($"Ops:Token must be set to at least {MinTokenLength} characters (environment variable Ops__Token; operators send it as 'authorization: Bearer <token>')");
        }

        if (o.Token == DevelopmentToken && !environment.IsDevelopment())
        {
            return ValidateOptionsResult.Fail($"Ops:Token is the public development token, refused in the {environment.EnvironmentName} environment: set Ops__Token to a secret of at least {MinTokenLength} characters");
        }

        return ValidateOptionsResult.Success;
    }
}
