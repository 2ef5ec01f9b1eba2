using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HealthAgent.Mqtt;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent mqtt pub|sub|bench`: mosquitto_pub/mosquitto_sub-style tools on the project's own MQTT client.
/// As in mosquitto's tools, `-h` is the host here; use `--help` for help.
/// </summary>
public static class MqttCommand
{
    public static Command Build()
    {
        var mqtt = new Command("mqtt", "MQTT tools: publish, subscribe, benchmark (mosquitto_pub/mosquitto_sub style flags; --help for help)");
        mqtt.Subcommands.Add(BuildPub());
        mqtt.Subcommands.Add(BuildSub());
        mqtt.Subcommands.Add(BuildBench());
        return mqtt;
    }

    /// <summary>Connection flags shared by the three verbs.</summary>
    private sealed class Common
    {
        public readonly Option<string> Host = new("-h", "--host") { Description = "Broker host", DefaultValueFactory = _ => "127.0.0.1" };
        public readonly Option<int> Port = new("-p", "--port") { Description = "Broker port (default 1883, 8883 with --cafile)" };
        public readonly Option<string> Version = new("-V", "--protocol-version") { Description = "MQTT version: 5 or 311", DefaultValueFactory = _ => "5" };
        public readonly Option<string?> User = new("-u", "--username") { Description = "User name" };
        public readonly Option<string?> Password = new("-P", "--pw") { Description = "Password" };
        public readonly Option<string?> CaFile = new("--cafile") { Description = "CA certificate (PEM) that signs the broker's certificate; enables TLS" };
        public readonly Option<bool> Tls = new("--tls") { Description = "TLS validated against the system trust store" };
        public readonly Option<string?> Cert = new("--cert") { Description = "Client certificate (PEM) for mutual TLS" };
        public readonly Option<string?> Key = new("--key") { Description = "Private key (PEM) of --cert" };
        public readonly Option<string?> Pin = new("--pin-sha256") { Description = "SHA-256 fingerprint the broker's certificate must have" };
        public readonly Option<string?> ServerName = new("--tls-server-name") { Description = "TLS server name (SNI), default the host" };
        public readonly Option<string?> ClientId = new("-i", "--id") { Description = "Client id (default: generated)" };
        public readonly Option<int> KeepAlive = new("-k", "--keepalive") { Description = "Keep-alive seconds", DefaultValueFactory = _ => 60 };

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Host, Port, Version, User, Password, CaFile, Tls, Cert, Key, Pin, ServerName, ClientId, KeepAlive })
                c.Options.Add(o);
            // mosquitto's tools use -h for the host; keep --help (and -?) for help on these verbs
            c.Options.Add(new System.CommandLine.Help.HelpOption("--help", "-?"));
        }

        public MqttClientOptions ToOptions(ParseResult r, string idPrefix)
        {
            var v = r.GetValue(Version)?.Trim().ToLowerInvariant() switch
            {
                "5" or "mqttv5" or "50" => MqttProtocolVersion.V500,
                "311" or "mqttv311" or "4" => MqttProtocolVersion.V311,
                var other => throw new ArgumentException($"-V must be 5 or 311, not '{other}'"),
            };
            var tls = r.GetValue(CaFile) is not null || r.GetValue(Tls) || r.GetValue(Pin) is not null || r.GetValue(Cert) is not null;
            var port = r.GetValue(Port);
            var id = r.GetValue(ClientId);
            return new MqttClientOptions
            {
                Host = r.GetValue(Host) ?? "127.0.0.1",
                Port = port > 0 ? port : tls ? 8883 : 1883,
                ProtocolVersion = v,
                ClientId = string.IsNullOrEmpty(id) ? $"{idPrefix}-{Environment.ProcessId}-{Random.Shared.Next(100000):D5}" : id,
                Username = r.GetValue(User),
                Password = r.GetValue(Password),
                KeepAliveSeconds = (ushort)Math.Clamp(r.GetValue(KeepAlive), 0, 65535),
                Tls = tls
                    ? new MqttTlsOptions
                    {
                        CaFile = r.GetValue(CaFile),
                        CertificateFile = r.GetValue(Cert),
                        KeyFile = r.GetValue(Key),
                        PinnedSha256Fingerprint = r.GetValue(Pin),
                        ServerName = r.GetValue(ServerName),
                    }
                    : null,
            };
        }
    }

    private static Option<int> QosOption() => new("-q", "--qos") { Description = "QoS 0 or 1", DefaultValueFactory = _ => 0 };

    private static MqttQos ParseQos(int q, int max) =>
        q >= 0 && q <= max ? (MqttQos)q : throw new ArgumentException($"-q must be between 0 and {max}");

    private static Command BuildPub()
    {
        var common = new Common();
        var topic = new Option<string>("-t", "--topic") { Description = "Topic to publish to", Required = true };
        var message = new Option<string?>("-m", "--message") { Description = "Message payload" };
        var nullMessage = new Option<bool>("-n", "--null-message") { Description = "Send a zero-length message" };
        var stdin = new Option<bool>("-s", "--stdin-file") { Description = "Read the whole message from stdin" };
        var qos = QosOption();
        var retain = new Option<bool>("-r", "--retain") { Description = "Retain the message" };
        var cmd = new Command("pub", "Publish one message; with -q 1 exits 0 only after the broker's PUBACK (success code)");
        common.AddTo(cmd);
        foreach (var o in new Option[] { topic, message, nullMessage, stdin, qos, retain }) cmd.Options.Add(o);
        cmd.SetAction(async (r, ct) =>
        {
            try
            {
                byte[] payload;
                if (r.GetValue(stdin))
                {
                    using var ms = new MemoryStream();
                    await Console.OpenStandardInput().CopyToAsync(ms, ct).ConfigureAwait(false);
                    payload = ms.ToArray();
                }
                else if (r.GetValue(message) is { } m) payload = Encoding.UTF8.GetBytes(m);
                else if (r.GetValue(nullMessage)) payload = [];
                else
                {
                    await Console.Error.WriteLineAsync("Give a message with -m, -n or -s.").ConfigureAwait(false);
                    return 2;
                }
                var options = common.ToOptions(r, "healthagent-pub");
                await using var client = new MqttClient(options);
                await client.ConnectAsync(ct).ConfigureAwait(false);
                var result = await client.PublishAsync(new MqttApplicationMessage
                {
                    Topic = r.GetValue(topic)!,
                    Payload = payload,
                    Qos = ParseQos(r.GetValue(qos), 1),
                    Retain = r.GetValue(retain),
                }, ct).ConfigureAwait(false);
                await client.DisconnectAsync(ct: ct).ConfigureAwait(false);
                if (!result.IsSuccess)
                {
                    await Console.Error.WriteLineAsync($"Publish refused: {result.ReasonCode.Describe()}").ConfigureAwait(false);
                    return 1;
                }
                return 0;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await Console.Error.WriteLineAsync("Error: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
        });
        return cmd;
    }

    private static Command BuildSub()
    {
        var common = new Common();
        var topics = new Option<string[]>("-t", "--topic") { Description = "Topic filter (repeatable)", Required = true, AllowMultipleArgumentsPerToken = false };
        var qos = QosOption();
        var count = new Option<int>("-C", "--count") { Description = "Exit after this many messages" };
        var verbose = new Option<bool>("-v", "--verbose") { Description = "Print the topic before the payload" };
        var wait = new Option<int>("-W", "--timeout") { Description = "Exit after this many seconds" };
        var cmd = new Command("sub", "Subscribe and print payloads one per line (-v: topic and payload); exits after -C messages or -W seconds (exit 1 if fewer than -C arrived)");
        common.AddTo(cmd);
        foreach (var o in new Option[] { topics, qos, count, verbose, wait }) cmd.Options.Add(o);
        cmd.SetAction(async (r, ct) =>
        {
            var max = r.GetValue(count);
            var seconds = r.GetValue(wait);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (seconds > 0) cts.CancelAfter(TimeSpan.FromSeconds(seconds));
            var received = 0;
            try
            {
                var options = common.ToOptions(r, "healthagent-sub");
                await using var client = new MqttClient(options);
                client.ConnectionLost += _ => cts.Cancel();
                await client.ConnectAsync(cts.Token).ConfigureAwait(false);
                var q = ParseQos(r.GetValue(qos), 2);
                var codes = await client.SubscribeAsync([.. r.GetValue(topics)!.Select(t => new MqttTopicFilter(t, q))], cts.Token).ConfigureAwait(false);
                foreach (var c in codes.Where(c => !c.IsSuccess()))
                    await Console.Error.WriteLineAsync($"Subscription refused: {c.Describe()}").ConfigureAwait(false);
                var stdout = Console.Out;
                var verboseOn = r.GetValue(verbose);
                try
                {
                    while (max <= 0 || received < max)
                    {
                        var m = await client.Messages.ReadAsync(cts.Token).ConfigureAwait(false);
                        var text = Encoding.UTF8.GetString(m.Payload.Span);
                        await stdout.WriteLineAsync(verboseOn ? m.Topic + " " + text : text).ConfigureAwait(false);
                        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        received++;
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // -W timeout (or connection lost)
                }
                if (client.IsConnected) await client.DisconnectAsync(ct: CancellationToken.None).ConfigureAwait(false);
                return max > 0 && received < max ? 1 : 0;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("Error: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
        });
        return cmd;
    }

    private static Command BuildBench()
    {
        var common = new Common();
        var topic = new Option<string>("-t", "--topic") { Description = "Topic", DefaultValueFactory = _ => "healthagent/bench" };
        var count = new Option<int>("-n", "--count") { Description = "Messages in total", DefaultValueFactory = _ => 100_000 };
        var size = new Option<int>("-s", "--size") { Description = "Payload bytes", DefaultValueFactory = _ => 16 };
        var qos = QosOption();
        var connections = new Option<int>("-c", "--connections") { Description = "Connections (the count is split between them)", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print a JSON object (messagesPerSecond, mbPerSecond, allocatedBytesPerMessage, …)" };
        var cmd = new Command("bench", "Publish -n messages of -s bytes as fast as flow control allows and report messages/s, MB/s and allocations per message");
        common.AddTo(cmd);
        foreach (var o in new Option[] { topic, count, size, qos, connections, json }) cmd.Options.Add(o);
        cmd.SetAction(async (r, ct) =>
        {
            try
            {
                var result = await RunBenchAsync(common.ToOptions(r, "healthagent-bench"), r.GetValue(topic)!, Math.Max(1, r.GetValue(count)),
                    Math.Max(0, r.GetValue(size)), ParseQos(r.GetValue(qos), 1), Math.Max(1, r.GetValue(connections)), ct).ConfigureAwait(false);
                if (r.GetValue(json))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(result, AgentJsonContext.Default.BenchResult));
                }
                else
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{result.Messages} messages × {result.PayloadBytes} B, QoS {result.Qos}, {result.Connections} connection(s), MQTT {result.ProtocolVersion}: " +
                        $"{result.Seconds:0.000} s, {result.MessagesPerSecond:0} msg/s, {result.MbPerSecond:0.00} MB/s, {result.AllocatedBytesPerMessage:0.0} B allocated/msg, {result.CpuMicrosecondsPerMessage:0.00} µs CPU/msg, {result.Failed} failed"));
                }
                return result.Failed == 0 ? 0 : 1;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await Console.Error.WriteLineAsync("Error: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
        });
        return cmd;
    }

    /// <summary>Benchmark figures (JSON names are camelCase).</summary>
    public sealed record BenchResult(int Messages, int PayloadBytes, int Qos, int Connections, string ProtocolVersion, double Seconds,
        double MessagesPerSecond, double MbPerSecond, double AllocatedBytesPerMessage, long Failed, double CpuMicrosecondsPerMessage);

    /// <summary>
    /// Each connection publishes its share from one task, reusing one message object. QoS 0 ends with a QoS 1 publish
    /// as a barrier (its PUBACK means the broker has read everything before it); QoS 1 keeps up to the server's
    /// Receive Maximum (×2, the rest waits in the client) unacknowledged.
    /// </summary>
    public static async Task<BenchResult> RunBenchAsync(MqttClientOptions baseOptions, string topic, int count, int size, MqttQos qos, int connections, CancellationToken ct)
    {
        var clients = new MqttClient[connections];
        var windows = new int[connections];
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var o = new MqttClientOptions
                {
                    Host = baseOptions.Host, Port = baseOptions.Port, ProtocolVersion = baseOptions.ProtocolVersion,
                    ClientId = $"{baseOptions.ClientId}-{i}", Username = baseOptions.Username, Password = baseOptions.Password,
                    Tls = baseOptions.Tls, KeepAliveSeconds = baseOptions.KeepAliveSeconds,
                };
                clients[i] = new MqttClient(o);
                var cr = await clients[i].ConnectAsync(ct).ConfigureAwait(false);
                windows[i] = Math.Clamp(cr.ReceiveMaximum * 2, 1024, 4096);
            }
            var payload = new byte[size];
            Random.Shared.NextBytes(payload);
            long failed = 0;
            // warm-up (JIT tiering, buffers, broker session): 5% of the count, at most 20,000, not measured
            var warm = Math.Min(count / 20, 20_000);
            if (warm > 0) await RunPhaseAsync(warm).ConfigureAwait(false);
            var gcBefore = GC.GetTotalAllocatedBytes(precise: true);
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            await RunPhaseAsync(count).ConfigureAwait(false);
            sw.Stop();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - gcBefore;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var seconds = sw.Elapsed.TotalSeconds;
            return new BenchResult(count, size, (int)qos, connections, baseOptions.ProtocolVersion == MqttProtocolVersion.V500 ? "5" : "3.1.1",
                Math.Round(seconds, 4), Math.Round(count / seconds, 1), Math.Round(count * (double)size / seconds / 1e6, 3),
                Math.Round(allocated / (double)count, 2), failed, Math.Round(cpu.TotalMicroseconds / count, 3));

            // Each connection publishes from its own thread and blocks while its window is full: the harness then
            // adds no thread-pool wake-ups (idle pool workers spin, which costs a 2-core machine ~20 %).
            Task RunPhaseAsync(int total)
            {
                var tasks = new Task[connections];
                for (var i = 0; i < connections; i++)
                {
                    var client = clients[i];
                    var share = total / connections + (i < total % connections ? 1 : 0);
                    var window = windows[i];
                    tasks[i] = RunOnThread(() =>
                    {
                        var m = new MqttApplicationMessage { Topic = topic, Payload = payload, Qos = qos };
                        if (qos == MqttQos.AtMostOnce)
                        {
                            for (var n = 0; n < share; n++)
                            {
                                var t = client.PublishAsync(m, CancellationToken.None);
                                if (!t.IsCompletedSuccessfully) t.GetAwaiter().GetResult();
                            }
                            var barrier = client.PublishAsync(new MqttApplicationMessage { Topic = topic, Payload = payload, Qos = MqttQos.AtLeastOnce }, ct).GetAwaiter().GetResult();
                            if (!barrier.IsSuccess) Interlocked.Increment(ref failed);
                        }
                        else
                        {
                            var ring = new Task<MqttPublishResult>[window];
                            for (var n = 0; n < share; n++)
                            {
                                var slot = n % window;
                                if (ring[slot] is { } old)
                                {
                                    // PUBACKs come in publish order [MQTT-4.6.0-2]: when the oldest is not done yet, wait for one
                                    // half a ring later, then refill half the ring in one go
                                    if (!old.IsCompleted && ring[(slot + window / 2) % window] is { IsCompleted: false } ahead)
                                        ((IAsyncResult)ahead).AsyncWaitHandle.WaitOne();
                                    if (!old.GetAwaiter().GetResult().IsSuccess) Interlocked.Increment(ref failed);
                                }
                                ring[slot] = client.PublishAsync(m, CancellationToken.None);
                            }
                            foreach (var t in ring)
                                if (t is not null && !t.GetAwaiter().GetResult().IsSuccess) Interlocked.Increment(ref failed);
                        }
                    });
                }
                return Task.WhenAll(tasks);
            }

            static Task RunOnThread(Action body)
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                new Thread(() =>
                {
                    try
                    {
                        body();
                        done.SetResult();
                    }
                    catch (Exception ex)
                    {
                        done.SetException(ex);
                    }
                }) { IsBackground = true, Name = "bench-publisher" }.Start();
                return done.Task;
            }
        }
        finally
        {
            foreach (var c in clients)
                if (c is not null) await c.DisposeAsync().ConfigureAwait(false);
        }
    }
}
