using System.Globalization;
using System.Text.Json.Nodes;

namespace HealthAgent.Simulator;

/// <summary>Which hyperlinks <c>$expand</c> follows (DSP0266 "Query parameters", $expand options).</summary>
public enum ExpandScope
{
    /// <summary><c>*</c>: every hyperlink, in Links sections or not.</summary>
    All,
    /// <summary><c>.</c>: hyperlinks outside Links sections (subordinate resources, collection members).</summary>
    NoLinks,
    /// <summary><c>~</c>: hyperlinks inside Links sections only.</summary>
    Links,
}

/// <summary>A parsed <c>$expand</c> value: scope and <c>$levels</c> (1 when not given).</summary>
public sealed record ExpandRequest(ExpandScope Scope, int Levels);

/// <summary>
/// The Redfish <c>$expand</c> query parameter as a service applies it, shared by the simulator and the tests' mockup
/// server: a hyperlink (an object holding only <c>@odata.id</c>) chosen by the scope is replaced by the resource it
/// names, and that resource's own hyperlinks are expanded again until <c>$levels</c> is reached.
/// </summary>
public static class RedfishExpand
{
    /// <summary>
    /// Parses <c>*</c>, <c>.</c> or <c>~</c>, optionally followed by <c>($levels=n)</c>. False with a reason for any other
    /// form, for $levels below 1 or above <paramref name="maxLevels"/> (ServiceRoot ExpandQuery.MaxLevels).
    /// </summary>
    public static bool TryParse(string text, int maxLevels, out ExpandRequest request, out string error)
    {
        request = new ExpandRequest(ExpandScope.NoLinks, 1);
        error = "";
        text = text.Trim();
        if (text.Length == 0) { error = "$expand needs *, . or ~"; return false; }
        var scope = text[0] switch { '*' => ExpandScope.All, '.' => ExpandScope.NoLinks, '~' => ExpandScope.Links, _ => (ExpandScope?)null };
        if (scope is null) { error = $"$expand '{text}': only *, . and ~ are supported, not property names"; return false; }
        var rest = text[1..];
        var levels = 1;
        if (rest.Length > 0)
        {
            const string prefix = "($levels=";
            if (!rest.StartsWith(prefix, StringComparison.Ordinal) || !rest.EndsWith(')')
                || !int.TryParse(rest[prefix.Length..^1], NumberStyles.None, CultureInfo.InvariantCulture, out levels))
            {
                error = $"$expand '{text}': expected {text[0]}($levels=n)";
                return false;
            }
        }
        if (levels < 1 || levels > maxLevels) { error = $"$levels={levels.ToString(CultureInfo.InvariantCulture)} is out of range 1..{maxLevels.ToString(CultureInfo.InvariantCulture)}"; return false; }
        request = new ExpandRequest(scope.Value, levels);
        return true;
    }

    /// <summary>
    /// Expands <paramref name="resource"/> in place. <paramref name="resolve"/> returns a copy of the resource at a path
    /// (which this method may change), or null to leave the hyperlink as it is (not found, or not expandable).
    /// </summary>
    public static void Apply(JsonObject resource, ExpandRequest request, Func<string, JsonNode?> resolve) =>
        ExpandIn(resource, request, resolve, level: 1, inLinks: false);

    private static void ExpandIn(JsonNode? node, ExpandRequest r, Func<string, JsonNode?> resolve, int level, bool inLinks)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    var child = o[key];
                    var links = inLinks || key == "Links";
                    if (Expand(child, r, resolve, level, links) is { } replacement) o[key] = replacement;
                    else ExpandIn(child, r, resolve, level, links);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (Expand(a[i], r, resolve, level, inLinks) is { } replacement) a[i] = replacement;
                    else ExpandIn(a[i], r, resolve, level, inLinks);
                }
                break;
        }
    }

    /// <summary>The expanded resource for a hyperlink the request selects, or null.</summary>
    private static JsonNode? Expand(JsonNode? node, ExpandRequest r, Func<string, JsonNode?> resolve, int level, bool inLinks)
    {
        if (node is not JsonObject { Count: 1 } o || o["@odata.id"] is not JsonValue v || !v.TryGetValue<string>(out var id)) return null;
        var wanted = r.Scope switch { ExpandScope.NoLinks => !inLinks, ExpandScope.Links => inLinks, _ => true };
        // A fragment (…/Power#/PowerSupplies/0) points into a resource, not at one: nothing to expand.
        if (!wanted || id.Contains('#', StringComparison.Ordinal)) return null;
        var target = resolve(id.TrimEnd('/'));
        // The expanded resource is a resource of its own: its Links section is again "Links", its levels one deeper.
        if (target is JsonObject t && level < r.Levels) ExpandIn(t, r, resolve, level + 1, inLinks: false);
        return target;
    }
}
