using Microsoft.Extensions.Options;
using Quartz;
using Recommender.Models;

namespace Recommender.Host.Configuration;

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
        else if (S3Address.IsS3(o.ArtifactsDir))
        {
            try
            {
                _ = S3Address.Parse(o.ArtifactsDir, "Recommender:ArtifactsDir");
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

        if (o.TrainWindowDays is < 1)
        {
            failures.Add($"Recommender:TrainWindowDays must be at least 1 day, or unset for every listen (got {o.TrainWindowDays})");
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
