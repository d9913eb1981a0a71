using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Api;
using Google.Protobuf.Reflection;
using Recommender.V1;

namespace Recommender.Host.Services;

/// <summary>
/// The OpenAPI 3 description of the JSON routes, built from the proto's own descriptors and its
/// google.api.http options, so it cannot drift from what the transcoding serves. (The Swagger
/// package for gRPC pins an old Swashbuckle line that does not restore cleanly here.)
/// </summary>
public static class OpenApi
{
    public const string Path = "/openapi.json";

    private static readonly Lazy<string> s_document = new(Build);

    public static string Document => s_document.Value;

    private static string Build()
    {
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var service in new[] { RecommendationService.Descriptor, OpsService.Descriptor })
        {
            foreach (var method in service.Methods)
            {
                if (method.GetOptions()?.GetExtension(AnnotationsExtensions.Http) is not { } rule)
                {
                    continue;
                }

                var (verb, route) = rule.PatternCase switch
                {
                    HttpRule.PatternOneofCase.Get => ("get", rule.Get),
                    HttpRule.PatternOneofCase.Post => ("post", rule.Post),
                    HttpRule.PatternOneofCase.Put => ("put", rule.Put),
                    HttpRule.PatternOneofCase.Delete => ("delete", rule.Delete),
                    _ => ("patch", rule.Patch),
                };
                var operation = new JsonObject
                {
                    ["operationId"] = $"{service.Name}_{method.Name}",
                    ["tags"] = new JsonArray(service.Name),
                    ["parameters"] = Parameters(method.InputType, route, rule.Body),
                    ["responses"] = new JsonObject
                    {
                        ["200"] = new JsonObject { ["description"] = "OK", ["content"] = Json(Ref(method.OutputType, schemas)) },
                        ["default"] = new JsonObject { ["description"] = "gRPC status mapped to HTTP (400 invalid argument, 401 unauthenticated, 404 not found, 429 resource exhausted, 503 unavailable)" },
                    },
                };
                if (rule.Body == "*")
                {
                    operation["requestBody"] = new JsonObject { ["required"] = true, ["content"] = Json(Ref(method.InputType, schemas)) };
                }

                if (service == OpsService.Descriptor)
                {
                    operation["security"] = new JsonArray(new JsonObject { ["opsToken"] = new JsonArray() });
                }

                var path = paths[route] as JsonObject ?? new JsonObject();
                path[verb] = operation;
                paths[route] = path;
            }
        }

        var document = new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject { ["title"] = "Recommender", ["version"] = "v1", ["description"] = "JSON routes of recommender.v1 (gRPC JSON transcoding); field names are the proto's JSON names." },
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["schemas"] = schemas,
                ["securitySchemes"] = new JsonObject { ["opsToken"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "Ops:Token" } },
            },
        };
        return document.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonArray Parameters(MessageDescriptor input, string route, string body)
    {
        var parameters = new JsonArray();
        foreach (var field in input.Fields.InFieldNumberOrder())
        {
            var inPath = route.Contains($"{{{field.Name}}}", StringComparison.Ordinal);
            if (!inPath && body == "*")
            {
                continue; // in the body
            }

            parameters.Add(new JsonObject
            {
                ["name"] = inPath ? field.Name : field.JsonName,
                ["in"] = inPath ? "path" : "query",
                ["required"] = inPath,
                ["schema"] = Scalar(field),
            });
        }

        return parameters;
    }

    private static JsonObject Json(JsonNode schema) => new() { ["application/json"] = new JsonObject { ["schema"] = schema } };

    private static JsonObject Ref(MessageDescriptor message, JsonObject schemas)
    {
        if (!schemas.ContainsKey(message.Name))
        {
            schemas[message.Name] = null; // placeholder: stops recursion
            var properties = new JsonObject();
            foreach (var field in message.Fields.InFieldNumberOrder())
            {
                JsonNode type = field.FieldType == FieldType.Message ? Message(field, schemas) : Scalar(field);
                properties[field.JsonName] = field.IsRepeated ? new JsonObject { ["type"] = "array", ["items"] = type } : type;
            }

            schemas[message.Name] = new JsonObject { ["type"] = "object", ["properties"] = properties };
        }

        return new JsonObject { ["$ref"] = $"#/components/schemas/{message.Name}" };
    }

    private static JsonObject Message(FieldDescriptor field, JsonObject schemas) => field.MessageType.FullName switch
    {
        "google.protobuf.Timestamp" => new JsonObject { ["type"] = "string", ["format"] = "date-time" },
        _ => Ref(field.MessageType, schemas),
    };

    private static JsonObject Scalar(FieldDescriptor field) => field.FieldType switch
    {
        // The transcoder writes 64-bit integers as JSON numbers and reads numbers or strings.
        FieldType.Int64 or FieldType.UInt64 or FieldType.SInt64 or FieldType.Fixed64 or FieldType.SFixed64 => new JsonObject { ["type"] = "integer", ["format"] = "int64" },
        FieldType.Int32 or FieldType.UInt32 or FieldType.SInt32 or FieldType.Fixed32 or FieldType.SFixed32 => new JsonObject { ["type"] = "integer", ["format"] = "int32" },
        FieldType.Double or FieldType.Float => new JsonObject { ["type"] = "number" },
        FieldType.Bool => new JsonObject { ["type"] = "boolean" },
        FieldType.Enum => new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. field.EnumType.Values.Select(v => (JsonNode)JsonValue.Create(v.Name)!)]) },
        _ => new JsonObject { ["type"] = "string" },
    };
}
