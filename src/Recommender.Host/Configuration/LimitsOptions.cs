namespace Recommender.Host.Configuration;

/// <summary>
/// The "Limits" section: what one client address may ask of the service, whatever the number of
/// connections it opens (load shedding, Recommender:MaxInFlight, protects the service as a whole).
/// The address is the connection's peer: behind a proxy every caller is the proxy's address.
/// </summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>LogListen calls (gRPC or POST /v1/listens) per second per client address; bursts of twice that are absorbed.</summary>
    public int ListensPerSecond { get; set; } = 1000;

    /// <summary>Requests on the JSON address (routes, console, /metrics) per second per client address; bursts of twice that are absorbed.</summary>
    public int JsonRequestsPerSecond { get; set; } = 200;

    /// <summary>The largest request body, in bytes (Kestrel's limit, and gRPC's largest message). Every request of the API is well under 1 KB.</summary>
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Failed ops-token attempts per client address per minute; past them every ops call from the address is refused until the minute ends.</summary>
    public int FailedOpsTokenAttemptsPerMinute { get; set; } = 20;
}
