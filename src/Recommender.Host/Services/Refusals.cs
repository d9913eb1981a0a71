using System.Text.Encodings.Web;
using System.Text.Json;

namespace Recommender.Host.Services;

/// <summary>How the service says no before a call reaches its handler: load shedding, per-address limits, the body cap.</summary>
internal static class Refusals
{
    /// <summary>
    /// A trailers-only gRPC answer with RESOURCE_EXHAUSTED, after reading the (small, capped)
    /// request: answering with its body unread resets the stream, and Kestrel's guard against
    /// rapid resets then closes the whole connection, failing every other call on it.
    /// </summary>
    public static async Task ResourceExhaustedAsync(HttpContext context, string message, CancellationToken cancellation)
    {
        await context.Request.Body.CopyToAsync(Stream.Null, cancellation);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = "8"; // RESOURCE_EXHAUSTED
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }

    /// <summary>An HTTP error in the JSON routes' shape, {"code": gRPC status, "message"}.</summary>
    public static Task JsonErrorAsync(HttpResponse response, int httpStatus, int grpcCode, string message, CancellationToken cancellation)
    {
        response.StatusCode = httpStatus;
        response.ContentType = "application/json";
        return response.WriteAsync($"{{\"code\":{grpcCode},\"message\":\"{JsonEncodedText.Encode(message, JavaScriptEncoder.UnsafeRelaxedJsonEscaping)}\"}}", cancellation);
    }
}
