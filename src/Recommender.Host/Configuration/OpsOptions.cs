namespace Recommender.Host.Configuration;

/// <summary>The "Ops" section: operator RPCs need this bearer token.</summary>
public sealed class OpsOptions
{
    public const string Section = "Ops";

    public string Token { get; set; } = "";
}
