using System.Text.Json;
using HealthAgent.Publishing;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Web;
using Microsoft.Extensions.Configuration;

namespace HealthAgent.Config;

/// <summary>A configuration problem, or many: they are all listed at once and the agent refuses to start.</summary>
public sealed class ConfigException(IReadOnlyList<string> errors)
    : Exception("configuration is invalid:\n  " + string.Join("\n  ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// agent.json bound and validated: the file given with --config, else ./agent.json, else /etc/healthagent/agent.json,
/// else the defaults built into the binary. Environment variables override it (HEALTHAGENT_ prefix, "__" between
/// levels: HEALTHAGENT_PUBLISHERS__MQTT__HOST=broker).
/// <para>Strict and in one round: the JSON document and every override are checked against agent.schema.json
/// (<see cref="ConfigSchema"/>: unknown keys, wrong JSON types, values that do not parse), every options type is bound
/// once by the source-generated binder (no reflection, so the Native AOT binary binds lists and dictionaries too) and
/// validated; all problems are listed together.</para>
/// </summary>
public sealed class AgentConfig
{
    public const string EnvPrefix = "HEALTHAGENT_";
    public static readonly string[] DefaultPaths = ["agent.json", "/etc/healthagent/agent.json"];

    // agent.json may carry comments and trailing commas, as the configuration JSON provider allows.
    private static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private AgentConfig(string source, string baseDirectory, AgentOptions agent, RuleSet rules, IReadOnlyDictionary<string, SourceOptions> sources,
        IReadOnlyDictionary<string, PublisherOptions> publishers, WebOptions web, IReadOnlyDictionary<string, string?> values)
    {
        Values = values;
        Source = source;
        BaseDirectory = baseDirectory;
        Agent = agent;
        Rules = rules;
        Sources = sources;
        Publishers = publishers;
        Web = web;
    }

    /// <summary>The file the configuration came from, or "embedded:agent.json".</summary>
    public string Source { get; }
    /// <summary>Relative paths in the configuration are relative to this directory.</summary>
    public string BaseDirectory { get; }
    public AgentOptions Agent { get; }
    public RuleSet Rules { get; }
    /// <summary>Options of every catalogued source, by catalog key (enabled or not).</summary>
    public IReadOnlyDictionary<string, SourceOptions> Sources { get; }
    /// <summary>Options of every catalogued publisher, by catalog key (enabled or not).</summary>
    public IReadOnlyDictionary<string, PublisherOptions> Publishers { get; }
    /// <summary>The web view's options (<c>web</c>).</summary>
    public WebOptions Web { get; }

    public string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(BaseDirectory, path));
    public string StateDirectory => ResolvePath(Agent.StateDirectory);
    /// <summary>The rules directory the tables were loaded from (and are reloaded from), or null: the tables built into the binary.</summary>
    public string? RulesDirectory => Agent.RulesDirectory is { Length: > 0 } rd ? ResolvePath(rd) : null;
    /// <summary>Every configuration key ("sources:hwmon:intervalSeconds") and its value after overrides: what a reload compares.</summary>
    internal IReadOnlyDictionary<string, string?> Values { get; }

    /// <summary>Loads, checks, binds and validates everything; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static AgentConfig Load(string? path, IDictionary<string, string?>? overrides = null)
    {
        var errors = new List<string>();
        string source, baseDir;
        byte[] json;
        var file = path ?? DefaultPaths.FirstOrDefault(File.Exists);
        if (file is not null)
        {
            if (!File.Exists(file)) throw new ConfigException([$"{file}: configuration file not found"]);
            source = Path.GetFullPath(file);
            baseDir = Path.GetDirectoryName(source)!;
            json = File.ReadAllBytes(file);
        }
        else
        {
            source = "embedded:agent.json";
            baseDir = Environment.CurrentDirectory;
            using var embedded = typeof(AgentConfig).Assembly.GetManifestResourceStream("agent.json")!;
            using var copy = new MemoryStream();
            embedded.CopyTo(copy);
            json = copy.ToArray();
        }
        try
        {
            using var doc = JsonDocument.Parse(json, JsonOptions);
            ConfigSchema.CheckDocument(doc.RootElement, errors);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ConfigException(errors.Count > 0 ? errors : ["(root): expected an object, got null"]); // nothing to bind
        }
        catch (JsonException e) { throw new ConfigException([$"{source}: not valid JSON: {e.Message}"]); }

        var builder = new ConfigurationBuilder().AddJsonStream(new MemoryStream(json)).AddEnvironmentVariables(EnvPrefix);
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
        IConfigurationRoot root;
        try { root = builder.Build(); }
        catch (Exception e) when (e is FormatException or InvalidDataException or JsonException)
        {
            throw new ConfigException([$"{source}: not valid JSON: {e.InnerException?.Message ?? e.Message}"]);
        }
        foreach (var (key, value) in EnvironmentOverrides())
            ConfigSchema.CheckOverride(key, value, $"environment {EnvPrefix}{key.Replace(":", "__", StringComparison.Ordinal)}", errors);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            ConfigSchema.CheckOverride(key, value, "override", errors);

        // Each options type bound once, by a non-generic call the configuration binding generator compiles.
        var typeErrors = errors.Select(e => e[..e.IndexOf(':', StringComparison.Ordinal)]).ToList();
        var agent = Bind("", () => root.Get<AgentOptions>(), typeErrors, errors);
        var sources = SourceCatalog.All.ToDictionary(d => d.Key, d => Bind("sources." + d.Key, () => d.Bind(root.GetSection("sources:" + d.Key)), typeErrors, errors), StringComparer.Ordinal);
        var publishers = PublisherCatalog.All.ToDictionary(d => d.Key, d => Bind("publishers." + d.Key, () => d.Bind(root.GetSection("publishers:" + d.Key)), typeErrors, errors), StringComparer.Ordinal);
        var web = Bind("web", () => root.GetSection("web").Get<WebOptions>(), typeErrors, errors);

        // Rules: an explicit directory must exist; without one, ./rules beside the config, else the embedded seed tables.
        RuleSet? rules;
        IReadOnlyList<RuleError> ruleErrors;
        var rulesDir = agent.RulesDirectory is { Length: > 0 } rd ? (Path.IsPathRooted(rd) ? rd : Path.Combine(baseDir, rd)) : null;
        if (rulesDir is not null) (rules, ruleErrors) = RuleLoader.LoadDirectory(rulesDir);
        else (rules, ruleErrors) = RuleLoader.LoadEmbedded();
        errors.AddRange(ruleErrors.Select(e => "rules: " + e));

        if (errors.Count > 0) throw new ConfigException(errors);
        return new AgentConfig(source, baseDir, agent, rules!, sources, publishers, web,
            root.AsEnumerable().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>The HEALTHAGENT_* variables as configuration keys ("__" → ":"), as the environment provider reads them.</summary>
    private static IEnumerable<(string Key, string? Value)> EnvironmentOverrides()
    {
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Key is string k && k.StartsWith(EnvPrefix, StringComparison.OrdinalIgnoreCase))
                yield return (k[EnvPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), e.Value as string);
    }

    /// <summary>
    /// Binds one section (null when absent: the defaults) and validates it. What the schema check already reported is
    /// not reported again: a conversion at that path, or a validation message under it (an array bound into a
    /// dictionary says more about the wrong type than about its entries). One fault, one message.
    /// </summary>
    private static T Bind<T>(string path, Func<T?> bind, List<string> typeErrors, List<string> errors) where T : class, IValidatable, new()
    {
        T o;
        try { o = bind() ?? new T(); }
        catch (InvalidOperationException e)
        {
            if (!typeErrors.Any(p => Covers(path, p) || Covers(p, path)))
                errors.Add($"{(path.Length == 0 ? "(root)" : path)}: {e.InnerException?.Message ?? e.Message}");
            return new T();
        }
        var problems = new List<string>();
        o.Validate(path, problems);
        errors.AddRange(problems.Where(m => !typeErrors.Any(p => Covers(p, m[..Math.Max(0, m.IndexOf(':', StringComparison.Ordinal))]))));
        return o;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="outer"/> or lies under it ("web.users" covers "web.users[0].name").</summary>
    private static bool Covers(string outer, string path) =>
        outer.Length == 0 || path == outer || (path.StartsWith(outer, StringComparison.Ordinal) && path[outer.Length] is '.' or '[');
}
