using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using HealthAgent.Config;
using HealthAgent.Publishing;
using HealthAgent.Sources;
using HealthAgent.Web;

namespace HealthAgent.Tests.Config;

/// <summary>
/// agent.schema.json is generated from the options types and their /// docs, so it cannot drift from what the agent
/// binds: this test fails when they differ (UPDATE_GOLDEN=1 rewrites it).
/// </summary>
public class AgentSchemaTests
{
    private static readonly Dictionary<string, string> Docs = LoadDocs();

    [Fact]
    public void AgentSchema_MatchesTheOptionsTypes()
    {
        var sources = new JsonObject();
        foreach (var d in SourceCatalog.All) sources[d.Key] = ObjectSchema(d.OptionsType);
        var publishers = new JsonObject();
        foreach (var d in PublisherCatalog.All) publishers[d.Key] = ObjectSchema(d.OptionsType);

        var root = ObjectSchema(typeof(AgentOptions));
        var props = root["properties"]!.AsObject();
        props["$schema"] = new JsonObject { ["type"] = "string" };
        props["sources"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = sources };
        props["publishers"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = publishers };
        props["web"] = ObjectSchema(typeof(WebOptions));
        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = "https://healthagent.local/schemas/agent.schema.json",
            ["title"] = "HealthAgent configuration (agent.json)",
            ["description"] = "Generated from the options types by tests/HealthAgent.Tests/Config/AgentSchemaTests.cs (UPDATE_GOLDEN=1). Environment variables override any key: HEALTHAGENT_ prefix, __ between levels.",
        };
        foreach (var (k, v) in root) if (k != "description") schema[k] = v?.DeepClone();
        var json = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        Golden.Assert("agent.schema.json", schema.ToJsonString(json) + "\n");
    }

    [Fact]
    public void AgentJson_UsesOnlyKeysTheSchemaKnows()
    {
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "agent.schema.json")))!;
        var agent = JsonNode.Parse(File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "agent.json")))!;
        var unknown = new List<string>();
        Walk(agent, schema, "", unknown);
        Assert.Empty(unknown);
    }

    private static void Walk(JsonNode? value, JsonNode? schema, string path, List<string> unknown)
    {
        if (value is JsonObject o && schema?["properties"] is JsonObject props)
        {
            foreach (var (k, v) in o)
            {
                var p = props.FirstOrDefault(x => string.Equals(x.Key, k, StringComparison.OrdinalIgnoreCase));
                if (p.Key is null) { if (schema["additionalProperties"] is not JsonObject) unknown.Add(path + k); continue; }
                Walk(v, p.Value, path + k + ".", unknown);
            }
        }
        else if (value is JsonArray a && schema?["items"] is { } items)
            foreach (var v in a) Walk(v, items, path + "[].", unknown);
    }

    private static JsonObject ObjectSchema(Type t)
    {
        var instance = t.GetConstructor(Type.EmptyTypes) is not null ? Activator.CreateInstance(t) : null;
        var props = new JsonObject();
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetSetMethod() is not null).OrderBy(p => p.MetadataToken))
        {
            var s = TypeSchema(p.PropertyType);
            if (Doc(p) is { } doc) s["description"] = doc;
            if (instance is not null && DefaultOf(p, instance) is { } def) s["default"] = def;
            props[char.ToLowerInvariant(p.Name[0]) + p.Name[1..]] = s;
        }
        var o = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = props };
        if (Docs.TryGetValue("T:" + t.FullName, out var typeDoc)) o["description"] = typeDoc;
        return o;
    }

    private static JsonObject TypeSchema(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string)) return new JsonObject { ["type"] = "string" };
        if (t == typeof(bool)) return new JsonObject { ["type"] = "boolean" };
        if (t == typeof(int) || t == typeof(long) || t == typeof(uint) || t == typeof(ushort) || t == typeof(byte)) return new JsonObject { ["type"] = "integer" };
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal)) return new JsonObject { ["type"] = "number" };
        if (t == typeof(TimeSpan)) return new JsonObject { ["type"] = "string", ["description"] = "hh:mm:ss" };
        if (t.IsEnum) return new JsonObject { ["enum"] = new JsonArray(Enum.GetNames(t).Select(n => (JsonNode)n).ToArray()) };
        var dict = t.GetInterfaces().Append(t).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dict is not null) return new JsonObject { ["type"] = "object", ["additionalProperties"] = TypeSchema(dict.GetGenericArguments()[1]) };
        var list = t.IsArray ? t.GetElementType() : t.GetInterfaces().Append(t).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
        if (list is not null) return new JsonObject { ["type"] = "array", ["items"] = TypeSchema(list) };
        return ObjectSchema(t);
    }

    private static JsonNode? DefaultOf(PropertyInfo p, object instance)
    {
        var v = p.GetGetMethod() is null ? null : p.GetValue(instance);
        return v switch
        {
            null => null,
            string s when s.Length > 0 => s,
            bool b => b,
            int or long or uint or ushort or byte => JsonValue.Create(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)),
            double d => d,
            Enum e => e.ToString(),
            _ => null,
        };
    }

    private static string? Doc(PropertyInfo p)
    {
        for (var t = p.DeclaringType; t is not null; t = t.BaseType)
            if (Docs.TryGetValue($"P:{t.FullName}.{p.Name}", out var d)) return d;
        return null;
    }

    private static Dictionary<string, string> LoadDocs()
    {
        var path = Path.ChangeExtension(typeof(AgentOptions).Assembly.Location, ".xml");
        var docs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return docs;
        foreach (var m in XDocument.Load(path).Descendants("member"))
            if (m.Attribute("name")?.Value is { } name && m.Element("summary") is { } s)
                docs[name] = string.Join(" ", s.DescendantNodes().Select(n => n switch
                {
                    XText x => x.Value,
                    XElement { Name.LocalName: "see" or "paramref" or "typeparamref" } e => (e.Attribute("cref") ?? e.Attribute("name") ?? e.Attribute("langword"))?.Value.Split('.', ':').Last() ?? "",
                    _ => "",
                })).Split((char[])[' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Aggregate("", (a, w) => a.Length == 0 ? w : a + " " + w);
        return docs;
    }
}
