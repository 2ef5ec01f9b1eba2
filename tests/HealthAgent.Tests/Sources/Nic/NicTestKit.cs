using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.Nic;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Tests.Sources.Nic;

/// <summary>Shared helpers: the built-in rule set, a source on a host root, readings by name.</summary>
internal static class NicTestKit
{
    public static readonly RuleSet Rules = RuleLoader.LoadEmbedded().Rules ?? throw new InvalidOperationException("embedded rules do not load");
    public static readonly Evaluator Evaluator = new(Rules);

    public static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "testcases", name);

    public static NicSource Source(string hostRoot, Action<NicOptions>? configure = null)
    {
        var o = new NicOptions { HostRoot = hostRoot };
        configure?.Invoke(o);
        var errors = new List<string>();
        o.Validate("sources.nic", errors);
        Assert.Empty(errors);
        return new NicSource(o, new SourceContext(NullLoggerFactory.Instance, Rules, TimeProvider.System));
    }

    public static Reading R(this Observation o, string name) => o.Readings.Single(r => r.Name == name);

    public static Observation Single(this SourceResult result, string ifname) => result.Observations.Single(o => o.Component.Id == "nic:" + ifname);

    /// <summary>Copies a fixture case to a fresh temp directory (tests that change files).</summary>
    public static string CopyCase(string name)
    {
        var src = Case(name);
        var dst = Path.Combine(Path.GetTempPath(), "ha-nic-" + Guid.NewGuid().ToString("N")[..12]);
        foreach (var f in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dst, Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return dst;
    }
}
