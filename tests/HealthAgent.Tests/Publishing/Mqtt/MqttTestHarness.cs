using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Mqtt;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>An agent directory: agent.json pointing at a test broker, and its state directory.</summary>
public sealed class AgentDir : IDisposable
{
    public AgentDir(MosquittoBroker broker, string agentId = "test-agent", int willDelaySeconds = 0, string mqttExtra = "", string sources = "{}",
        double reconnectMaxDelaySeconds = 1, int keepAliveSeconds = 5)
    {
        Path = Directory.CreateTempSubdirectory("healthagent-e2e-").FullName;
        AgentId = agentId;
        var maxDelay = reconnectMaxDelaySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(ConfigFile, $$"""
            {
              "agentId": "{{agentId}}",
              "stateDirectory": "state",
              "logLevel": "Debug",
              "sources": {{sources}},
              "publishers": {
                "mqtt": { "host": "{{broker.Host}}", "port": {{broker.Port}}, "willDelaySeconds": {{willDelaySeconds}}, "keepAliveSeconds": {{keepAliveSeconds}}, "reconnectMaxDelaySeconds": {{maxDelay}}{{mqttExtra}} }
              }
            }
            """);
    }

    /// <summary>
    /// Sources for a child agent: every kernel source off except powersupply, polled every <paramref name="intervalSeconds"/>
    /// under a host root with one mains adapter (<see cref="SetMains"/> flips it: each flip is an event).
    /// </summary>
    public string MainsOnlySources(double intervalSeconds)
    {
        var dir = System.IO.Path.Combine(HostRoot, "sys/class/power_supply/AC");
        Directory.CreateDirectory(dir);
        File.WriteAllText(System.IO.Path.Combine(dir, "type"), "Mains\n");
        SetMains(true);
        var i = intervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $$"""
            { "redfish": { "enabled": false }, "frontPanel": { "enabled": false }, "hwmon": { "enabled": false }, "nic": { "enabled": false },
              "smart": { "enabled": false }, "mdraid": { "enabled": false },
              "powersupply": { "hostRoot": "{{HostRoot}}", "intervalSeconds": {{i}} } }
            """;
    }

    public string HostRoot => System.IO.Path.Combine(Path, "host");

    /// <summary>Mains adapter online (ok) or not (warning): written atomically, as sysfs shows a whole value.</summary>
    public void SetMains(bool online)
    {
        var file = System.IO.Path.Combine(HostRoot, "sys/class/power_supply/AC/online");
        File.WriteAllText(file + ".tmp", online ? "1\n" : "0\n");
        File.Move(file + ".tmp", file, overwrite: true);
    }

    /// <summary>Rewrites agent.json's sources (for a child agent started afterwards).</summary>
    public void UseSources(string sources)
    {
        var json = JsonNode.Parse(File.ReadAllText(ConfigFile))!.AsObject();
        json["sources"] = JsonNode.Parse(sources);
        File.WriteAllText(ConfigFile, json.ToJsonString());
    }

    public string Path { get; }
    public string AgentId { get; }
    public string ConfigFile => System.IO.Path.Combine(Path, "agent.json");
    public string StateDirectory => System.IO.Path.Combine(Path, "state");
    public string Root => "healthagent/v1/" + AgentId;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path, true); } catch (IOException) { }
    }
}

/// <summary>
/// The real pipeline and MQTT publisher in-process, fed by a <see cref="ScriptedSource"/> (polled hourly, pushing
/// each change) or by the given source on its options' schedule, evaluated with the given rules (default: the seed).
/// </summary>
public sealed class InProcessAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _run;
    private readonly ScriptedSource? _scripted;

    public InProcessAgent(AgentDir dir, ILoggerFactory? loggers = null, ISource? source = null, SourceOptions? options = null, RuleSet? rules = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        var config = AgentConfig.Load(dir.ConfigFile);
        _scripted = source is null ? new ScriptedSource() : null;
        var ctx = new PublisherContext(config, loggers, TimeProvider.System, dir.AgentId, "test-boot", () => []);
        Publisher = (MqttPublisher)PublisherCatalog.CreateEnabled(ctx).Single();
        Pipeline = new HealthPipeline(dir.AgentId, "test-boot", rules ?? PipelineFixtures.Seed, config.StateDirectory,
            [(source ?? _scripted!, options ?? new SourceOptions { IntervalSeconds = 3600 })], [Publisher], loggers);
        _run = Pipeline.RunAsync(_cts.Token);
    }

    /// <summary>The scripted source (only when no other source was given).</summary>
    public ScriptedSource Source => _scripted ?? throw new InvalidOperationException("this agent runs the source it was given, not a scripted one");
    public MqttPublisher Publisher { get; }
    public HealthPipeline Pipeline { get; }

    public async Task WaitOnlineAsync(TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (!Publisher.IsOnline)
        {
            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(10))) throw new TimeoutException("publisher never came online");
            await Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        await _cts.CancelAsync();
        await _run;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_cts.IsCancellationRequested) await StopAsync();
        await Pipeline.DisposeAsync();
        _cts.Dispose();
    }
}

