using System.CommandLine;
using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Web;
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

    /// <summary>
    /// Lets the thread pool start 16 workers without delay. Sources do blocking I/O on pool threads (sysfs, ptys,
    /// pipes: .NET on Unix reads pipes and ttys by blocking a pool thread); with 2 cores the pool otherwise adds a
    /// thread only every ~0.5 s once those are busy, which showed as 0.5–0.9 s fault-to-MQTT outliers
    /// (docs/performance-pipeline.md). Idle threads cost only their stacks.
    /// </summary>
    public static void ConfigureThreadPool()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < 16) ThreadPool.SetMinThreads(16, io);
    }

    public static async Task<int> RunAsync(string? configPath, CancellationToken ct)
    {
        AgentConfig config;
        try { config = AgentConfig.Load(configPath); }
        catch (ConfigException e) { await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false); return 1; }

        ConfigureThreadPool();
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
        // The pipeline is a singleton so other hosted parts (the web view) can take IHealthState from DI.
        builder.Services.AddSingleton(sp => AgentService.CreatePipeline(config, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<IHealthState>(sp => sp.GetRequiredService<HealthPipeline>());
        builder.Services.AddHostedService<AgentService>();
        using var host = builder.Build();
        try
        {
            host.Services.GetRequiredService<HealthPipeline>(); // sources, publishers, state: fail here with a clear message
            await host.RunAsync(ct).ConfigureAwait(false);
        }
        catch (ConfigException e) { await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false); return 1; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            await Console.Error.WriteLineAsync($"cannot use the state directory {config.StateDirectory}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        return Environment.ExitCode;
    }
}

/// <summary>The pipeline as a hosted service: started by the host, stopped on SIGTERM/Ctrl+C (the container disposes it).</summary>
internal sealed partial class AgentService(AgentConfig config, HealthPipeline pipeline, ILoggerFactory loggers) : BackgroundService
{
    /// <summary>Sources and publishers from their catalogs, around one pipeline. Throws <see cref="ConfigException"/>.</summary>
    public static HealthPipeline CreatePipeline(AgentConfig config, ILoggerFactory loggers)
    {
        var time = TimeProvider.System;
        var agentId = config.Agent.EffectiveAgentId;
        var bootId = HealthPipeline.ReadBootId();
        Directory.CreateDirectory(config.StateDirectory);
        var sources = SourceCatalog.CreateEnabled(config, new SourceContext(loggers, config.Rules, time));
        HealthPipeline? pipeline = null;
        var publishers = PublisherCatalog.CreateEnabled(new PublisherContext(config, loggers, time, agentId, bootId, () => pipeline?.SourceStats ?? []));
        pipeline = new HealthPipeline(agentId, bootId, config.Rules, config.StateDirectory,
            sources.Select(s => (s, config.Sources[s.Name])).ToList(), publishers, loggers, time);
        return pipeline;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var log = loggers.CreateLogger("HealthAgent");
        LogConfig(log, config.Source, config.StateDirectory, config.Rules.Version);
        // The System Health Monitoring view, when web.enabled: it reads the pipeline through IHealthState.
        var webOptions = config.Web;
        await using var web = webOptions.Enabled ? await StartWebAsync(webOptions, log, stoppingToken).ConfigureAwait(false) : null;
        await pipeline.RunAsync(stoppingToken).ConfigureAwait(false);
    }

    /// <summary>A method of its own, so ASP.NET Core (Kestrel, routing, hosting) is loaded only when the web view is enabled.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private async Task<IAsyncDisposable?> StartWebAsync(WebOptions options, ILogger log, CancellationToken ct)
    {
        var web = await WebServer.StartAsync(options, pipeline, config.Rules, loggers,
            new WebServerSettings
            {
                RulesDirectory = config.Agent.RulesDirectory is { Length: > 0 } rd ? config.ResolvePath(rd) : null,
                RulesReloaded = pipeline.UseRules,
            }, ct).ConfigureAwait(false);
        if (web is not null) LogWeb(log, string.Join(", ", web.Addresses));
        return web;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "System Health Monitoring web view on {Addresses}")]
    private static partial void LogWeb(ILogger logger, string addresses);

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration {Source}; state in {StateDirectory}; rules version {Rules}")]
    private static partial void LogConfig(ILogger logger, string source, string stateDirectory, string rules);
}
