using HealthAgent.Config;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Mqtt;

namespace HealthAgent.Tests.Publishing.Mqtt;

public sealed class MqttPublisherOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mqtt-options-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private AgentConfig Config(string publishers)
    {
        var path = Path.Combine(_dir, "agent.json");
        File.WriteAllText(path, $$"""{ "publishers": {{publishers}} }""");
        return AgentConfig.Load(path);
    }

    [Fact]
    public void Load_RepositoryDefaults_Valid()
    {
        var o = (MqttPublisherOptions)AgentConfig.Load(null).Publishers["mqtt"];
        Assert.Equal(("healthagent/v1", 1883), (o.TopicPrefix, o.Port));
        Assert.InRange(o.WillDelaySeconds, 0, 30);
    }

    [Fact]
    public void Load_BadValues_EveryErrorListedWithItsPath()
    {
        var errors = Assert.Throws<ConfigException>(() => Config("""
            { "mqtt": { "port": 0, "protocolVersion": "4", "topicPrefix": "a/#", "willDelaySeconds": 60, "password": "x", "passwordFile": "/p", "colour": 1,
                         "homeAssistantPrefix": "home+assistant", "homeAssistantWebUrl": "ftp://nvr/" },
              "kafka": {} }
            """)).Errors;
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.port:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.protocolVersion:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.topicPrefix:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.homeAssistantPrefix:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.homeAssistantWebUrl:", StringComparison.Ordinal) && e.Contains("ftp://nvr/", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.willDelaySeconds:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("password or passwordFile", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.mqtt.colour: unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.kafka: unknown publisher", StringComparison.Ordinal));
    }

    [Fact]
    public void CreateEnabled_Disabled_NoPublisher()
    {
        var config = Config("""{ "mqtt": { "enabled": false } }""");
        var ctx = new PublisherContext(config, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System, "a", "b", () => []);
        Assert.Empty(PublisherCatalog.CreateEnabled(ctx));
    }
}
