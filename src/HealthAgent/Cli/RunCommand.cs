using System.CommandLine;
using HealthAgent.Config;
using HealthAgent.Model;
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
/// `healthagent run [--config FILE] [--once] [--log-level LEVEL]`: the agent under the .NET Generic Host. Console
/// logging (one line per message; systemd's journal picks it up with priorities when JOURNAL_STREAM is set). SIGTERM
/// or Ctrl+C stops it cleanly: sources stop, the outbox is flushed as far as the broker allows, "offline" is
/// published, DISCONNECT. SIGHUP reloads the rule tables and the live parts of agent.json (<see cref="ConfigReload"/>).
/// Exit codes: 0 clean stop, 1 configuration error. With --once: one poll of every source, published and flushed,
/// then 0 ok/info, 1 warning, 2 critical, 3 unknown (a component or source could not be told, or the configuration
/// is invalid) — critical and warning win over unknown, as in the Nagios plugin convention.
/// </summary>
public static class RunCommand
{
    public const int OnceOk = 0, OnceWarning = 1, OnceCritical = 2, OnceUnknown = 3;

    public static Command Build()
    {
        var once = new Option<bool>("--once") { Description = "Poll every source once, publish, flush, exit 0/1/2/3 = ok/warning/critical/unknown" };
        var cmd = new Command("run", "Run the agent: poll sources, track health, publish over MQTT/OTLP (SIGHUP reloads rules and config)") { once };
        cmd.SetAction((p, ct) => RunAsync(p.GetValue(CommandCatalog.ConfigOption), p.GetValue(CommandCatalog.LogLevelOption), p.GetValue(once), ct));
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

    public static Task<int> RunAsync(string? configPath, CancellationToken ct) => RunAsync(configPath, null, false, ct);

    public static async Task<int> RunAsync(string? configPath, string? logLevel, bool once, CancellationToken ct)
    {
        var configError = once ? OnceUnknown : 1;
        if (logLevel is not null && !LogLevels.TryParse(logLevel, out _))
        {
            await Console.Error.WriteLineAsync($"--log-level: unknown level '{logLevel}' ({LogLevels.Names})").ConfigureAwait(false);
            return configError;
        }
        AgentConfig config;
        try { config = AgentConfig.Load(configPath); }
        catch (ConfigException e) { await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false); return configError; }

        ConfigureThreadPool();
        var levels = new LogLevelSwitch(logLevel ?? config.Agent.LogLevel, fixedByOption: logLevel is not null);
        if (once) return await RunOnceAsync(config, levels, ct).ConfigureAwait(false);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        ConfigureLogging(builder.Logging, levels);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(new ConfigReload(configPath, config, levels));
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
            await Console.Error.WriteLineAsync(StateDirectoryError(config, e)).ConfigureAwait(false);
            return 1;
        }
        return Environment.ExitCode;
    }

    private static string StateDirectoryError(AgentConfig config, Exception e) =>
        $"cannot use the state directory {config.StateDirectory}: {e.Message} (agent.json stateDirectory, or HEALTHAGENT_STATEDIRECTORY=DIR; the installed service gets /var/lib/healthagent from its StateDirectory=)";

    /// <summary>Console (or journald) logging at the switch's level, which SIGHUP may change.</summary>
    internal static void ConfigureLogging(ILoggingBuilder logging, LogLevelSwitch levels)
    {
        logging.SetMinimumLevel(LogLevel.Trace);
        logging.AddFilter((_, _, level) => level >= levels.Level);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        ConsoleLog.AddTo(logging); // one line per entry; journald (JOURNAL_STREAM) gets <N> priorities and no time
    }

    private static async Task<int> RunOnceAsync(AgentConfig config, LogLevelSwitch levels, CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b => ConfigureLogging(b, levels));
        HealthPipeline pipeline;
        try { pipeline = AgentService.CreatePipeline(config, loggers); }
        catch (ConfigException e) { await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false); return OnceUnknown; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            await Console.Error.WriteLineAsync(StateDirectoryError(config, e)).ConfigureAwait(false);
            return OnceUnknown;
        }
        await using (pipeline.ConfigureAwait(false))
        {
            var (worst, unknown) = await pipeline.RunOnceAsync(ct).ConfigureAwait(false);
            var code = worst switch
            {
                Severity.Critical => OnceCritical,
                Severity.Warning => OnceWarning,
                _ => unknown ? OnceUnknown : OnceOk,
            };
            var r = pipeline.Rollup;
            await Console.Out.WriteLineAsync($"{HealthWords.Name(worst)}{(unknown ? " (some components unknown)" : "")}: {r.Counts.GetValueOrDefault(Severity.Critical)} critical, {r.Counts.GetValueOrDefault(Severity.Warning)} warning, {r.Counts.GetValueOrDefault(Severity.Info)} info, {r.Counts.GetValueOrDefault(Severity.Ok)} ok; exit {code}").ConfigureAwait(false);
            return code;
        }
    }
}

