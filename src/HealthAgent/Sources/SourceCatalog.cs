using System.Diagnostics.CodeAnalysis;
using HealthAgent.Config;
using HealthAgent.Rules;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources;

/// <summary>What a source needs from the agent when it is created.</summary>
public sealed record SourceContext(ILoggerFactory LoggerFactory, RuleSet Rules, TimeProvider Time)
{
    /// <summary>The agent's rule set holder when running (a reload reaches sources that parse with rules); else <see cref="Rules"/> stays.</summary>
    public RuleSetHolder? RuleHolder { get; init; }

    /// <summary>The rule set now: the holder's current one, else the one given.</summary>
    public RuleSet CurrentRules => RuleHolder?.Current ?? Rules;
}

/// <summary>One catalog entry: the agent.json key under "sources", the options type it binds, and how to create the source.</summary>
public sealed record SourceDescriptor(string Key, [property: DynamicallyAccessedMembers(AgentConfig.BoundMembers)] [param: DynamicallyAccessedMembers(AgentConfig.BoundMembers)] Type OptionsType, Func<SourceContext, SourceOptions, ISource> Create)
{
    public static SourceDescriptor For<[DynamicallyAccessedMembers(AgentConfig.BoundMembers)] TOptions>(string key, Func<SourceContext, TOptions, ISource> create) where TOptions : SourceOptions, new() =>
        new(key, typeof(TOptions), (ctx, o) => create(ctx, (TOptions)o));
}

/// <summary>
/// Every source the agent has: an explicit list, no assembly scanning. Adding a source is one folder under
/// Sources/ and one line here; a test checks that each folder has its line, README, tests and config key.
/// </summary>
public static class SourceCatalog
{
    public static readonly IReadOnlyList<SourceDescriptor> All =
    [
        // one line per source
        SourceDescriptor.For<Redfish.RedfishOptions>("redfish", (ctx, o) => new Redfish.RedfishSource(o, ctx)),
        SourceDescriptor.For<FrontPanel.FrontPanelOptions>("frontPanel", (ctx, o) => new FrontPanel.FrontPanelSource(o, ctx)),
        SourceDescriptor.For<Hwmon.HwmonOptions>("hwmon", (ctx, o) => new Hwmon.HwmonSource(o, ctx)),
        SourceDescriptor.For<Nic.NicOptions>("nic", (ctx, o) => new Nic.NicSource(o, ctx)),
        SourceDescriptor.For<Smart.SmartOptions>("smart", (ctx, o) => new Smart.SmartSource(o, ctx)),
        SourceDescriptor.For<MdRaid.MdRaidOptions>("mdraid", (ctx, o) => new MdRaid.MdRaidSource(o, ctx)),
        SourceDescriptor.For<PowerSupply.PowerSupplyOptions>("powersupply", (ctx, o) => new PowerSupply.PowerSupplySource(o, ctx)),
    ];

    /// <summary>Creates the enabled sources. <paramref name="hostRoot"/> (snapshot/simulate --host-root) overrides every kernel source's hostRoot.</summary>
    public static IReadOnlyList<ISource> CreateEnabled(AgentConfig config, SourceContext ctx, string? hostRoot = null)
    {
        var list = new List<ISource>();
        foreach (var d in All)
        {
            var o = config.Sources[d.Key];
            if (!o.Enabled) continue;
            if (hostRoot is not null && o is HostRootSourceOptions h) h.HostRoot = hostRoot;
            list.Add(d.Create(ctx, o));
        }
        return list;
    }
}
