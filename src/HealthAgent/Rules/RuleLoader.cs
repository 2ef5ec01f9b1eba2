using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using HealthAgent.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace HealthAgent.Rules;

/// <summary>
/// Loads rules/ (indicators/*.yaml, derivations/*.yaml, parts/*.yaml) strictly: unknown keys, missing keys, duplicate ids,
/// two rows for the same LED state, unknown enum words and unparsable LED text are all reported with file:line,
/// and a rule set with any error is not returned. One loader serves startup, `rules check` and the tests.
/// </summary>
public static partial class RuleLoader
{
    /// <summary>Loads a rules directory (the layout of the repository's rules/).</summary>
    public static (RuleSet? Rules, IReadOnlyList<RuleError> Errors) LoadDirectory(string directory)
    {
        if (!Directory.Exists(directory))
            return (null, [new RuleError(new SourceLocation(directory, 0, 0), "rules directory does not exist")]);
        var files = Directory.EnumerateFiles(directory, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            return (null, [new RuleError(new SourceLocation(directory, 0, 0), "no .yaml rule files found")]);
        return Load(files.Select(f => (Path.GetRelativePath(Environment.CurrentDirectory, f), File.ReadAllText(f))).ToList(),
            files.Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/')).ToList());
    }

    /// <summary>The seed rule set compiled into the binary (used when no rules directory is configured or found).</summary>
    public static (RuleSet? Rules, IReadOnlyList<RuleError> Errors) LoadEmbedded()
    {
        var asm = typeof(RuleLoader).Assembly;
        var names = asm.GetManifestResourceNames()
            .Where(n => n.StartsWith("rules/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        var files = names
            .Select(n =>
            {
                using var s = asm.GetManifestResourceStream(n)!;
                using var r = new StreamReader(s);
                return ("embedded:" + n, r.ReadToEnd());
            })
            .ToList();
        return Load(files, names.Select(n => n["rules/".Length..]).ToList());
    }

    /// <summary>
    /// Loads the given (name, text) files. Files under an "indicators" path are families; under "derivations", derivation
    /// tables; otherwise the top-level key decides. <paramref name="versionNames"/> are the files' paths inside the rules
    /// directory ("indicators/psu.yaml"): the version then depends on the tables alone, so an installed copy of the
    /// shipped tables has the embedded set's version wherever it lives and whatever the working directory.
    /// </summary>
    public static (RuleSet? Rules, IReadOnlyList<RuleError> Errors) Load(IReadOnlyList<(string Name, string Text)> files, IReadOnlyList<string>? versionNames = null)
    {
        var errors = new List<RuleError>();
        var families = new List<IndicatorFamily>();
        var derivations = new List<DerivationTable>();
        var parts = new List<PartRule>();
        foreach (var (name, text) in files)
        {
            YamlMappingNode? root;
            try
            {
                var stream = new YamlStream();
                stream.Load(new StringReader(text));
                root = stream.Documents.Count == 1 ? stream.Documents[0].RootNode as YamlMappingNode : null;
                if (root is null)
                {
                    errors.Add(new RuleError(new SourceLocation(name, 1, 1), "expected exactly one YAML document holding a mapping"));
                    continue;
                }
            }
            catch (YamlException e)
            {
                errors.Add(new RuleError(new SourceLocation(name, (int)e.Start.Line, (int)e.Start.Column), "YAML syntax: " + e.Message));
                continue;
            }
            var ctx = new Ctx(name, errors);
            if (root.Children.ContainsKey(new YamlScalarNode("family")) && !root.Children.ContainsKey(new YamlScalarNode("derivation")))
            {
                if (ReadFamily(ctx, root) is { } f) families.Add(f);
            }
            else if (root.Children.ContainsKey(new YamlScalarNode("derivation")))
            {
                if (ReadDerivation(ctx, root) is { } d) derivations.Add(d);
            }
            else if (root.Children.ContainsKey(new YamlScalarNode("part")))
            {
                if (ReadPart(ctx, root) is { } p) parts.Add(p);
            }
            else errors.Add(new RuleError(ctx.At(root), "a rule file starts with 'family:' (an indicator table), 'derivation:' (a derivation table) or 'part:' (a part and what follows from its faults)"));
        }

        CrossCheck(families, derivations, errors);
        CrossCheckParts(parts, families, derivations, errors);
        if (errors.Count > 0) return (null, errors);
        var version = Fingerprint(files.Select((f, i) => (versionNames?[i] ?? f.Name) + "\0" + f.Text));
        return (new RuleSet(families, derivations, version, parts), errors);
    }

    /// <summary>
    /// The rule set's version: 12 hex digits of a 64-bit FNV-1a hash over the files' names and texts (UTF-8). An
    /// identifier, not a security check, so no SHA-256: that would load OpenSSL (~4.5 MB resident) into an agent that
    /// otherwise needs it only for TLS.
    /// </summary>
    internal static string Fingerprint(IEnumerable<string> parts)
    {
        var hash = 14695981039346656037UL;
        Span<byte> buffer = stackalloc byte[4];
        foreach (var part in parts)
        {
            foreach (var rune in part.EnumerateRunes())
            {
                var n = rune.EncodeToUtf8(buffer);
                for (var i = 0; i < n; i++) hash = (hash ^ buffer[i]) * 1099511628211UL;
            }
        }
        return hash.ToString("x16", CultureInfo.InvariantCulture)[..12];
    }

    // ---- indicator tables -----------------------------------------------------------------------------

    [GeneratedRegex(@"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
    private static partial Regex CodePattern();

    [GeneratedRegex(@"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[a-z][a-z0-9-]*$")]
    private static partial Regex NamePattern();

    private static readonly string[] HwTypes =
    [
        "battery", "cpu", "disk_controller", "enclosure", "fan", "gpu", "logical_disk", "memory", "network",
        "physical_disk", "power_supply", "tape_drive", "temperature", "voltage", "led",
    ];

    private static IndicatorFamily? ReadFamily(Ctx ctx, YamlMappingNode root)
    {
        var m = ctx.Map(root, ["family", "title", "aliases", "hwType", "leds", "source", "debounce", "rules"], ["family", "title", "hwType", "leds", "rules"]);
        if (m is null) return null;
        var name = ctx.Str(m, "family");
        if (name is not null && !NamePattern().IsMatch(name)) ctx.Error(m["family"], $"family name '{name}' must be lowercase letters, digits and '-'");
        var hwType = ctx.Str(m, "hwType");
        if (hwType is not null && !HwTypes.Contains(hwType)) ctx.Error(m["hwType"], $"unknown hwType '{hwType}' (expected one of: {string.Join(", ", HwTypes)})");
        var leds = ctx.StrList(m, "leds") ?? [];
        if (m.ContainsKey("leds") && leds.Count == 0) ctx.Error(m["leds"], "a family needs at least one LED name");
        foreach (var dup in leds.GroupBy(l => l).Where(g => g.Count() > 1)) ctx.Error(m["leds"], $"LED name '{dup.Key}' is listed twice");
        var aliases = ctx.StrList(m, "aliases") ?? [];
        TableSource? source = null;
        if (m.TryGetValue("source", out var sn) && ctx.Map(sn, ["document", "table"], ["document", "table"]) is { } sm)
            source = new TableSource(ctx.Str(sm, "document") ?? "", ctx.Str(sm, "table") ?? "");
        var familyDebounce = m.TryGetValue("debounce", out var dn) ? ReadDebounce(ctx, dn) : null;

        var rules = new List<Rule>();
        if (m.TryGetValue("rules", out var rn))
        {
            if (rn is not YamlSequenceNode seq) ctx.Error(rn, "'rules' must be a list");
            else
            {
                foreach (var item in seq.Children)
                {
                    var r = ctx.Map(item, ["id", "row", "seen", "led", "state", "severity", "code", "meaning", "action", "advice", "debounce"],
                        ["id", "led", "state", "severity", "code", "meaning"]);
                    if (r is null || name is null) continue;
                    var id = ctx.Str(r, "id");
                    if (id is not null && !IdPattern().IsMatch(id)) ctx.Error(r["id"], $"rule id '{id}' must be dotted lowercase, e.g. 'psu.mismatch'");
                    if (id is not null && !id.StartsWith(name + ".", StringComparison.Ordinal)) ctx.Error(r["id"], $"rule id '{id}' must start with its family name '{name}.'");
                    IndicatorState? led = null;
                    if (ctx.Str(r, "led") is { } ledText && leds.Count > 0)
                    {
                        try
                        {
                            led = LedText.ParseIndicator(ledText, leds);
                            if (!led.IsKnown) ctx.Error(r["led"], $"LED state '{ledText}' must give every LED of the family ({string.Join(", ", leds)})");
                        }
                        catch (LedTextException e) { ctx.Error(r["led"], "LED state: " + e.Message); }
                    }
                    var (manualAction, advice) = ReadActionAndAdvice(ctx, r, item);
                    var verdict = ReadVerdict(ctx, r, advice is null ? manualAction : manualAction is null ? advice : advice + " " + manualAction);
                    int? row = null;
                    if (r.TryGetValue("row", out var rowNode)) row = ctx.Int(rowNode, "row", 1, 1000);
                    var debounce = r.TryGetValue("debounce", out var rd) ? ReadDebounce(ctx, rd) : null;
                    if (id is not null && led is not null && verdict is not null)
                        rules.Add(new Rule(id, name, led, verdict, row, r.TryGetValue("seen", out var seenNode) ? ctx.Scalar(seenNode, "seen") : null, debounce ?? familyDebounce, ctx.At(item))
                            { Advice = advice, ManualAction = manualAction });
                }
            }
        }

        // Two rows for the same LED state would make the table's answer depend on row order.
        foreach (var g in rules.GroupBy(r => r.Led.ToString()).Where(g => g.Count() > 1))
            foreach (var r in g.Skip(1))
                ctx.Errors.Add(new RuleError(r.Location, $"rule '{r.Id}' matches the same LED state '{g.Key}' as rule '{g.First().Id}' ({g.First().Location})"));

        if (name is null || hwType is null || leds.Count == 0) return null;
        return new IndicatorFamily(name, ctx.Str(m, "title") ?? name, aliases, hwType, leds, source, familyDebounce, rules, ctx.At(root));
    }

    /// <summary>
    /// An indicator row's <c>action</c> (the manual's own action or CAUTION wording) and <c>advice</c> (ours: short and
    /// direct, at most <see cref="ActionText.MaxAdviceWords"/> words); at least one is given.
    /// </summary>
    private static (string? Action, string? Advice) ReadActionAndAdvice(Ctx ctx, Dictionary<string, YamlNode> r, YamlNode item)
    {
        var action = r.ContainsKey("action") ? ctx.Str(r, "action") : null;
        var advice = r.ContainsKey("advice") ? ctx.Str(r, "advice") : null;
        if (action is { Length: 0 }) ctx.Error(r["action"], "action must not be empty");
        if (advice is { Length: 0 }) ctx.Error(r["advice"], "advice must not be empty");
        if (!r.ContainsKey("action") && !r.ContainsKey("advice"))
            ctx.Error(item, "a row needs 'action' (the manual's wording) or 'advice' (ours), or both");
        if (advice is { Length: > 0 } && ActionText.Words(advice) > ActionText.MaxAdviceWords)
            ctx.Error(r["advice"], $"advice has {ActionText.Words(advice)} words; keep it to {ActionText.MaxAdviceWords} (the manual's long wording belongs in 'action')");
        if (advice is { Length: > 0 } && advice.StartsWith("The table gives no action", StringComparison.OrdinalIgnoreCase))
            ctx.Error(r["advice"], "advice says what to do; that the manual gives no action is already known from its absence in 'action'");
        return (action is { Length: > 0 } ? action : null, advice is { Length: > 0 } ? advice : null);
    }

    private static Verdict? ReadVerdict(Ctx ctx, Dictionary<string, YamlNode> r, string? actionOverride = null)
    {
        HwState? state = null;
        Severity? severity = null;
        if (ctx.Str(r, "state") is { } st)
        {
            if (HealthWords.HwStates.TryGetValue(st, out var s) && s != HwState.Unknown) state = s;
            else ctx.Error(r["state"], $"unknown state '{st}' (expected one of: {string.Join(", ", HealthWords.HwStates.Keys.Where(k => k != "unknown"))})");
        }
        if (ctx.Str(r, "severity") is { } sv)
        {
            if (HealthWords.Severities.TryGetValue(sv, out var s)) severity = s;
            else ctx.Error(r["severity"], $"unknown severity '{sv}' (expected one of: ok, info, warning, critical)");
        }
        var code = ctx.Str(r, "code");
        if (code is not null && !CodePattern().IsMatch(code)) ctx.Error(r["code"], $"event code '{code}' must be dotted lowercase, e.g. 'psu.mismatch'");
        var meaning = ctx.Str(r, "meaning");
        var action = actionOverride ?? ctx.Str(r, "action");
        if (meaning is { Length: 0 }) ctx.Error(r["meaning"], "meaning must not be empty");
        if (actionOverride is null && action is { Length: 0 }) ctx.Error(r["action"], "action must not be empty");
        return state is null || severity is null || code is null || meaning is null || action is null
            ? null
            : new Verdict(state.Value, severity.Value, code, meaning, action);
    }

    private static Debounce? ReadDebounce(Ctx ctx, YamlNode node)
    {
        var m = ctx.Map(node, ["samples", "holdSeconds"], []);
        if (m is null) return null;
        var samples = m.TryGetValue("samples", out var s) ? ctx.Int(s, "samples", 1, 1000) ?? 1 : 1;
        var hold = m.TryGetValue("holdSeconds", out var h) ? ctx.Number(h, "holdSeconds", 0, 86400) ?? 0 : 0;
        return new Debounce(samples, hold);
    }

    // ---- derivation tables ----------------------------------------------------------------------------

    private static readonly string[] InputTypes = ["bool", "number", "string"];

    private static DerivationTable? ReadDerivation(Ctx ctx, YamlMappingNode root)
    {
        var m = ctx.Map(root, ["derivation", "family", "hwType", "description", "hysteresis", "inputs", "leds", "health"], ["derivation", "inputs"]);
        if (m is null) return null;
        var key = ctx.Str(m, "derivation");
        var family = m.ContainsKey("family") ? ctx.Str(m, "family") : null;
        var hwType = m.ContainsKey("hwType") ? ctx.Str(m, "hwType") : null;
        if (hwType is not null && !HwTypes.Contains(hwType)) ctx.Error(m["hwType"], $"unknown hwType '{hwType}'");
        var hysteresis = m.TryGetValue("hysteresis", out var hn) ? ctx.Number(hn, "hysteresis", 0, 1e9) ?? 0 : 0;

        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (m.TryGetValue("inputs", out var inNode) && ctx.Map(inNode, null, []) is { } im)
        {
            foreach (var (k, v) in im)
            {
                var t = ctx.Scalar(v, k);
                if (t is not null && !InputTypes.Contains(t)) ctx.Error(v, $"input '{k}' has unknown type '{t}' (bool, number or string)");
                else if (t is not null) inputs[k] = t;
            }
        }

        var ledRows = new Dictionary<string, IReadOnlyList<DerivationRow>>(StringComparer.Ordinal);
        if (m.TryGetValue("leds", out var ln) && ctx.Map(ln, null, []) is { } lm)
            foreach (var (ledName, rowsNode) in lm)
                ledRows[ledName] = ReadRows(ctx, rowsNode, inputs, isLed: true);
        var health = m.TryGetValue("health", out var hn2) ? ReadRows(ctx, hn2, inputs, isLed: false) : [];
        if (ledRows.Count == 0 && health.Count == 0) ctx.Error(root, "a derivation table needs 'leds' (per LED) or 'health' rows");
        if (ledRows.Count > 0 && family is null) ctx.Error(root, "a derivation table with 'leds' must name its indicator 'family'");
        if (key is null) return null;
        return new DerivationTable(key, family, hwType, hysteresis, inputs, ledRows, health, ctx.At(root));
    }

    private static IReadOnlyList<DerivationRow> ReadRows(Ctx ctx, YamlNode node, Dictionary<string, string> inputs, bool isLed)
    {
        var rows = new List<DerivationRow>();
        if (node is not YamlSequenceNode seq) { ctx.Error(node, "expected a list of rows"); return rows; }
        foreach (var item in seq.Children)
        {
            var allowed = isLed ? new[] { "id", "when", "led", "unknown", "note" } : ["id", "when", "state", "severity", "code", "meaning", "action", "unknown", "note"];
            var r = ctx.Map(item, allowed, ["id"]);
            if (r is null) continue;
            var id = ctx.Str(r, "id");
            var when = new List<Condition>();
            if (r.TryGetValue("when", out var wn) && ctx.Map(wn, null, []) is { } wm)
                foreach (var (reading, test) in wm)
                    if (ReadCondition(ctx, reading, test, inputs, wm.Keys) is { } c) when.Add(c);
            LedState? led = null;
            Verdict? verdict = null;
            var unknown = r.ContainsKey("unknown") ? ctx.Str(r, "unknown") : null;
            if (isLed && r.TryGetValue("led", out var ledNode) && ctx.Scalar(ledNode, "led") is { } lt)
            {
                try { led = LedText.Parse(lt); }
                catch (LedTextException e) { ctx.Error(ledNode, "LED state: " + e.Message); }
            }
            if (!isLed && r.ContainsKey("state")) verdict = ReadVerdict(ctx, r);
            var outcomes = (r.ContainsKey("led") || r.ContainsKey("state") ? 1 : 0) + (unknown is not null ? 1 : 0);
            if (outcomes != 1) ctx.Error(item, isLed ? "a row gives exactly one of 'led' or 'unknown'" : "a row gives exactly one of 'state/severity/code/meaning/action' or 'unknown'");
            if (id is not null)
                rows.Add(new DerivationRow(id, when, led, verdict, unknown, r.ContainsKey("note") ? ctx.Str(r, "note") : null, ctx.At(item)));
        }
        return rows;
    }

    private static readonly Dictionary<string, CompareOp> Ops = new()
    {
        ["eq"] = CompareOp.Eq, ["ne"] = CompareOp.Ne, ["lt"] = CompareOp.Lt, ["le"] = CompareOp.Le, ["gt"] = CompareOp.Gt,
        ["ge"] = CompareOp.Ge, ["in"] = CompareOp.In, ["known"] = CompareOp.Known,
    };

    private static Condition? ReadCondition(Ctx ctx, string reading, YamlNode test, Dictionary<string, string> inputs, ICollection<string> _)
    {
        if (!inputs.TryGetValue(reading, out var type))
        {
            ctx.Error(test, $"condition on '{reading}', which is not declared under 'inputs'");
            return null;
        }
        switch (test)
        {
            case YamlScalarNode s:
                return ctx.Literal(s, type, inputs) is var (v, r) ? new Condition(reading, CompareOp.Eq, v, r, null) : null;
            case YamlSequenceNode list:
                var set = list.Children.Select(c => c is YamlScalarNode sc ? ctx.Literal(sc, type, inputs)?.Value : null).ToList();
                return set.All(x => x is not null) ? new Condition(reading, CompareOp.In, null, null, set!) : null;
            case YamlMappingNode map when map.Children.Count == 1:
                var (opNode, operand) = map.Children.First();
                var opName = (opNode as YamlScalarNode)?.Value ?? "";
                if (!Ops.TryGetValue(opName, out var op)) { ctx.Error(opNode, $"unknown operator '{opName}' (eq, ne, lt, le, gt, ge, in, known)"); return null; }
                if (op == CompareOp.Known)
                    return ctx.Literal(operand as YamlScalarNode, "bool", inputs) is var (kb, _) ? new Condition(reading, op, kb, null, null) : null;
                if (op is CompareOp.Lt or CompareOp.Le or CompareOp.Gt or CompareOp.Ge && type != "number") { ctx.Error(opNode, $"'{opName}' needs a number input; '{reading}' is {type}"); return null; }
                if (op == CompareOp.In) return ReadCondition(ctx, reading, operand, inputs, _) is { Op: CompareOp.In } c ? c : null;
                return ctx.Literal(operand as YamlScalarNode, type, inputs) is var (ov, or) ? new Condition(reading, op, ov, or, null) : null;
            default:
                ctx.Error(test, $"condition on '{reading}' must be a value, a list of values, or one operator such as {{ lt: $maxSpeedMbps }}");
                return null;
        }
    }

    private static void CrossCheck(List<IndicatorFamily> families, List<DerivationTable> derivations, List<RuleError> errors)
    {
        foreach (var g in families.GroupBy(f => f.Name).Where(g => g.Count() > 1))
            foreach (var f in g.Skip(1)) errors.Add(new RuleError(f.Location, $"family '{f.Name}' is defined twice (also at {g.First().Location})"));
        var names = new Dictionary<string, IndicatorFamily>();
        foreach (var f in families)
            foreach (var alias in f.Aliases.Prepend(f.Name))
                if (!names.TryAdd(alias, f) && names[alias] != f)
                    errors.Add(new RuleError(f.Location, $"name or alias '{alias}' of family '{f.Name}' is already used by family '{names[alias].Name}'"));
        var ids = new Dictionary<string, SourceLocation>();
        foreach (var r in families.SelectMany(f => f.Rules))
            if (!ids.TryAdd(r.Id, r.Location)) errors.Add(new RuleError(r.Location, $"duplicate rule id '{r.Id}' (first at {ids[r.Id]})"));
        foreach (var g in derivations.GroupBy(d => d.Key).Where(g => g.Count() > 1))
            foreach (var d in g.Skip(1)) errors.Add(new RuleError(d.Location, $"derivation '{d.Key}' is defined twice (also at {g.First().Location})"));
        foreach (var d in derivations)
        {
            var rowIds = new HashSet<string>();
            foreach (var row in d.Leds.Values.SelectMany(r => r).Concat(d.Health))
                if (!rowIds.Add(row.Id)) errors.Add(new RuleError(row.Location, $"duplicate row id '{row.Id}' in derivation '{d.Key}'"));
            if (d.Family is null) continue;
            var fam = families.FirstOrDefault(f => f.Name == d.Family);
            if (fam is null) { errors.Add(new RuleError(d.Location, $"derivation '{d.Key}' names unknown family '{d.Family}'")); continue; }
            foreach (var led in d.Leds.Keys.Where(l => !fam.Leds.Contains(l)))
                errors.Add(new RuleError(d.Location, $"derivation '{d.Key}' derives LED '{led}', which family '{fam.Name}' does not have ({string.Join(", ", fam.Leds)})"));
        }
    }

    // ---- parts --------------------------------------------------------------------------------------------

    private static PartRule? ReadPart(Ctx ctx, YamlMappingNode root)
    {
        var m = ctx.Map(root, ["part", "title", "hwType", "label", "key", "match", "implies"], ["part", "title", "hwType", "label", "key", "match"]);
        if (m is null) return null;
        var name = ctx.Str(m, "part");
        if (name is not null && !NamePattern().IsMatch(name)) ctx.Error(m["part"], $"part name '{name}' must be lowercase letters, digits and '-'");
        var hwType = ctx.Str(m, "hwType");
        if (hwType is not null && !HwTypes.Contains(hwType)) ctx.Error(m["hwType"], $"unknown hwType '{hwType}' (expected one of: {string.Join(", ", HwTypes)})");
        var label = ctx.Str(m, "label");
        PartKey? key = ctx.Str(m, "key") switch
        {
            "slot" => PartKey.Slot, "one" => PartKey.One, "each" => PartKey.Each, null => null,
            var k => Bad(ctx, m["key"], $"unknown key '{k}' (slot: one part per slot; one: every match is the same part; each: every component its own part)"),
        };
        if (key == PartKey.Slot && label is not null && !label.Contains("{slot}", StringComparison.Ordinal))
            ctx.Error(m["label"], "a part keyed by slot needs '{slot}' in its label, e.g. 'PSU {slot}'");
        var match = new List<PartMatch>();
        if (m.TryGetValue("match", out var mn))
        {
            if (mn is not YamlSequenceNode seq || seq.Children.Count == 0) ctx.Error(mn, "'match' must be a non-empty list of { family, hwType, source }");
            else foreach (var item in seq.Children) if (ReadMatch(ctx, item, conditions: false) is { } pm) match.Add(pm);
        }
        var implies = new List<Implication>();
        if (m.TryGetValue("implies", out var imn))
        {
            if (imn is not YamlSequenceNode seq) ctx.Error(imn, "'implies' must be a list");
            else
            {
                foreach (var item in seq.Children)
                {
                    var im = ctx.Map(item, ["when", "then", "holdSeconds"], ["when", "then"]);
                    if (im is null) continue;
                    var when = im.TryGetValue("when", out var wn) ? ReadMatch(ctx, wn, conditions: true) : null;
                    var then = new List<PartMatch>();
                    if (im.TryGetValue("then", out var tn))
                    {
                        if (tn is not YamlSequenceNode ts || ts.Children.Count == 0) ctx.Error(tn, "'then' must be a non-empty list of conditions");
                        else foreach (var t in ts.Children) if (ReadMatch(ctx, t, conditions: true) is { } pm) then.Add(pm);
                    }
                    var hold = im.TryGetValue("holdSeconds", out var hn) ? ctx.Number(hn, "holdSeconds", 0, 3600) ?? 5 : 5;
                    if (when is not null && then.Count > 0) implies.Add(new Implication(when, then, hold, ctx.At(item)));
                }
            }
        }
        if (name is null || hwType is null || label is null || key is null) return null;
        return new PartRule(name, ctx.Str(m, "title") ?? name, hwType, label, key.Value, match, implies, ctx.At(root));

        static PartKey? Bad(Ctx ctx, YamlNode n, string message) { ctx.Error(n, message); return null; }
    }

    private static PartMatch? ReadMatch(Ctx ctx, YamlNode node, bool conditions)
    {
        var allowed = conditions ? new[] { "family", "hwType", "source", "code", "severity" } : ["family", "hwType", "source"];
        var m = ctx.Map(node, allowed, []);
        if (m is null) return null;
        if (m.Count == 0) { ctx.Error(node, $"an empty match would match everything; give at least one of: {string.Join(", ", allowed)}"); return null; }
        var hwTypes = OneOrMany(ctx, m, "hwType");
        foreach (var h in hwTypes ?? []) if (!HwTypes.Contains(h)) ctx.Error(m["hwType"], $"unknown hwType '{h}'");
        var severities = OneOrMany(ctx, m, "severity");
        var sev = new List<Severity>();
        foreach (var sv in severities ?? [])
            if (HealthWords.Severities.TryGetValue(sv, out var s)) sev.Add(s);
            else ctx.Error(m["severity"], $"unknown severity '{sv}' (expected one of: ok, info, warning, critical)");
        return new PartMatch(OneOrMany(ctx, m, "family"), hwTypes, OneOrMany(ctx, m, "source"), OneOrMany(ctx, m, "code"),
            severities is null ? null : sev, ctx.At(node));
    }

    private static List<string>? OneOrMany(Ctx ctx, Dictionary<string, YamlNode> m, string key) =>
        !m.TryGetValue(key, out var n) ? null : n is YamlSequenceNode ? ctx.StrList(m, key) : ctx.Scalar(n, key) is { } one ? [one] : [];

    /// <summary>Parts name families and codes the rule set has: a misspelt code would silently never match.</summary>
    private static void CrossCheckParts(List<PartRule> parts, List<IndicatorFamily> families, List<DerivationTable> derivations, List<RuleError> errors)
    {
        foreach (var g in parts.GroupBy(p => p.Name).Where(g => g.Count() > 1))
            foreach (var p in g.Skip(1)) errors.Add(new RuleError(p.Location, $"part '{p.Name}' is defined twice (also at {g.First().Location})"));
        var familyNames = families.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var codes = families.SelectMany(f => f.Rules).Select(r => r.Verdict.Code)
            .Concat(derivations.SelectMany(d => d.Health).Where(r => r.Verdict is not null).Select(r => r.Verdict!.Code))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var p in parts)
        {
            foreach (var pm in p.Match.Concat(p.Implies.SelectMany(i => i.Then.Prepend(i.When))))
            {
                foreach (var f in pm.Families ?? []) if (!familyNames.Contains(f)) errors.Add(new RuleError(pm.Location, $"part '{p.Name}' names unknown family '{f}'"));
                foreach (var c in pm.Codes ?? []) if (!codes.Contains(c)) errors.Add(new RuleError(pm.Location, $"part '{p.Name}' names code '{c}', which no indicator or derivation row gives"));
            }
        }
    }

    // ---- strict YAML helpers --------------------------------------------------------------------------

    private sealed class Ctx(string file, List<RuleError> errors)
    {
        public List<RuleError> Errors => errors;
        public SourceLocation At(YamlNode n) => new(file, (int)n.Start.Line, (int)n.Start.Column);
        public void Error(YamlNode n, string message) => errors.Add(new RuleError(At(n), message));

        /// <summary>Reads a mapping; reports unknown keys (when <paramref name="allowed"/> is given) and missing required keys.</summary>
        public Dictionary<string, YamlNode>? Map(YamlNode node, string[]? allowed, string[] required)
        {
            if (node is not YamlMappingNode map) { Error(node, "expected a mapping (key: value)"); return null; }
            var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                if (allowed is not null && !allowed.Contains(key)) { Error(k, $"unknown key '{key}' (allowed: {string.Join(", ", allowed)})"); continue; }
                if (!result.TryAdd(key, v)) Error(k, $"key '{key}' appears twice");
            }
            foreach (var req in required.Where(r => !result.ContainsKey(r))) Error(node, $"missing required key '{req}'");
            return result;
        }

        public string? Scalar(YamlNode n, string what)
        {
            if (n is YamlScalarNode { Value: { } v }) return v.Trim();
            Error(n, $"'{what}' must be a single value");
            return null;
        }

        public string? Str(Dictionary<string, YamlNode>? m, string key) =>
            m is not null && m.TryGetValue(key, out var n) ? Scalar(n, key) : null;

        public List<string>? StrList(Dictionary<string, YamlNode>? m, string key)
        {
            if (m is null || !m.TryGetValue(key, out var n)) return null;
            if (n is not YamlSequenceNode seq) { Error(n, $"'{key}' must be a list"); return null; }
            return seq.Children.Select(c => Scalar(c, key)).OfType<string>().ToList();
        }

        public int? Int(YamlNode n, string what, int min, int max)
        {
            if (Scalar(n, what) is { } s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
            Error(n, $"'{what}' must be a whole number from {min} to {max}");
            return null;
        }

        public double? Number(YamlNode n, string what, double min, double max)
        {
            if (Scalar(n, what) is { } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
            Error(n, $"'{what}' must be a number from {min} to {max}");
            return null;
        }

        /// <summary>A literal of the input's type, or a $reference to another declared input of the same type.</summary>
        public (object? Value, string? Reference)? Literal(YamlScalarNode? n, string type, Dictionary<string, string> inputs)
        {
            if (n?.Value is not { } raw) { if (n is not null) Error(n, "expected a value"); return null; }
            if (raw.StartsWith('$'))
            {
                var name = raw[1..];
                if (!inputs.TryGetValue(name, out var t)) { Error(n, $"'{raw}' names no declared input"); return null; }
                if (t != type) { Error(n, $"'{raw}' is {t}, compared with a {type}"); return null; }
                return (null, name);
            }
            switch (type)
            {
                case "bool" when raw is "true" or "false": return (raw == "true", null);
                case "number" when double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d): return (d, null);
                case "string": return (raw, null);
                default: Error(n, $"'{raw}' is not a {type}"); return null;
            }
        }
    }
}