/// <summary>`healthagent run` as a child process (<see cref="AgentCommand"/>), for SIGKILL and SIGTERM tests.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new();

    public AgentProcess(AgentDir dir, IReadOnlyDictionary<string, string>? environment = null) : this(dir.ConfigFile, dir.Path, null, environment) { }

    public AgentProcess(string configFile, string workingDirectory, IEnumerable<string>? args = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = AgentCommand.StartInfo(args ?? ["run", "--config", configFile]);
        psi.WorkingDirectory = workingDirectory;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        _p = new Process { StartInfo = psi };
        _p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _p.Start();
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    public string Output { get { lock (_out) return _out.ToString(); } }
    public int Id => _p.Id;
    public bool HasExited => _p.HasExited;

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _p.WaitForExitAsync(cts.Token);
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_p.HasExited || sw.Elapsed > timeout) throw new TimeoutException($"'{text}' not seen; output:\n{Output}");
            await Task.Delay(25);
        }
    }

    public void Kill() { if (!_p.HasExited) { _p.Kill(); _p.WaitForExit(5000); } }

    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        ProcessRunner.SendSigterm(_p.Id);
        using var cts = new CancellationTokenSource(timeout);
        await _p.WaitForExitAsync(cts.Token);
        return _p.ExitCode;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _p.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A subscriber that survives broker restarts (persistent session, QoS 1, reconnecting), collecting every message of
/// a filter in arrival order. MQTTnet; its handlers only enqueue.
/// </summary>
public sealed class Collector : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly MqttClientOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly string _filter;
    private Task _reconnect = Task.CompletedTask;
    public readonly ConcurrentQueue<(string Topic, JsonObject Json)> Messages = new();

    private Collector(MosquittoBroker broker, string filter)
    {
        _filter = filter;
        _options = new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("collector-" + Guid.NewGuid().ToString("N")[..8]).WithCleanStart(false).WithSessionExpiryInterval(600)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(5)).Build();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Messages.Enqueue((e.ApplicationMessage.Topic, JsonNode.Parse(e.ApplicationMessage.Payload.ToArray())!.AsObject()));
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// Broker options for tests whose collector must see every event: mosquitto queues at most 1000 messages for a
    /// subscriber that reads slower than the agent drains its outbox (max_queued_messages; it then logs "Outgoing
    /// messages are being dropped") — a broker limit, not a publisher loss. 0 lifts it.
    /// </summary>
    public static MosquittoBrokerOptions QueueEverything(bool persistence = false, string logType = "all") =>
        new() { Persistence = persistence, LogType = logType, ExtraConfigLines = ["max_queued_messages 0"] };

    public static async Task<Collector> StartAsync(MosquittoBroker broker, string filter)
    {
        var c = new Collector(broker, filter);
        await c._client.ConnectAsync(c._options);
        await c._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f => f.WithTopic(filter).WithAtLeastOnceQoS()).Build());
        c._client.DisconnectedAsync += _ =>
        {
            if (!c._cts.IsCancellationRequested && c._reconnect.IsCompleted) c._reconnect = Task.Run(c.ReconnectAsync);
            return Task.CompletedTask;
        };
        return c;
    }

    private async Task ReconnectAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, _cts.Token);
                if (_client.IsConnected) return;
                // the session (and its subscription) is kept by the broker: no new SUBSCRIBE
                await _client.ConnectAsync(_options, _cts.Token);
                return;
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e) when (e is MqttCommunicationException or InvalidOperationException) { } // down, or connect/disconnect pending
        }
    }

    public async Task WaitForAsync(Func<IReadOnlyList<JsonObject>, bool> done, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!done(Messages.Select(m => m.Json).ToList()))
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"collector ({_filter}) has {Messages.Count} messages");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try { await _reconnect; } catch (OperationCanceledException) { }
        try { if (_client.IsConnected) await _client.DisconnectAsync(); } catch (Exception e) when (e is MqttCommunicationException or InvalidOperationException or ObjectDisposedException or OperationCanceledException) { }
        _client.Dispose();
        _cts.Dispose();
    }
}

/// <summary>Collects formatted log lines (a real ILoggerProvider).</summary>
public sealed class LogLines : ILoggerProvider, ILogger
{
    public readonly ConcurrentQueue<string> Lines = new();
    public ILogger CreateLogger(string categoryName) => this;
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue(formatter(state, exception));
    public void Dispose() { }
    public int Count(string text) => Lines.Count(l => l.Contains(text, StringComparison.Ordinal));
    public override string ToString() => string.Join('\n', Lines);
}
