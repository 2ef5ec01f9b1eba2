using BenchmarkDotNet.Attributes;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.Hwmon;
using HealthAgent.Sources.MdRaid;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Benchmarks;

/// <summary>One poll of the generated fixture (200 sensors, 24 md members), and the same with evaluation through the rule tables.</summary>
[MemoryDiagnoser]
public class LinuxPollBenchmarks
{
    private LinuxFixture _fixture = null!;

    public LinuxFixture Fixture => _fixture;
    private HwmonSource _hwmon = null!;
    private MdRaidSource _md = null!;
    private Evaluator _evaluator = null!;

    /// <summary>hwmon re-reads chips, labels and limits every N polls: 360 is the default, 30 shows the cost of frequent refreshes.</summary>
    [Params(30, 360)]
    public int RefreshPolls { get; set; } = 360;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = new LinuxFixture();
        var rules = RuleLoader.LoadEmbedded().Rules!;
        var ctx = new SourceContext(NullLoggerFactory.Instance, rules, TimeProvider.System);
        _hwmon = new HwmonSource(new HwmonOptions { HostRoot = _fixture.Root, RefreshPolls = RefreshPolls }, ctx);
        _md = new MdRaidSource(new MdRaidOptions { HostRoot = _fixture.Root }, ctx);
        _evaluator = new Evaluator(rules);
        Hwmon().GetAwaiter().GetResult(); // discovery happens on the first poll
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.Dispose();

    [Benchmark]
    public async Task<int> Hwmon() => (await _hwmon.PollAsync(default)).Observations.Count;

    [Benchmark]
    public async Task<int> MdRaid() => (await _md.PollAsync(default)).Observations.Count;

    [Benchmark(Baseline = true)]
    public async Task<int> FullPoll()
    {
        var a = await _hwmon.PollAsync(default);
        var b = await _md.PollAsync(default);
        return a.Observations.Count + b.Observations.Count;
    }

    [Benchmark]
    public async Task<int> FullPollAndEvaluate()
    {
        var n = 0;
        foreach (var r in new[] { await _hwmon.PollAsync(default), await _md.PollAsync(default) })
            foreach (var o in r.Observations)
                if (_evaluator.Evaluate(o).Verdict is not null) n++;
        return n;
    }
}
