using System.Globalization;
using HealthAgent.Rules;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace HealthAgent.Simulator;

/// <summary>One timed step: at <see cref="At"/> seconds after the start, set targets and say what happens.</summary>
/// <param name="Expect">What must then be visible: <c>panel:&lt;family&gt;:&lt;index&gt;</c> → rule id (or "unknown"), <c>host:&lt;path&gt;</c> → file content,
/// <c>host~:&lt;path&gt;</c> → text the file contains, <c>redfish:&lt;path&gt;#&lt;Property.Path&gt;</c> → JSON value.</param>
public sealed record ScenarioStep(double At, IReadOnlyList<KeyValuePair<string, string>> Set, string? Say, IReadOnlyList<KeyValuePair<string, string>> Expect, int Line);

/// <summary>A fault scenario loaded from deploy/scenarios/&lt;name&gt;.yaml.</summary>
public sealed record Scenario(string Name, string Description, bool Loop, double Duration, IReadOnlyList<ScenarioStep> Steps, string File);

/// <summary>A scenario file that did not load; <see cref="Errors"/> are "file:line:col: message".</summary>
public sealed class ScenarioException(IReadOnlyList<string> errors) : Exception("scenario is invalid:\n  " + string.Join("\n  ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// Loads scenario files strictly: unknown keys, unknown targets, values a target does not take, steps out of
/// order, unknown families or rule ids in expectations — every error with file:line:col. The deploy/scenarios
/// files are also compiled into the binary, so `healthagent simulate --scenario demo` works from anywhere.
/// </summary>
public static class ScenarioLoader
{
    private static readonly string[] TopKeys = ["name", "description", "loop", "duration", "steps"];
    private static readonly string[] StepKeys = ["at", "set", "say", "expect"];

    /// <summary>Names of the scenarios built into the binary.</summary>
    public static IReadOnlyList<string> BuiltIn() =>
        typeof(ScenarioLoader).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("scenarios/", StringComparison.Ordinal))
            .Select(n => Path.GetFileNameWithoutExtension(n[10..])).Order(StringComparer.Ordinal).ToList();

    /// <summary>A scenario by built-in name, or a path to a .yaml file.</summary>
    public static Scenario Resolve(string nameOrPath, RuleSet? rules)
    {
        if (File.Exists(nameOrPath)) return Load(nameOrPath, File.ReadAllText(nameOrPath), rules);
        using var s = typeof(ScenarioLoader).Assembly.GetManifestResourceStream($"scenarios/{nameOrPath}.yaml")
            ?? throw new ScenarioException([$"{nameOrPath}: no such scenario file or built-in scenario (built in: {string.Join(", ", BuiltIn())})"]);
        using var r = new StreamReader(s);
        return Load($"embedded:scenarios/{nameOrPath}.yaml", r.ReadToEnd(), rules);
    }

    /// <summary>Parses one file; throws <see cref="ScenarioException"/> listing every problem.</summary>
    public static Scenario Load(string file, string text, RuleSet? rules)
    {
        var errors = new List<string>();
        void Error(YamlNode n, string m) => errors.Add($"{file}:{n.Start.Line}:{n.Start.Column}: {m}");
        YamlMappingNode root;
        try
        {
            var ys = new YamlStream();
            ys.Load(new StringReader(text));
            if (ys.Documents.Count != 1 || ys.Documents[0].RootNode is not YamlMappingNode m) throw new ScenarioException([$"{file}: expected one YAML document with a mapping at the top"]);
            root = m;
        }
        catch (YamlException e)
        {
            throw new ScenarioException([$"{file}:{e.Start.Line}:{e.Start.Column}: not valid YAML: {e.InnerException?.Message ?? e.Message}"]);
        }

        var top = Map(root, TopKeys, ["name", "steps"], Error);
        var name = Scalar(top, "name", Error) ?? "";
        var stem = Path.GetFileNameWithoutExtension(file);
        if (name.Length > 0 && name != stem && top.TryGetValue("name", out var nameNode)) Error(nameNode, $"name '{name}' must equal the file name '{stem}'");
        var description = Scalar(top, "description", Error) ?? "";
        var loop = false;
        if (top.TryGetValue("loop", out var loopNode))
        {
            var l = Scalar(top, "loop", Error);
            if (l is "true" or "false") loop = l == "true"; else Error(loopNode, "loop must be true or false");
        }
        double? duration = null;
        if (top.TryGetValue("duration", out var durNode)) duration = Number(durNode, "duration", 0.1, 86400, Error);

        var steps = new List<ScenarioStep>();
        if (top.TryGetValue("steps", out var stepsNode))
        {
            if (stepsNode is not YamlSequenceNode seq || seq.Children.Count == 0) Error(stepsNode, "steps must be a non-empty list");
            else
            {
                var last = -1.0;
                foreach (var sn in seq.Children)
                {
                    var m = Map(sn, StepKeys, ["at"], Error);
                    var at = m.TryGetValue("at", out var atNode) ? Number(atNode, "at", 0, 86400, Error) ?? 0 : 0;
                    if (atNode is not null && at < last) Error(atNode, $"at {at.ToString(CultureInfo.InvariantCulture)} comes before the previous step's {last.ToString(CultureInfo.InvariantCulture)}; steps must be in time order");
                    last = Math.Max(last, at);
                    var set = new List<KeyValuePair<string, string>>();
                    if (m.TryGetValue("set", out var setNode))
                        foreach (var (k, v) in Pairs(setNode, "set", Error))
                        {
                            var spec = Appliance.Find(k.Value!);
                            if (spec is null) { Error(k, $"unknown target '{k.Value}' (targets: {string.Join(", ", Appliance.Targets.Select(t => t.Name))})"); continue; }
                            if (v is not YamlScalarNode { Value: { } val }) { Error(v, $"'{k.Value}' needs a single value ({spec.Describe()})"); continue; }
                            if (!spec.TryParse(val, out _, out var why)) { Error(v, why); continue; }
                            set.Add(new(k.Value!, val));
                        }
                    var expect = new List<KeyValuePair<string, string>>();
                    if (m.TryGetValue("expect", out var expNode))
                        foreach (var (k, v) in Pairs(expNode, "expect", Error))
                        {
                            if (v is not YamlScalarNode { Value: { } val }) { Error(v, $"'{k.Value}' needs a single value"); continue; }
                            if (CheckExpectation(k.Value!, val, rules) is { } why) { Error(k, why); continue; }
                            expect.Add(new(k.Value!, val));
                        }
                    string? say = m.ContainsKey("say") ? Scalar(m, "say", Error) : null;
                    steps.Add(new ScenarioStep(at, set, say, expect, (int)sn.Start.Line));
                }
            }
        }
        if (errors.Count > 0) throw new ScenarioException(errors);
        var end = steps[^1].At;
        if (duration is { } d && d < end) errors.Add($"{file}:{durNode!.Start.Line}:{durNode.Start.Column}: duration {d} ends before the last step at {end}");
        if (errors.Count > 0) throw new ScenarioException(errors);
        return new Scenario(name, description, loop, duration ?? end + 5, steps, file);
    }

    /// <summary>Null when the expectation is well-formed; else why not.</summary>
    private static string? CheckExpectation(string key, string value, RuleSet? rules)
    {
        if (key.StartsWith("panel:", StringComparison.Ordinal))
        {
            var parts = key.Split(':');
            if (parts.Length != 3) return $"'{key}': write panel:<family>:<index>";
            if (rules is null) return null;
            var fam = rules.FindFamily(parts[1]);
            if (fam is null || fam.Name != parts[1]) return $"'{key}': no indicator family '{parts[1]}' (families: {string.Join(", ", rules.Families.Select(f => f.Name))})";
            if (value != "unknown" && !fam.Rules.Any(r => r.Id == value)) return $"'{key}': the {fam.Name} table has no rule '{value}' (rules: {string.Join(", ", fam.Rules.Select(r => r.Id))}, or unknown)";
            return null;
        }
        if (key.StartsWith("host:", StringComparison.Ordinal) || key.StartsWith("host~:", StringComparison.Ordinal))
            return key.Contains("..", StringComparison.Ordinal) || key.EndsWith(':') ? $"'{key}': write host:<path under the host root>" : null;
        if (key.StartsWith("redfish:/redfish/v1", StringComparison.Ordinal))
            return key.Contains('#', StringComparison.Ordinal) ? null : $"'{key}': write redfish:<path>#<Property.Path>";
        return $"unknown expectation '{key}' (panel:<family>:<index>, host:<path>, host~:<path>, redfish:<path>#<Property.Path>)";
    }

    private static Dictionary<string, YamlNode> Map(YamlNode node, string[] allowed, string[] required, Action<YamlNode, string> error)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        if (node is not YamlMappingNode map) { error(node, "expected a mapping (key: value)"); return result; }
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            if (!allowed.Contains(key)) { error(k, $"unknown key '{key}' (allowed: {string.Join(", ", allowed)})"); continue; }
            if (!result.TryAdd(key, v)) error(k, $"key '{key}' appears twice");
        }
        foreach (var req in required.Where(r => !result.ContainsKey(r))) error(node, $"missing required key '{req}'");
        return result;
    }

    private static IEnumerable<(YamlScalarNode Key, YamlNode Value)> Pairs(YamlNode node, string what, Action<YamlNode, string> error)
    {
        if (node is not YamlMappingNode map) { error(node, $"'{what}' must be a mapping"); yield break; }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } key }) { error(k, $"'{what}' keys must be plain names"); continue; }
            if (!seen.Add(key)) { error(k, $"'{key}' appears twice in '{what}'"); continue; }
            yield return ((YamlScalarNode)k, v);
        }
    }

    private static string? Scalar(Dictionary<string, YamlNode> m, string key, Action<YamlNode, string> error)
    {
        if (!m.TryGetValue(key, out var n)) return null;
        if (n is YamlScalarNode { Value: { } v }) return v.Trim();
        error(n, $"'{key}' must be a single value");
        return null;
    }

    private static double? Number(YamlNode n, string what, double min, double max, Action<YamlNode, string> error)
    {
        if (n is YamlScalarNode { Value: { } s } && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
        error(n, $"'{what}' must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        return null;
    }
}

/// <summary>
/// Plays a scenario against the appliance in (optionally compressed) time: reset to healthy, then each step at
/// <c>at / speed</c> seconds; with loop, starts again after <c>duration / speed</c>.
/// </summary>
public sealed class ScenarioRunner(Appliance appliance, Scenario scenario, double speed, TimeProvider time, Action<ScenarioStep> onStep)
{
    /// <summary>Index of the step applied last (-1 before the first).</summary>
    public int Step { get; private set; } = -1;
    public int Rounds { get; private set; }

    public async Task RunAsync(bool loop, CancellationToken ct)
    {
        do
        {
            appliance.Reset();
            var start = time.GetTimestamp();
            for (var i = 0; i < scenario.Steps.Count; i++)
            {
                await DelayUntil(start, scenario.Steps[i].At, ct).ConfigureAwait(false);
                Apply(appliance, scenario.Steps[i]);
                Step = i;
                onStep(scenario.Steps[i]);
            }
            await DelayUntil(start, scenario.Duration, ct).ConfigureAwait(false);
            Rounds++;
        } while ((loop || scenario.Loop) && !ct.IsCancellationRequested);
    }

    private async Task DelayUntil(long start, double at, CancellationToken ct)
    {
        var due = TimeSpan.FromSeconds(at / speed) - time.GetElapsedTime(start);
        if (due > TimeSpan.Zero) await Task.Delay(due, time, ct).ConfigureAwait(false);
    }

    /// <summary>Applies one step's settings (already validated by the loader).</summary>
    public static void Apply(Appliance appliance, ScenarioStep step)
    {
        var errors = appliance.Set(step.Set);
        if (errors.Count > 0) throw new InvalidOperationException(string.Join("; ", errors));
    }
}
