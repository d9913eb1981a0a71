using Microsoft.Extensions.Options;

namespace Recommender.Host.Configuration;

/// <summary>The "Redis" configuration section: listens shared by the replicas, and the retrain lease.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration string ("127.0.0.1:6379,password=..."); empty: listens stay in the local log file.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>Stream of listens; every replica follows it.</summary>
    public string StreamKey { get; set; } = "recommender:listens";

    /// <summary>Key of the lease that lets one replica at a time run the retrain.</summary>
    public string LeaseKey { get; set; } = "recommender:retrain-lease";

    /// <summary>A lease not renewed for this long lapses (its holder died); renewed every third of it.</summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How often a replica reads the stream's new entries: the delay before a listen logged elsewhere reaches its answers.</summary>
    public int FollowMilliseconds { get; set; } = 200;

    public bool Enabled => Configuration.Length > 0;

    public IEnumerable<string> Validate()
    {
        if (Enabled)
        {
            if (string.IsNullOrWhiteSpace(StreamKey))
            {
                yield return "Redis:StreamKey is required";
            }

            if (string.IsNullOrWhiteSpace(LeaseKey))
            {
                yield return "Redis:LeaseKey is required";
            }

            if (LeaseSeconds < 3)
            {
                yield return $"Redis:LeaseSeconds must be at least 3 (got {LeaseSeconds})";
            }

            if (FollowMilliseconds is < 10 or > 60_000)
            {
                yield return $"Redis:FollowMilliseconds must be in [10, 60000] (got {FollowMilliseconds})";
            }
        }
    }
}

public sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options) =>
        options.Validate().ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
}
