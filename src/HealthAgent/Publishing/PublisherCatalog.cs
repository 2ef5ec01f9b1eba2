using System.Diagnostics.CodeAnalysis;
using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Publishing.Mqtt;
using HealthAgent.Publishing.Otlp;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Publishing;

/// <summary>Options every publisher has under <c>publishers.&lt;name&gt;</c>.</summary>
public class PublisherOptions : IValidatable
{
    /// <summary>Whether the agent runs this publisher.</summary>
    public bool Enabled { get; set; } = true;

    public virtual void Validate(string path, ICollection<string> errors) { }
}

/// <summary>What a publisher needs from the agent when it is created.</summary>
/// <param name="SourceStats">Self-metrics of the running sources (up, duration, errors), for OTLP.</param>
public sealed record PublisherContext(
    AgentConfig Config, ILoggerFactory LoggerFactory, TimeProvider Time, string AgentId, string BootId,
    Func<IReadOnlyList<SourceStats>> SourceStats);

/// <summary>One catalog entry: the agent.json key under "publishers", the options type it binds, and how to create the publisher.</summary>
public sealed record PublisherDescriptor(string Key, Type OptionsType, Func<AgentConfig, ICollection<string>, PublisherOptions> Bind, Func<PublisherContext, PublisherOptions, IHealthPublisher> Create)
{
    public static PublisherDescriptor For<[DynamicallyAccessedMembers(AgentConfig.BoundMembers)] TOptions>(string key, Func<PublisherContext, TOptions, IHealthPublisher> create) where TOptions : PublisherOptions, new() =>
        new(key, typeof(TOptions), (cfg, errors) => cfg.Bind<TOptions>("publishers:" + key, errors), (ctx, o) => create(ctx, (TOptions)o));
}

/// <summary>
/// Every publisher the agent has: an explicit list, no assembly scanning. Adding a publisher is one folder under
/// Publishing/ and one line here (mirrors SourceCatalog).
/// </summary>
public static class PublisherCatalog
{
    public static readonly IReadOnlyList<PublisherDescriptor> All =
    [
        // one line per publisher
        PublisherDescriptor.For<MqttPublisherOptions>("mqtt", (ctx, o) => new MqttPublisher(o, ctx)),
        PublisherDescriptor.For<OtlpPublisherOptions>("otlp", (ctx, o) => OtlpPublisher.Create(o, ctx.LoggerFactory, ctx.SourceStats)),
    ];

    /// <summary>Binds and validates every publisher's options; unknown keys under "publishers" are errors.</summary>
    public static IReadOnlyDictionary<string, PublisherOptions> BindAll(AgentConfig config, ICollection<string> errors)
    {
        foreach (var child in config.Root.GetSection("publishers").GetChildren())
            if (!All.Any(d => string.Equals(d.Key, child.Key, StringComparison.OrdinalIgnoreCase)))
                errors.Add($"publishers.{child.Key}: unknown publisher (known: {string.Join(", ", All.Select(d => d.Key))})");
        return All.ToDictionary(d => d.Key, d => d.Bind(config, errors), StringComparer.Ordinal);
    }

    /// <summary>Creates the enabled publishers; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static IReadOnlyList<IHealthPublisher> CreateEnabled(PublisherContext ctx)
    {
        var errors = new List<string>();
        var options = BindAll(ctx.Config, errors);
        if (errors.Count > 0) throw new ConfigException(errors);
        return All.Where(d => options[d.Key].Enabled).Select(d => d.Create(ctx, options[d.Key])).ToList();
    }
}
