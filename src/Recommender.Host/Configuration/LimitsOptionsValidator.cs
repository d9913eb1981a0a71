using Microsoft.Extensions.Options;

namespace Recommender.Host.Configuration;

/// <summary>Checks the Limits section at start and reports every failure at once.</summary>
public sealed class LimitsOptionsValidator : IValidateOptions<LimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitsOptions o)
    {
        var failures = new List<string>();
        void InRange(int value, int min, int max, string key)
        {
            if (value < min || value > max)
            {
                failures.Add($"{LimitsOptions.Section}:{key} must be in [{min}, {max}] (got {value})");
            }
        }

        InRange(o.ListensPerSecond, 1, 10_000_000, nameof(LimitsOptions.ListensPerSecond));
        InRange(o.JsonRequestsPerSecond, 1, 10_000_000, nameof(LimitsOptions.JsonRequestsPerSecond));
        InRange(o.MaxRequestBodyBytes, 1024, 64 * 1024 * 1024, nameof(LimitsOptions.MaxRequestBodyBytes));
        InRange(o.FailedOpsTokenAttemptsPerMinute, 1, 1_000_000, nameof(LimitsOptions.FailedOpsTokenAttemptsPerMinute));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
