using Campaigns.Silo.Api;
using Grpc.AspNetCore.Server;
using Google.Protobuf.Reflection;
using Google.Rpc;
using Microsoft.OpenApi.Models;

namespace Campaigns.Silo.Hosting;

/// <summary>
/// The API as HTTP/JSON on the HTTP port: gRPC JSON transcoding of the routes the protos'
/// google.api.http annotations give, the same interceptor and error reasons, and their OpenAPI
/// document at /openapi.json.
/// </summary>
public static class HttpJson
{
    // Named "openapi", so the route template "{documentName}.json" serves it at /openapi.json.
    private const string OpenApiDocument = "openapi";

    public static IGrpcServerBuilder AddCampaignsHttpJson(this IGrpcServerBuilder grpc)
    {
        // The error details the API sends (ApiErrors), so an HTTP error body can spell them out.
        grpc.AddJsonTranscoding(json => json.TypeRegistry = TypeRegistry.FromMessages(ErrorInfo.Descriptor, RetryInfo.Descriptor));
        grpc.Services.AddGrpcSwagger();
        grpc.Services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc(OpenApiDocument, new() { Title = "Campaigns API v1 (HTTP/JSON)", Version = "v1" });
            // The proto files' comments (roles, idempotency keys, refusals) describe the routes and fields.
            var protoComments = Path.Combine(AppContext.BaseDirectory, "Campaigns.Proto.xml");
            if (File.Exists(protoComments))
            {
                swagger.IncludeGrpcXmlComments(protoComments, includeControllerXmlComments: true);
            }

            // Every route takes the API key as a bearer token, as gRPC calls do.
            var bearer = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A Campaigns API key: Authorization: Bearer <key>",
                Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = "apiKey" },
            };
            swagger.AddSecurityDefinition("apiKey", bearer);
            swagger.AddSecurityRequirement(new OpenApiSecurityRequirement { [bearer] = [] });
        });
        return grpc;
    }

    public static void UseCampaignsHttpJson(this WebApplication app)
    {
        app.UseMiddleware<JsonErrorReasons>();
        app.UseSwagger(swagger => swagger.RouteTemplate = "{documentName}.json");
    }
}
