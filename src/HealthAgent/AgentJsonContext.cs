using System.Text.Json.Serialization;

namespace HealthAgent;

// Source-generated JSON for the few CLR types the agent serializes (everything else is built as JsonNode): the
// trimmed publish runs without reflection-based System.Text.Json (docs/performance-pipeline.md, "Trimmed publish").

/// <summary>Redfish request bodies (PATCH of an indicator): names as given, values bool or string.</summary>
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
internal sealed partial class RedfishJsonContext : JsonSerializerContext;
