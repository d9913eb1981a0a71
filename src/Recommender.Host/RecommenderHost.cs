namespace Recommender.Host;

/// <summary>Builds the one long-running host: configuration from config/appsettings.json, overrides, gRPC on Kestrel.</summary>
public static class RecommenderHost
{
    /// <param name="environment">Development, Production, ...; null takes ASPNETCORE_ENVIRONMENT or DOTNET_ENVIRONMENT, else Production.</param>
    public static WebApplication Build(string[] args, IReadOnlyDictionary<string, string?>? overrides = null, Action<WebApplicationBuilder>? configure = null, string? environment = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory, EnvironmentName = environment });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        builder.UseGrpcAndHttpEndpoints();
        builder.Host.UseSystemd(); // ready/stopping notifications and journal-friendly logs under systemd; nothing elsewhere
        builder.Services.AddRecommender(builder.Configuration);
        configure?.Invoke(builder);
        return builder.Build().MapRecommender();
    }
}
