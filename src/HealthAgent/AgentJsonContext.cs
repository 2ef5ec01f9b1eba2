using System.Text.Json.Serialization;
using HealthAgent.Cli;

namespace HealthAgent;

/// <summary>
/// Source-generated JSON for the few CLR types the agent serializes (everything else is built as JsonNode): the
/// trimmed publish runs without reflection-based System.Text.Json (docs/performance-pipeline.md, "Trimmed publish").
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(MqttCommand.BenchResult))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;

/// <summary>Redfish request bodies (PATCH of an indicator): names as given, values bool or string.</summary>
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
internal sealed partial class RedfishJsonContext : JsonSerializerContext;
