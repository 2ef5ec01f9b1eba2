using System.Buffers;
using System.CommandLine;
using System.Text;
using HealthAgent.Publishing.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent mqtt pub|sub`: mosquitto_pub/mosquitto_sub-style field tools on MQTTnet, for appliances without
/// mosquitto-clients. As in mosquitto's tools, `-h` is the host here; use `--help` for help. (The outbox drain
/// benchmark is bench/mqtt-bench.sh.)
/// </summary>
public static class MqttCommand
{
    public static Command Build()
    {
        var mqtt = new Command("mqtt", "MQTT tools: publish, subscribe (mosquitto_pub/mosquitto_sub style flags; --help for help)");
        mqtt.Subcommands.Add(BuildPub());
        mqtt.Subcommands.Add(BuildSub());
        return mqtt;
    }

    /// <summary>Connection flags shared by the verbs.</summary>
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
            var v5 = r.GetValue(Version)?.Trim().ToLowerInvariant() switch
            {
                "5" or "mqttv5" or "50" => true,
                "311" or "mqttv311" or "4" or "3.1.1" => false,
                var other => throw new ArgumentException($"-V must be 5 or 311, not '{other}'"),
            };
            var tls = r.GetValue(CaFile) is not null || r.GetValue(Tls) || r.GetValue(Pin) is not null || r.GetValue(Cert) is not null;
            var port = r.GetValue(Port);
            var id = r.GetValue(ClientId);
            var host = r.GetValue(Host) ?? "127.0.0.1";
            return new MqttConnection(host, port > 0 ? port : tls ? 8883 : 1883, v5,
                string.IsNullOrEmpty(id) ? $"{idPrefix}-{Environment.ProcessId}-{Random.Shared.Next(100000):D5}" : id)
            {
                Username = r.GetValue(User),
                Password = r.GetValue(Password),
                KeepAliveSeconds = (ushort)Math.Clamp(r.GetValue(KeepAlive), 0, 65535),
                Tls = tls ? new MqttTls(r.GetValue(CaFile), r.GetValue(Cert), r.GetValue(Key), r.GetValue(Pin), ServerName: r.GetValue(ServerName)) : null,
            }.Build();
        }
    }

    private static Option<int> QosOption() => new("-q", "--qos") { Description = "QoS 0 or 1", DefaultValueFactory = _ => 0 };

    private static MqttQualityOfServiceLevel ParseQos(int q, int max) =>
        q >= 0 && q <= max ? (MqttQualityOfServiceLevel)q : throw new ArgumentException($"-q must be between 0 and {max}");

    /// <summary>A connect that the broker refused, as an exception with its words (MQTTnet returns it as a result).</summary>
    private static async Task<IMqttClient> ConnectAsync(MqttClientOptions options, CancellationToken ct)
    {
        var client = MqttConnection.CreateClient(options);
        try
        {
            var result = await client.ConnectAsync(options, ct).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success) throw new InvalidOperationException("connection refused: " + MqttConnection.Describe(result));
            return client;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            client.Dispose();
            throw new InvalidOperationException($"{options.ChannelOptions}: " + MqttConnection.Describe(e), e);
        }
    }

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
                var q = ParseQos(r.GetValue(qos), 1);
                using var client = await ConnectAsync(common.ToOptions(r, "healthagent-pub"), ct).ConfigureAwait(false);
                var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(r.GetValue(topic)!)
                    .WithPayload(payload)
                    .WithQualityOfServiceLevel(q)
                    .WithRetainFlag(r.GetValue(retain))
                    .Build(), ct).ConfigureAwait(false);
                await client.DisconnectAsync(cancellationToken: ct).ConfigureAwait(false);
                if (!result.IsSuccess)
                {
                    await Console.Error.WriteLineAsync($"Publish refused: {Words(result.ReasonCode.ToString())}{(result.ReasonString is { Length: > 0 } rs ? " (" + rs + ")" : "")}").ConfigureAwait(false);
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
                var q = ParseQos(r.GetValue(qos), 2);
                // MQTTnet's handler only queues a copy; printing happens here (never block inside its handlers).
                var messages = System.Threading.Channels.Channel.CreateUnbounded<(string Topic, byte[] Payload)>();
                var options = common.ToOptions(r, "healthagent-sub");
                var client = MqttConnection.CreateClient(options);
                client.ApplicationMessageReceivedAsync += e =>
                {
                    messages.Writer.TryWrite((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
                    return Task.CompletedTask;
                };
                string? lost = null;
                client.DisconnectedAsync += e =>
                {
                    if (e.ClientWasConnected && !cts.IsCancellationRequested)
                        lost = e.Exception is { } x ? MqttConnection.Describe(x)
                            // MQTTnet reports a reset or a closed socket as NormalDisconnection too (no DISCONNECT from the broker)
                            : e.Reason == MqttClientDisconnectReason.NormalDisconnection ? "the broker closed the connection"
                            : Words(e.Reason.ToString()) + (e.ReasonString is { Length: > 0 } rs ? $" ({rs})" : "");
                    try { cts.Cancel(); } catch (ObjectDisposedException) { }
                    return Task.CompletedTask;
                };
                using var _ = client;
                try
                {
                    var cr = await client.ConnectAsync(options, cts.Token).ConfigureAwait(false);
                    if (cr.ResultCode != MqttClientConnectResultCode.Success) throw new InvalidOperationException("connection refused: " + MqttConnection.Describe(cr));
                }
                catch (Exception e) when (e is not OperationCanceledException and not InvalidOperationException)
                {
                    throw new InvalidOperationException($"{options.ChannelOptions}: " + MqttConnection.Describe(e), e);
                }
                var sub = new MqttClientSubscribeOptionsBuilder();
                foreach (var t in r.GetValue(topics)!) sub.WithTopicFilter(f => f.WithTopic(t).WithQualityOfServiceLevel(q));
                var granted = await client.SubscribeAsync(sub.Build(), cts.Token).ConfigureAwait(false);
                foreach (var item in granted.Items.Where(i => (int)i.ResultCode >= 0x80))
                    await Console.Error.WriteLineAsync($"Subscription to {item.TopicFilter.Topic} refused: {Words(item.ResultCode.ToString())}").ConfigureAwait(false);
                var stdout = Console.Out;
                var verboseOn = r.GetValue(verbose);
                try
                {
                    while (max <= 0 || received < max)
                    {
                        var m = await messages.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
                        var text = Encoding.UTF8.GetString(m.Payload);
                        await stdout.WriteLineAsync(verboseOn ? m.Topic + " " + text : text).ConfigureAwait(false);
                        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        received++;
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // -W timeout, or the connection was lost: that is an error, not the end of the messages
                    if (lost is not null) throw new InvalidOperationException("connection lost: " + lost);
                }
                if (client.IsConnected)
                {
                    using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await client.DisconnectAsync(cancellationToken: bye.Token).ConfigureAwait(false);
                }
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

    /// <summary>"NotAuthorized" → "Not authorized": MQTTnet's reason-code names as words.</summary>
    internal static string Words(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 8);
        foreach (var ch in pascal)
        {
            if (char.IsUpper(ch) && sb.Length > 0) sb.Append(' ').Append(char.ToLowerInvariant(ch));
            else sb.Append(ch);
        }
        return sb.ToString();
    }
}
