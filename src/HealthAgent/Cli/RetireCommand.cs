using System.CommandLine;
using HealthAgent.Config;
using HealthAgent.Publishing.Mqtt;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent retire [--component ID]… [--force]`: removes an agent (or some of its parts) from the broker: every
/// retained topic it left — status, health, info, state/…, its Home Assistant discovery configs — is deleted with an
/// empty retained publish, so Home Assistant drops the device or entities. Connects with agent.json's
/// publishers.mqtt settings and publishes nothing else. Refuses while the agent's status says online (it would
/// publish it all again) unless --force. Exit 0 done (also when nothing was left), 1 refused or failed, 2 bad configuration.
/// </summary>
public static class RetireCommand
{
    public static Command Build()
    {
        var component = new Option<string[]>("--component") { Description = "retire only this part (repeatable): its state topic and discovery configs", AllowMultipleArgumentsPerToken = false };
        var force = new Option<bool>("--force") { Description = "clear even though the agent's status says online" };
        var cmd = new Command("retire", "Delete the agent's retained MQTT topics and Home Assistant discovery configs (the agent is being removed, or a part is gone)") { component, force };
        cmd.SetAction((p, ct) => RunAsync(p.GetValue(CommandCatalog.ConfigOption), p.GetValue(component) ?? [], p.GetValue(force), Console.Out, Console.Error, ct));
        return cmd;
    }

    public static async Task<int> RunAsync(string? configPath, IReadOnlyList<string> components, bool force, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        AgentConfig config;
        try { config = AgentConfig.Load(configPath); }
        catch (ConfigException e) { await error.WriteLineAsync(e.Message); return 2; }
        var mqtt = (MqttPublisherOptions)config.Publishers["mqtt"];

        var agentId = config.Agent.EffectiveAgentId;
        var topics = new MqttTopics(mqtt.TopicPrefix, agentId);
        RetireResult result;
        // a broker that accepts the connection and then says nothing must not hang the command
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            var client = Retirement.ClientOptions(mqtt, config, agentId);
            result = await Retirement.RetireAsync(client, topics, mqtt.HomeAssistantPrefix, agentId, components, force, TimeSpan.FromSeconds(5), deadline.Token);
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException or UnauthorizedAccessException
            or ArgumentException or System.Security.Cryptography.CryptographicException // a bad CA file, key or fingerprint
            || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            var why = e is OperationCanceledException ? "the broker did not answer within 30 s" : MqttConnection.Describe(e);
            await error.WriteLineAsync($"retire: cannot clear agent '{agentId}' on {mqtt.Host}:{mqtt.Port}: {why}");
            return 1;
        }

        if (result.AgentOnline && !force)
        {
            await error.WriteLineAsync($"retire: agent '{agentId}' is online ({topics.Status} says so): it would publish everything again. "
                + (components.Count > 0
                    ? $"Retire a part of a running agent with its command topic: mosquitto_pub -t '{topics.CmdPrefix}retire' -m '{{\"componentId\":\"{components[0]}\"}}'"
                    : "Stop it first (systemctl stop healthagent), or give --force."));
            return 1;
        }
        var what = components.Count == 0 ? $"agent '{agentId}'" : $"{string.Join(", ", components)} of agent '{agentId}'";
        if (result.Cleared.Count == 0) await output.WriteLineAsync($"Nothing retained for {what} on {mqtt.Host}:{mqtt.Port}.");
        else
        {
            await output.WriteLineAsync($"Cleared {result.Cleared.Count} retained topic(s) for {what}:");
            foreach (var t in result.Cleared) await output.WriteLineAsync("  " + t);
        }
        return 0;
    }
}
