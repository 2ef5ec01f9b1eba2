using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Tests.Sources;
using HealthAgent.Sources.Nic;

namespace HealthAgent.Tests.Sources.Nic;

/// <summary>NIC helpers on top of <see cref="SourceTestKit"/>: a source on a host root, readings by name.</summary>
internal static class NicTestKit
{
    public static Evaluator Evaluator => SourceTestKit.Evaluator;

    public static string Case(string name) => SourceTestKit.Case(name);

    public static NicSource Source(string hostRoot, Action<NicOptions>? configure = null)
    {
        var o = new NicOptions { HostRoot = hostRoot };
        configure?.Invoke(o);
        var errors = new List<string>();
        o.Validate("sources.nic", errors);
        Assert.Empty(errors);
        return new NicSource(o, SourceTestKit.Context);
    }

    /// <summary>One poll, synchronously (fixture reads are fast; the per-file timeout still applies).</summary>
    public static SourceResult Poll(this NicSource source) => source.PollAsync(CancellationToken.None).GetAwaiter().GetResult();

    public static Reading R(this Observation o, string name) => o.Readings.Single(r => r.Name == name);

    public static Observation Single(this SourceResult result, string ifname) => result.Observations.Single(o => o.Component.Id == "nic:" + ifname);
}
