using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Recommender.Host.Configuration;

namespace Recommender.Host.Fleet;

/// <summary>
/// The replica's one Redis connection (StackExchange.Redis multiplexes every caller over it),
/// shared by the listen stream and the retrain lease; connected on first use, and reconnecting in
/// the background when Redis is down (the process starts and serves without it).
/// </summary>
public sealed class RedisConnection(IOptions<RedisOptions> options) : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer?> _multiplexer = new(() =>
    {
        if (!options.Value.Enabled)
        {
            return null;
        }

        var config = ConfigurationOptions.Parse(options.Value.Configuration);
        config.AbortOnConnectFail = false;
        return ConnectionMultiplexer.Connect(config);
    });

    /// <summary>Null when Redis is not configured.</summary>
    public ConnectionMultiplexer? Multiplexer => _multiplexer.Value;

    public RedisOptions Options => options.Value;

    public void Dispose()
    {
        if (_multiplexer.IsValueCreated)
        {
            _multiplexer.Value?.Dispose();
        }
    }
}
