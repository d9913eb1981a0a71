using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Options;

namespace Recommender.Host.Configuration;

/// <summary>The "S3" configuration section: the endpoint and credentials of the object store.</summary>
public sealed class S3Options
{
    public const string Section = "S3";

    /// <summary>Endpoint of an S3-compatible server (MinIO, s3rver, Ceph); empty for AWS itself (then Region picks it).</summary>
    public string ServiceUrl { get; set; } = "";

    public string Region { get; set; } = "us-east-1";

    /// <summary>Empty: the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role).</summary>
    public string AccessKey { get; set; } = "";

    public string SecretKey { get; set; } = "";

    /// <summary>Path-style addressing (http://host/bucket/key), which MinIO and most S3-compatible servers need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Files above this size go up in parts of this size (S3's part limits: 5 MB to 5 GB, at most 10,000 parts).</summary>
    public int PartSizeMb { get; set; } = 64;

    /// <summary>Published snapshots kept in the bucket (the one current names is never removed).</summary>
    public int Retention { get; set; } = 3;

    /// <summary>How often a serving replica reads the current pointer; a new snapshot serves within about this plus its download.</summary>
    public int PollSeconds { get; set; } = 10;

    /// <summary>Local folder a replica downloads snapshots into (a snapshot root of its own, served from there).</summary>
    public string CacheDir { get; set; } = "out/s3-cache";

    public IEnumerable<string> Validate()
    {
        if (ServiceUrl.Length > 0 && !Uri.TryCreate(ServiceUrl, UriKind.Absolute, out _))
        {
            yield return $"S3:ServiceUrl '{ServiceUrl}' is not an absolute URL";
        }

        if (AccessKey.Length > 0 != SecretKey.Length > 0)
        {
            yield return "S3:AccessKey and S3:SecretKey are set together or not at all";
        }

        if (PartSizeMb is < 5 or > 5120)
        {
            yield return $"S3:PartSizeMb must be in [5, 5120] (got {PartSizeMb})";
        }

        if (Retention < 1)
        {
            yield return $"S3:Retention must be at least 1 (got {Retention})";
        }

        if (PollSeconds < 1)
        {
            yield return $"S3:PollSeconds must be at least 1 (got {PollSeconds})";
        }

        if (string.IsNullOrWhiteSpace(CacheDir))
        {
            yield return "S3:CacheDir is required";
        }
    }

    /// <summary>
    /// The S3 section for a command (not the host): appsettings.json beside the executable, then
    /// environment variables (S3__ServiceUrl, S3__AccessKey, ...); every invalid setting listed at once
    /// (an <see cref="OptionsValidationException"/>, as the host's ValidateOnStart throws).
    /// </summary>
    public static S3Options FromConfiguration()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        var options = configuration.GetSection(Section).Get<S3Options>() ?? new S3Options();
        var failures = options.Validate().ToList();
        return failures.Count == 0 ? options : throw new OptionsValidationException(Section, typeof(S3Options), failures);
    }

    public IAmazonS3 CreateClient()
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = ForcePathStyle,
            AuthenticationRegion = Region,
            // Checksums are ours (Content-MD5 per part, XXH3 per file in the manifest): the SDK's
            // default trailing checksums use aws-chunked bodies that S3-compatible servers may not parse.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 3,
        };
        if (ServiceUrl.Length > 0)
        {
            config.ServiceURL = ServiceUrl;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(Region);
        }

        return AccessKey.Length > 0 ? new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), config) : new AmazonS3Client(config);
    }
}

public sealed class S3OptionsValidator : IValidateOptions<S3Options>
{
    public ValidateOptionsResult Validate(string? name, S3Options options) =>
        options.Validate().ToList() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
}
