using BenchmarkDotNet.Attributes;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.Nic;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Benchmarks;

/// <summary>
/// One poll of 8 NICs on a generated fixture tree (the NIC share of the full-poll figure), and the same with
/// evaluation. The netlink latency and real-veth figures come from bench/HealthAgent.NicLatency (needs root).
/// </summary>
[MemoryDiagnoser]
public class NicPollBenchmarks
{
    private string _root = null!;
    private NicSource _nic = null!;
    private Evaluator _evaluator = null!;

    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("healthagent-nic-bench-").FullName;
        for (var i = 0; i < 8; i++)
        {
            var d = Path.Combine(_root, "sys/class/net", $"eno{i + 1}");
            Directory.CreateDirectory(Path.Combine(d, "statistics"));
            Directory.CreateDirectory(Path.Combine(d, "device"));
            foreach (var (f, v) in new[] { ("operstate", "up"), ("carrier", "1"), ("speed", i < 6 ? "10000" : "1000"), ("duplex", "full"),
                         ("carrier_changes", "2"), ("carrier_up_count", "1"), ("carrier_down_count", "1"), ("statistics/rx_bytes", "123456789"),
                         ("statistics/tx_bytes", "987654321"), (NicSource.MaxSpeedHookFile, "10000") })
                File.WriteAllText(Path.Combine(d, f), v + "\n");
        }
        var rules = RuleLoader.LoadEmbedded().Rules!;
        _nic = new NicSource(new NicOptions { HostRoot = _root }, new SourceContext(NullLoggerFactory.Instance, rules, TimeProvider.System));
        _evaluator = new Evaluator(rules);
        Nic().GetAwaiter().GetResult(); // activity is known from the second poll on
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _nic.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark]
    public async Task<int> Nic() => (await _nic.PollAsync(default)).Observations.Count;

    [Benchmark]
    public async Task<int> NicAndEvaluate()
    {
        var n = 0;
        foreach (var o in (await _nic.PollAsync(default)).Observations)
            if (_evaluator.Evaluate(o).Rule is not null) n++;
        return n;
    }
}
