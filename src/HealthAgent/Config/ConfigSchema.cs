using System.Globalization;
using System.Text.Json;

namespace HealthAgent.Config;

/// <summary>
/// Checks agent.json and the environment overrides against agent.schema.json, which is generated from the options
/// types (tests/…/Config/AgentSchemaTests) and built into the binary: unknown keys, values of the wrong JSON type
/// (a string where an array is expected, "10" where a number is), enum values, and override strings that do not
/// parse. Binding itself never sees a key or type the options do not have, so nothing is silently ignored.
/// Keys are case-insensitive, as in Microsoft.Extensions.Configuration; paths are reported with the schema's names.
/// </summary>
internal static class ConfigSchema
{
    private static readonly JsonDocument Schema = LoadSchema();

    // The unknown-key message names what the children of these objects are.
    private static readonly Dictionary<string, string> ChildNoun = new(StringComparer.Ordinal) { ["sources"] = "source", ["publishers"] = "publisher" };

    /// <summary>Walks a parsed agent.json, adding "path: problem" for each unknown key and wrong type.</summary>
    public static void CheckDocument(JsonElement value, ICollection<string> errors) => Check(value, Schema.RootElement, "", errors);

    /// <summary>
    /// Checks one override ("sources:hwmon:intervalSeconds" = "5"; environment values are always strings): the key
    /// must exist, and the string must parse as the type the schema gives. <paramref name="origin"/> names where it came from.
    /// </summary>
    public static void CheckOverride(string key, string? value, string origin, ICollection<string> errors)
    {
        var s = Schema.RootElement;
        var path = "";
        foreach (var segment in key.Split(':'))
        {
            switch (TypeOf(s))
            {
                case "object":
                    if (Property(s, segment) is var (name, child) && name is not null) { s = child; path = Join(path, name); }
                    else if (s.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object) { s = additional; path = Join(path, segment); }
                    else { errors.Add($"{Unknown(s, path, segment)} ({origin})"); return; }
                    break;
                case "array":
                    if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _)) { errors.Add($"{path}: '{segment}' is not an array index ({origin})"); return; }
                    s = s.GetProperty("items");
                    path += $"[{segment}]";
                    break;
                default:
                    errors.Add($"{Join(path, segment)}: unknown key ({path} is {Expected(s)}) ({origin})");
                    return;
            }
        }
        if (string.IsNullOrEmpty(value)) return; // empty: unset, the default applies (as JSON null does)
        var ok = TypeOf(s) switch
        {
            "enum" => Enum(s).Contains(value, StringComparer.OrdinalIgnoreCase),
            "string" => true,
            "integer" => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
            "number" => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d),
            "boolean" => bool.TryParse(value, out _),
            _ => false, // an object or array given a plain value
        };
        if (!ok) errors.Add($"{Display(path)}: expected {Expected(s)}, got {(TypeOf(s) is "object" or "array" ? "a string" : $"'{value}'")} ({origin})");
    }

    private static void Check(JsonElement v, JsonElement s, string path, ICollection<string> errors)
    {
        if (v.ValueKind == JsonValueKind.Null) return; // null: the default applies
        var type = TypeOf(s);
        switch (type)
        {
            case "enum":
                if (v.ValueKind != JsonValueKind.String) errors.Add($"{Display(path)}: expected {Expected(s)}, got {Got(v)}");
                else if (!Enum(s).Contains(v.GetString(), StringComparer.OrdinalIgnoreCase)) errors.Add($"{Display(path)}: expected {Expected(s)}, got '{v.GetString()}'");
                return;
            case "object":
                if (v.ValueKind != JsonValueKind.Object) { errors.Add($"{Display(path)}: expected {Expected(s)}, got {Got(v)}"); return; }
                foreach (var p in v.EnumerateObject())
                {
                    if (Property(s, p.Name) is var (name, child) && name is not null) Check(p.Value, child, Join(path, name), errors);
                    else if (s.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object) Check(p.Value, additional, Join(path, p.Name), errors);
                    else errors.Add(Unknown(s, path, p.Name));
                }
                return;
            case "array":
                if (v.ValueKind != JsonValueKind.Array) { errors.Add($"{Display(path)}: expected {Expected(s)}, got {Got(v)}"); return; }
                var i = 0;
                foreach (var item in v.EnumerateArray()) Check(item, s.GetProperty("items"), $"{path}[{i++}]", errors);
                return;
        }
        var ok = type switch
        {
            "string" => v.ValueKind == JsonValueKind.String,
            "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _),
            "number" => v.ValueKind == JsonValueKind.Number,
            "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
            _ => true,
        };
        if (!ok) errors.Add($"{Display(path)}: expected {Expected(s)}, got {(type == "integer" && v.ValueKind == JsonValueKind.Number ? v.GetRawText() : Got(v))}");
    }

    private static string Unknown(JsonElement s, string path, string key)
    {
        var known = s.GetProperty("properties").EnumerateObject().Select(p => p.Name).Where(n => n != "$schema");
        return $"{Join(path, key)}: unknown {ChildNoun.GetValueOrDefault(path, "key")} (known: {string.Join(", ", known)})";
    }

    private static (string? Name, JsonElement Schema) Property(JsonElement s, string key)
    {
        if (s.TryGetProperty("properties", out var props))
            foreach (var p in props.EnumerateObject())
                if (string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase)) return (p.Name, p.Value);
        return (null, default);
    }

    private static string TypeOf(JsonElement s) =>
        s.TryGetProperty("enum", out _) ? "enum" : s.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";

    private static string[] Enum(JsonElement s) => s.GetProperty("enum").EnumerateArray().Select(e => e.GetString() ?? "").ToArray();

    private static string Expected(JsonElement s) => TypeOf(s) switch
    {
        "enum" => "one of " + string.Join(", ", Enum(s)),
        "array" => "an array of " + Plural(s.GetProperty("items")),
        "object" => "an object",
        "integer" => "an integer",
        "boolean" => "true or false",
        var t => "a " + t,
    };

    private static string Plural(JsonElement s) => TypeOf(s) switch
    {
        "enum" => "values (" + string.Join(", ", Enum(s)) + ")",
        "boolean" => "booleans",
        var t => t + "s",
    };

    private static string Got(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;
    private static string Display(string path) => path.Length == 0 ? "(root)" : path;

    private static JsonDocument LoadSchema()
    {
        using var stream = typeof(ConfigSchema).Assembly.GetManifestResourceStream("agent.schema.json")
            ?? throw new InvalidOperationException("agent.schema.json is not embedded in the binary");
        return JsonDocument.Parse(stream);
    }
}
