using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Publishing.Mqtt;
using HealthAgent.Publishing.Otlp;
using Microsoft.Extensions.Configuration;
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

/// <summary>
/// One catalog entry: the agent.json key under "publishers", its options type, how to bind its section (absent: the defaults; a statically
/// typed <c>Get&lt;TOptions&gt;()</c> the configuration binding generator compiles) and how to create the publisher.
/// </summary>
public sealed record PublisherDescriptor(string Key, Type OptionsType, Func<IConfiguration, PublisherOptions> Bind, Func<PublisherContext, PublisherOptions, IHealthPublisher> Create)
{
    public static PublisherDescriptor For<TOptions>(string key, Func<IConfiguration, TOptions?> bind, Func<PublisherContext, TOptions, IHealthPublisher> create) where TOptions : PublisherOptions, new() =>
        new(key, typeof(TOptions), c => bind(c) ?? new TOptions(), (ctx, o) => create(ctx, (TOptions)o));
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
        PublisherDescriptor.For("mqtt", c => c.Get<MqttPublisherOptions>(), (ctx, o) => new MqttPublisher(o, ctx)),
        PublisherDescriptor.For("otlp", c => c.Get<OtlpPublisherOptions>(), (ctx, o) => OtlpPublisher.Create(o, ctx.LoggerFactory, ctx.SourceStats)),
    ];

    /// <summary>Creates the enabled publishers from the options <see cref="AgentConfig.Load"/> bound and validated.</summary>
    public static IReadOnlyList<IHealthPublisher> CreateEnabled(PublisherContext ctx) =>
        All.Where(d => ctx.Config.Publishers[d.Key].Enabled).Select(d => d.Create(ctx, ctx.Config.Publishers[d.Key])).ToList();
}
