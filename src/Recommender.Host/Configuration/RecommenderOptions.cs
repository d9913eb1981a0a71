using Recommender.Models;
using Recommender.Pipeline;

namespace Recommender.Host.Configuration;

/// <summary>The "Recommender" configuration section.</summary>
public sealed class RecommenderOptions
{
    public const string Section = "Recommender";

    /// <summary>Snapshot root written by train: DIR/current is served. s3://BUCKET/PREFIX follows an object store (the S3 section) instead.</summary>
    public string ArtifactsDir { get; set; } = TrainOptions.DefaultOutRoot;

    /// <summary>HTTP/1.1 addresses of the JSON routes (gRPC JSON transcoding), ';'-separated; empty for none. gRPC listens on Urls.</summary>
    public string HttpUrls { get; set; } = Endpoints.DefaultHttpUrl;

    /// <summary>The three input parquet files the nightly retrain reads.</summary>
    public string DataDir { get; set; } = TrainOptions.DefaultDataDir;

    /// <summary>Durable log of listens received through LogListen.</summary>
    public string OnlineLogPath { get; set; } = "out/online/listens.log";

    /// <summary>Quartz cron expression of the nightly retrain (seconds first).</summary>
    public string RetrainCron { get; set; } = "0 0 3 * * ?";

    /// <summary>Where the retrain pipeline runs: a child process (default) or inside the service.</summary>
    public RetrainMode RetrainMode { get; set; } = RetrainMode.ChildProcess;

    /// <summary>The nightly retrain reads only the latest this-many days of listens (exported and online); null: all of them.</summary>
    public int? TrainWindowDays { get; set; }

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
