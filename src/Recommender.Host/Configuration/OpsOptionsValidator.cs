using Microsoft.Extensions.Options;

namespace Recommender.Host.Configuration;

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
