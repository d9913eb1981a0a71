namespace Recommender.Host.Configuration;

/// <summary>Where the service listens unless told otherwise (Urls, Recommender:HttpUrls).</summary>
public static class Endpoints
{
    /// <summary>gRPC over cleartext HTTP/2, as grpcurl -plaintext expects.</summary>
    public const string DefaultGrpcUrl = "http://127.0.0.1:5080";

    /// <summary>The HTTP/1.1 JSON routes (gRPC JSON transcoding), /metrics and /openapi.json.</summary>
    public const string DefaultHttpUrl = "http://127.0.0.1:5081";
}
