using HealthAgent.Config;
using HealthAgent.Rules;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Sources;

/// <summary>What a source needs from the agent when it is created.</summary>
public sealed record SourceContext(ILoggerFactory LoggerFactory, RuleSet Rules, TimeProvider Time);

/// <summary>
/// One catalog entry: the agent.json key under "sources", its options type, how to bind its section (absent: the defaults; a statically
/// typed <c>Get&lt;TOptions&gt;()</c> the configuration binding generator compiles: no reflection, AOT-safe) and how
/// to create the source.
/// </summary>
public sealed record SourceDescriptor(string Key, Type OptionsType, Func<IConfiguration, SourceOptions> Bind, Func<SourceContext, SourceOptions, ISource> Create)
{
    public static SourceDescriptor For<TOptions>(string key, Func<IConfiguration, TOptions?> bind, Func<SourceContext, TOptions, ISource> create) where TOptions : SourceOptions, new() =>
        new(key, typeof(TOptions), c => bind(c) ?? new TOptions(), (ctx, o) => create(ctx, (TOptions)o));
}

/// <summary>
/// Every source the agent has: an explicit list, no assembly scanning. Adding a source is one folder under
/// Sources/ and one line here (key, bind, create); a test checks that each folder has its line, README, tests and config key.
/// </summary>
public static class SourceCatalog
{
    public static readonly IReadOnlyList<SourceDescriptor> All =
    [
        // one line per source
        SourceDescriptor.For("redfish", c => c.Get<Redfish.RedfishOptions>(), (ctx, o) => new Redfish.RedfishSource(o, ctx)),
        SourceDescriptor.For("frontPanel", c => c.Get<FrontPanel.FrontPanelOptions>(), (ctx, o) => new FrontPanel.FrontPanelSource(o, ctx)),
        SourceDescriptor.For("hwmon", c => c.Get<Hwmon.HwmonOptions>(), (ctx, o) => new Hwmon.HwmonSource(o, ctx)),
        SourceDescriptor.For("nic", c => c.Get<Nic.NicOptions>(), (ctx, o) => new Nic.NicSource(o, ctx)),
        SourceDescriptor.For("smart", c => c.Get<Smart.SmartOptions>(), (ctx, o) => new Smart.SmartSource(o, ctx)),
        SourceDescriptor.For("mdraid", c => c.Get<MdRaid.MdRaidOptions>(), (ctx, o) => new MdRaid.MdRaidSource(o, ctx)),
        SourceDescriptor.For("powersupply", c => c.Get<PowerSupply.PowerSupplyOptions>(), (ctx, o) => new PowerSupply.PowerSupplySource(o, ctx)),
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
