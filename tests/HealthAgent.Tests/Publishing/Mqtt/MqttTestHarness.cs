using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using HealthAgent.Config;
using HealthAgent.Mqtt;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Mqtt;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.TestSupport;
using HealthAgent.Tests.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>An agent directory: agent.json pointing at a test broker, and its state directory.</summary>
public sealed class AgentDir : IDisposable
{
    public AgentDir(MosquittoBroker broker, string agentId = "test-agent", int willDelaySeconds = 0)
    {
        Path = Directory.CreateTempSubdirectory("healthagent-e2e-").FullName;
        AgentId = agentId;
        File.WriteAllText(ConfigFile, $$"""
            {
              "agentId": "{{agentId}}",
              "stateDirectory": "state",
              "logLevel": "Debug",
              "sources": {},
              "publishers": {
                "mqtt": { "host": "{{broker.Host}}", "port": {{broker.Port}}, "willDelaySeconds": {{willDelaySeconds}}, "keepAliveSeconds": 5, "reconnectMaxDelaySeconds": 1 }
              }
            }
            """);
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
        var config = Config = AgentConfig.Load(dir.ConfigFile);
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
    public AgentConfig Config { get; }

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

    public AgentProcess(AgentDir dir) : this(dir.ConfigFile, dir.Path) { }

    public AgentProcess(string configFile, string workingDirectory, IEnumerable<string>? args = null)
    {
        var psi = AgentCommand.StartInfo(args ?? ["run", "--config", configFile]);
        psi.WorkingDirectory = workingDirectory;
        _p = new Process { StartInfo = psi };
        _p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _p.Start();
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    public string Output { get { lock (_out) return _out.ToString(); } }
    public int Id => _p.Id;

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
/// A subscriber that survives broker restarts (persistent session, reconnecting), collecting every message of
/// a filter in arrival order.
/// </summary>
public sealed class Collector : IAsyncDisposable
{
    private readonly MqttClient _client;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private readonly string _filter;
    public readonly ConcurrentQueue<(string Topic, JsonObject Json)> Messages = new();

    private Collector(MosquittoBroker broker, string filter)
    {
        _filter = filter;
        _client = new MqttClient(new MqttClientOptions
        {
            Host = broker.Host, Port = broker.Port, ClientId = "collector-" + Guid.NewGuid().ToString("N")[..8],
            CleanStart = false, SessionExpirySeconds = 600, KeepAliveSeconds = 5,
        });
        _loop = Task.Run(LoopAsync);
    }

    public static async Task<Collector> StartAsync(MosquittoBroker broker, string filter)
    {
        var c = new Collector(broker, filter);
        await c._client.ConnectAsync();
        await c._client.SubscribeAsync([new MqttTopicFilter(filter, MqttQos.AtLeastOnce)]);
        c._client.ConnectionLost += lost => Task.Run(c.ReconnectAsync);
        return c;
    }

    private async Task ReconnectAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            try { await _client.ConnectAsync(_cts.Token); return; }
            catch (Exception e) when (e is not OperationCanceledException) { await Task.Delay(100); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var m in _client.Messages.ReadAllAsync(_cts.Token))
                Messages.Enqueue((m.Topic, JsonNode.Parse(m.Payload.Span)!.AsObject()));
        }
        catch (OperationCanceledException) { }
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
        try { await _client.DisconnectAsync(); } catch (Exception e) when (e is MqttException or IOException or InvalidOperationException or ObjectDisposedException) { }
        await _client.DisposeAsync();
        await _loop;
        _cts.Dispose();
    }
}
