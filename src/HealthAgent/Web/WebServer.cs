using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using HealthAgent.Config;
using HealthAgent.Publishing;
using HealthAgent.Rules;
using HealthAgent.Web.Api;
using HealthAgent.Web.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Web;

/// <summary>Optional extras for <see cref="WebServer.StartAsync(WebOptions, IHealthState, RuleSet, ILoggerFactory, WebServerSettings, CancellationToken)"/>.</summary>
public sealed class WebServerSettings
{
    /// <summary>The rules directory POST /api/rules/reload loads (agent.json rulesDirectory); null: reload is refused (embedded rules).</summary>
    public string? RulesDirectory { get; init; }

    /// <summary>Called with the new rule set after a successful reload, so the pipeline can evaluate with it.</summary>
    public Action<RuleSet>? RulesReloaded { get; init; }

    /// <summary>Clock for sessions and rate limits (tests move it).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// The System Health Monitoring web view: Kestrel serving the embedded page (wwwroot) and the JSON API
/// (docs/web-api.md) over an <see cref="IHealthState"/>. Start it with <see cref="StartAsync(WebOptions, IHealthState, RuleSet, ILoggerFactory, CancellationToken)"/>;
/// dispose it to stop.
/// </summary>
public sealed partial class WebServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private RuleSet _rules;

    private WebServer(WebApplication app, WebOptions options, IHealthState state, RuleSet rules, WebServerSettings settings, ILogger logger)
    {
        _app = app;
        _rules = rules;
        Options = options;
        State = state;
        Settings = settings;
        Log = logger;
        Sessions = new SessionStore(options.SessionLifetime, settings.Time);
        Limiter = new LoginRateLimiter(options.MaxFailedLoginsPerUser, options.MaxFailedLoginsPerAddress, options.LoginWindow, settings.Time);
    }

    internal WebOptions Options { get; }
    internal IHealthState State { get; }
    internal WebServerSettings Settings { get; }
    internal ILogger Log { get; }
    internal SessionStore Sessions { get; }
    internal LoginRateLimiter Limiter { get; }
    internal ConcurrentDictionary<Guid, Acknowledgement> Acknowledgements { get; } = new();
    internal RuleSet Rules { get => Volatile.Read(ref _rules); set => Volatile.Write(ref _rules, value); }
    internal CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>Answers explain and draws LEDs with a reloaded rule set (SIGHUP); the admin button sets it too.</summary>
    public void UseRules(RuleSet rules) => Rules = rules;

    /// <summary>The addresses actually listened on (with the real port when 0 was configured).</summary>
    public IReadOnlyList<string> Addresses =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>
    /// Starts the web view when <paramref name="options"/> is enabled and returns it, or returns null when disabled.
    /// Options must have been validated (<see cref="AgentConfig.Web"/>). Throws when a listener cannot bind.
    /// </summary>
    public static Task<WebServer?> StartAsync(WebOptions options, IHealthState state, RuleSet rules, ILoggerFactory loggers, CancellationToken ct) =>
        StartAsync(options, state, rules, loggers, new WebServerSettings(), ct);

    /// <inheritdoc cref="StartAsync(WebOptions, IHealthState, RuleSet, ILoggerFactory, CancellationToken)"/>
    public static async Task<WebServer?> StartAsync(WebOptions options, IHealthState state, RuleSet rules, ILoggerFactory loggers, WebServerSettings settings, CancellationToken ct)
    {
        if (!options.Enabled) return null;
        var errors = new List<string>();
        options.Validate("web", errors);
        if (errors.Count > 0) throw new Config.ConfigException(errors);

        // Unknown user names spend as long as the configured hashes do (no user enumeration by timing).
        PasswordHasher.DummyIterations = (options.Users ?? []).Select(u => PasswordHasher.IterationsOf(u.PasswordHash)).DefaultIfEmpty(PasswordHasher.DefaultIterations).Max();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "healthagent", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton(loggers));
        var certificate = options.Certificate is { } c
            ? X509CertificateLoader.LoadPkcs12FromFile(c.Path, c.Password)
            : null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            foreach (var url in options.EffectiveUrls)
            {
                var u = new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
                var ip = u.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(u.Host.Trim('[', ']'));
                k.Listen(ip, u.Port, lo => { if (u.Scheme == "https") lo.UseHttps(certificate!); });
            }
        });
        var app = builder.Build();
        var server = new WebServer(app, options, state, rules, settings, loggers.CreateLogger("HealthAgent.Web"));
        ApiEndpoints.Map(app, server);
        try { await app.StartAsync(ct).ConfigureAwait(false); }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false); // e.g. the port is taken: release what was bound
            throw;
        }
        LogListening(server.Log, string.Join(", ", server.Addresses));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await _app.StopAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "Web view listening on {Addresses}")]
    private static partial void LogListening(ILogger logger, string addresses);
}