/// <summary>Log level names, parsed as agent.json's logLevel is.</summary>
internal static class LogLevels
{
    public const string Names = "Trace, Debug, Information, Warning, Error, Critical, None";
    public static bool TryParse(string text, out LogLevel level) => Enum.TryParse(text, ignoreCase: true, out level) && Enum.IsDefined(level);
}

/// <summary>The minimum log level, changeable while running (SIGHUP); --log-level pins it.</summary>
internal sealed class LogLevelSwitch(string initial, bool fixedByOption)
{
    private volatile int _level = LogLevels.TryParse(initial, out var l) ? (int)l : (int)LogLevel.Information;
    public LogLevel Level { get => (LogLevel)_level; set => _level = (int)value; }
    /// <summary>True when --log-level set it: agent.json's logLevel is then not applied on reload.</summary>
    public bool FixedByOption { get; } = fixedByOption;
}

/// <summary>The pipeline as a hosted service: started by the host, stopped on SIGTERM/Ctrl+C (the container disposes it).</summary>
internal sealed partial class AgentService(AgentConfig config, HealthPipeline pipeline, ILoggerFactory loggers, ConfigReload reload) : BackgroundService
{
    /// <summary>Sources and publishers from their catalogs, around one pipeline. Throws <see cref="ConfigException"/>.</summary>
    public static HealthPipeline CreatePipeline(AgentConfig config, ILoggerFactory loggers)
    {
        var time = TimeProvider.System;
        var agentId = config.Agent.EffectiveAgentId;
        var bootId = HealthPipeline.ReadBootId();
        Directory.CreateDirectory(config.StateDirectory);
        var sources = SourceCatalog.CreateEnabled(config, new SourceContext(loggers, config.Rules, time) { RuleHolder = config.RuleHolder });
        HealthPipeline? pipeline = null;
        var publishers = PublisherCatalog.CreateEnabled(new PublisherContext(config, loggers, time, agentId, bootId, () => pipeline?.SourceStats ?? []));
        pipeline = new HealthPipeline(agentId, bootId, config.Rules, config.StateDirectory,
            sources.Select(s => (s, config.Sources[s.Name])).ToList(), publishers, loggers, time);
        config.RuleHolder.Changed += pipeline.UseRules;
        return pipeline;
    }


    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var log = loggers.CreateLogger("HealthAgent");
        LogConfig(log, config.Source, config.StateDirectory, config.Rules.Version);
        // The System Health Monitoring view, when web.enabled: it reads the pipeline through IHealthState.
        var webOptions = config.Web;
        await using var web = webOptions.Enabled ? await StartWebAsync(webOptions, log, stoppingToken).ConfigureAwait(false) : null;
        // SIGHUP (systemctl reload): rules and the live parts of agent.json; the handler only queues, the loop reloads.
        using var hup = reload.Listen(pipeline, config.RuleHolder.Replace, loggers.CreateLogger("HealthAgent.Reload"), stoppingToken);
        _ = StartMemory.ReleaseAfterStartAsync(log, stoppingToken); // start-up garbage and code pages given back
        await pipeline.RunAsync(stoppingToken).ConfigureAwait(false);
    }

    /// <summary>A method of its own, so ASP.NET Core (Kestrel, routing, hosting) is loaded only when the web view is enabled.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private async Task<IAsyncDisposable?> StartWebAsync(WebOptions options, ILogger log, CancellationToken ct)
    {
        var web = await WebServer.StartAsync(options, pipeline, config.Rules, loggers,
            new WebServerSettings
            {
                RulesDirectory = config.RulesDirectory,
                RulesReloaded = config.RuleHolder.Replace, // the one rule set: the pipeline, sources and MQTT info follow
            }, ct).ConfigureAwait(false);
        if (web is not null) LogWeb(log, string.Join(", ", web.Addresses));
        if (web is not null) config.RuleHolder.Changed += web.UseRules; // a SIGHUP reload reaches the web view too
        return web;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "System Health Monitoring web view on {Addresses}")]
    private static partial void LogWeb(ILogger logger, string addresses);

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration {Source}; state in {StateDirectory}; rules version {Rules}")]
    private static partial void LogConfig(ILogger logger, string source, string stateDirectory, string rules);
}
