using System.Diagnostics.CodeAnalysis;
using HealthAgent.Rules;
using HealthAgent.Sources;
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
/// </summary>
public sealed class AgentConfig
{
    public const string EnvPrefix = "HEALTHAGENT_";
    /// <summary>What binding reads of an options type (kept by the trimmer wherever a type flows into Bind).</summary>
    public const DynamicallyAccessedMemberTypes BoundMembers = DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties;
    public static readonly string[] DefaultPaths = ["agent.json", "/etc/healthagent/agent.json"];

    private AgentConfig(string source, string baseDirectory, IConfigurationRoot root, AgentOptions agent, RuleSet rules, IReadOnlyDictionary<string, SourceOptions> sources)
    {
        Source = source;
        BaseDirectory = baseDirectory;
        Root = root;
        Agent = agent;
        RuleHolder = new RuleSetHolder(rules);
        Sources = sources;
    }

    /// <summary>The file the configuration came from, or "embedded:agent.json".</summary>
    public string Source { get; }
    /// <summary>Relative paths in the configuration are relative to this directory.</summary>
    public string BaseDirectory { get; }
    public IConfigurationRoot Root { get; }
    public AgentOptions Agent { get; }
    /// <summary>The rule set now (after any reload): <see cref="RuleHolder"/>'s current one.</summary>
    public RuleSet Rules => RuleHolder.Current;
    /// <summary>The agent's one rule set; a reload replaces it here and reaches every consumer.</summary>
    public RuleSetHolder RuleHolder { get; }
    /// <summary>Options of every catalogued source, by catalog key (enabled or not).</summary>
    public IReadOnlyDictionary<string, SourceOptions> Sources { get; }

    public string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(BaseDirectory, path));
    public string StateDirectory => ResolvePath(Agent.StateDirectory);

    /// <summary>Binds a section (e.g. "publishers:mqtt") strictly into T and validates it, adding errors to the list.</summary>
    public T Bind<[DynamicallyAccessedMembers(BoundMembers)] T>(string key, ICollection<string> errors) where T : class, new() => BindSection<T>(Root.GetSection(key), DisplayPath(key), errors);

    /// <summary>Loads, binds and validates everything; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static AgentConfig Load(string? path, IDictionary<string, string?>? overrides = null)
    {
        var errors = new List<string>();
        var builder = new ConfigurationBuilder();
        string source, baseDir;
        var file = path ?? DefaultPaths.FirstOrDefault(File.Exists);
        if (file is not null)
        {
            if (!File.Exists(file)) throw new ConfigException([$"{file}: configuration file not found"]);
            source = Path.GetFullPath(file);
            baseDir = Path.GetDirectoryName(source)!;
            builder.AddJsonStream(new MemoryStream(File.ReadAllBytes(file)));
        }
        else
        {
            source = "embedded:agent.json";
            baseDir = Environment.CurrentDirectory;
            builder.AddJsonStream(typeof(AgentConfig).Assembly.GetManifestResourceStream("agent.json")!);
        }
        builder.AddEnvironmentVariables(EnvPrefix);
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
        IConfigurationRoot root;
        try { root = builder.Build(); }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ConfigException([$"{source}: not valid JSON: {e.InnerException?.Message ?? e.Message}"]);
        }

        var known = new HashSet<string>(["$schema", "agentId", "stateDirectory", "rulesDirectory", "logLevel", "sources", "publishers", "web"], StringComparer.OrdinalIgnoreCase);
        foreach (var child in root.GetChildren().Where(c => !known.Contains(c.Key)))
            errors.Add($"{child.Key}: unknown key (known: {string.Join(", ", known.Where(k => k != "$schema"))})");

        var agent = BindSection<AgentOptions>(root, "", errors, skip: ["$schema", "sources", "publishers", "web"]);

        var sources = new Dictionary<string, SourceOptions>(StringComparer.Ordinal);
        var sourcesSection = root.GetSection("sources");
        foreach (var child in sourcesSection.GetChildren().Where(c => !SourceCatalog.All.Any(d => string.Equals(d.Key, c.Key, StringComparison.OrdinalIgnoreCase))))
            errors.Add($"sources.{child.Key}: unknown source (known: {string.Join(", ", SourceCatalog.All.Select(d => d.Key))})");
        foreach (var d in SourceCatalog.All)
        {
            var o = (SourceOptions)Activator.CreateInstance(d.OptionsType)!;
            var section = sourcesSection.GetSection(d.Key);
            BindInto(section, o, d.OptionsType, "sources." + d.Key, errors);
            sources[d.Key] = o;
        }

        // Rules: an explicit directory must exist; without one, ./rules beside the config, else the embedded seed tables.
        RuleSet? rules;
        IReadOnlyList<RuleError> ruleErrors;
        var rulesDir = agent.RulesDirectory is { Length: > 0 } rd ? (Path.IsPathRooted(rd) ? rd : Path.Combine(baseDir, rd)) : null;
        if (rulesDir is not null) (rules, ruleErrors) = RuleLoader.LoadDirectory(rulesDir);
        else (rules, ruleErrors) = RuleLoader.LoadEmbedded();
        errors.AddRange(ruleErrors.Select(e => "rules: " + e));

        if (errors.Count > 0) throw new ConfigException(errors);
        return new AgentConfig(source, baseDir, root, agent, rules!, sources);
    }

    private static string DisplayPath(string key) => key.Replace(':', '.');

    private static T BindSection<[DynamicallyAccessedMembers(BoundMembers)] T>(IConfiguration section, string path, ICollection<string> errors, string[]? skip = null) where T : class, new()
    {
        var o = new T();
        BindInto(section, o, typeof(T), path, errors, skip);
        return o;
    }

    // The reflection binder walks the options types' properties, and theirs (lists of endpoints, users…): all in
    // healthagent.dll, which the trimmed publish keeps whole (TrimmerRootAssembly in HealthAgent.csproj). The
    // source-generated binder cannot bind the catalog's options through a Type.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "options types live in healthagent.dll, a trimmer root assembly")]
    private static void BindInto(IConfiguration section, object target, [DynamicallyAccessedMembers(BoundMembers)] Type type, string path, ICollection<string> errors, string[]? skip = null)
    {
        // Strict: a key the options type does not have is an error, not silently ignored.
        var props = type.GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
            if (!props.Contains(child.Key) && !(skip?.Contains(child.Key, StringComparer.OrdinalIgnoreCase) ?? false))
                errors.Add($"{Prefix(path)}{child.Key}: unknown key (known: {string.Join(", ", props.Select(Camel))})");
        try
        {
            var filtered = skip is null ? section : new ConfigurationBuilder().AddInMemoryCollection(
                section.AsEnumerable(makePathsRelative: true).Where(kv => !skip.Any(s => kv.Key.StartsWith(s, StringComparison.OrdinalIgnoreCase)))).Build();
            filtered.Bind(target, o => o.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException e)
        {
            errors.Add($"{(path.Length == 0 ? "(root)" : path)}: {e.InnerException?.Message ?? e.Message}");
            return;
        }
        if (target is IValidatable v) v.Validate(path, errors);
    }

    private static string Prefix(string path) => path.Length == 0 ? "" : path + ".";
    private static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}
