using System.Net;
using System.Net.Http.Headers;

namespace Recommender.Tests.Support;

/// <summary>
/// gRPC calls written by hand over HTTP/2, for what a generated client would never send: paths in
/// other spellings, malformed messages. Returns the grpc-status the server answered with.
/// </summary>
internal static class RawGrpc
{
    public static async Task<(int GrpcStatus, string Message)> PostAsync(string address, string path, byte[]? message = null, string? authorization = null)
    {
        using var handler = new SocketsHttpHandler();
        using var client = new HttpClient(handler);
        var body = message ?? [];
        var framed = new byte[5 + body.Length];
        framed[1] = (byte)(body.Length >> 24);
        framed[2] = (byte)(body.Length >> 16);
        framed[3] = (byte)(body.Length >> 8);
        framed[4] = (byte)body.Length;
        body.CopyTo(framed, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address.TrimEnd('/') + path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(framed),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", authorization);
        }

        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync(); // trailers arrive after the body
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return (-404, "no endpoint");
        }

        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First() : null;
        var status = Header("grpc-status") ?? throw new InvalidOperationException($"{path}: HTTP {(int)response.StatusCode} without grpc-status");
        return (int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(Header("grpc-message") ?? ""));
    }
}
