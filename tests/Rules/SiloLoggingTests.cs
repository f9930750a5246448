using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Campaigns.Tests.Rules;

/// <summary>What the silo logs by default, with its own appsettings.json (copied beside the tests).</summary>
public sealed class SiloLoggingTests
{
    [Theory]
    [InlineData("Polly")] // Orleans' placement runs each call through a Polly pipeline that logs every execution
    [InlineData("Orleans.Runtime.Catalog")]
    [InlineData("Microsoft.AspNetCore.Routing.EndpointMiddleware")]
    public void Chatter_below_a_warning_is_quiet_by_default(string category)
    {
        using var factory = SiloLoggers();

        var logger = factory.CreateLogger(category);

        Assert.False(logger.IsEnabled(LogLevel.Information), $"{category} logs at information level");
        Assert.True(logger.IsEnabled(LogLevel.Warning));
    }

    [Theory]
    [InlineData("Campaigns")]
    [InlineData("Campaigns.Grains.Campaigns.CampaignGrain")]
    [InlineData("Campaigns.Silo.Hosting.LedgerActivityLog")]
    public void The_services_own_information_is_kept(string category)
    {
        using var factory = SiloLoggers();

        Assert.True(factory.CreateLogger(category).IsEnabled(LogLevel.Information));
    }

    private static ILoggerFactory SiloLoggers()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false)
            .Build();
        return LoggerFactory.Create(logging => logging
            .AddConfiguration(configuration.GetSection("Logging"))
            .AddProvider(new EverythingProvider()));
    }

    /// <summary>A provider that would write anything: what is enabled is then the configuration's filter alone.</summary>
    private sealed class EverythingProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Everything();

        public void Dispose()
        {
        }

        private sealed class Everything : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
            }
        }
    }
}
