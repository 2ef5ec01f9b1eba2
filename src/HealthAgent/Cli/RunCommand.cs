using System.CommandLine;
using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent run [--config FILE]`: the agent under the .NET Generic Host. Console logging (one line per
/// message; systemd's journal picks it up with priorities when JOURNAL_STREAM is set). SIGTERM or Ctrl+C stops it
/// cleanly: sources stop, the outbox is flushed as far as the broker allows, "offline" is published, DISCONNECT.
/// Exit codes: 0 clean stop, 1 configuration error.
/// </summary>
public static class RunCommand
{
    public static Command Build()
    {
        var cmd = new Command("run", "Run the agent: poll sources, track health, publish over MQTT/OTLP");
        cmd.SetAction((p, ct) => RunAsync(p.GetValue(CommandCatalog.ConfigOption), ct));
        return cmd;
    }

    public static async Task<int> RunAsync(string? configPath, CancellationToken ct)
    {
        AgentConfig config;
        var errors = new List<string>();
        try
        {
            config = AgentConfig.Load(configPath);
            PublisherCatalog.BindAll(config, errors);
        }
        catch (ConfigException e) { await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false); return 1; }
        if (errors.Count > 0) { await Console.Error.WriteLineAsync(new ConfigException(errors).Message).ConfigureAwait(false); return 1; }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(config.Agent.LogLevel, ignoreCase: true));
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null)
            builder.Logging.AddSystemdConsole(o => o.TimestampFormat = null); // journald adds time and host; <N> prefixes carry priority
        else
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; o.UseUtcTimestamp = true; o.ColorBehavior = LoggerColorBehavior.Default; });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(config);
        builder.Services.AddHostedService<AgentService>();
        using var host = builder.Build();
        try
        {
            await host.RunAsync(ct).ConfigureAwait(false);
        }
        catch (ConfigException e) { await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false); return 1; }
        return Environment.ExitCode;
    }
}

/// <summary>The pipeline as a hosted service: started by the host, stopped on SIGTERM/Ctrl+C.</summary>
internal sealed partial class AgentService(AgentConfig config, ILoggerFactory loggers, IHostApplicationLifetime lifetime) : BackgroundService
{
    private HealthPipeline? _pipeline;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var log = loggers.CreateLogger("HealthAgent");
        var time = TimeProvider.System;
        var agentId = config.Agent.EffectiveAgentId;
        var bootId = HealthPipeline.ReadBootId();
        Directory.CreateDirectory(config.StateDirectory);
        try
        {
            var sources = SourceCatalog.CreateEnabled(config, new SourceContext(loggers, config.Rules, time));
            var withOptions = sources.Select(s => (s, config.Sources[s.Name])).ToList();
            HealthPipeline? pipeline = null;
            var publishers = PublisherCatalog.CreateEnabled(new PublisherContext(config, loggers, time, agentId, bootId, () => pipeline?.SourceStats ?? []));
            _pipeline = pipeline = new HealthPipeline(agentId, bootId, config.Rules, config.StateDirectory, withOptions, publishers, loggers, time);
            LogConfig(log, config.Source, config.StateDirectory, config.Rules.Version);
            await pipeline.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            LogFatal(log, e.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_pipeline is not null) await _pipeline.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration {Source}; state in {StateDirectory}; rules version {Rules}")]
    private static partial void LogConfig(ILogger logger, string source, string stateDirectory, string rules);
    [LoggerMessage(Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogFatal(ILogger logger, string message);
}
