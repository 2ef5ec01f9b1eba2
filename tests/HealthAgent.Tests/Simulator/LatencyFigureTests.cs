using System.Diagnostics;
using System.Threading.Channels;
using HealthAgent.Simulator;
using HealthAgent.Sources;
using Xunit.Abstractions;

namespace HealthAgent.Tests.Simulator;

/// <summary>Records (does not assert) how long a change takes to reach a client: SSE over HTTP, and the front panel over the pty into the source.</summary>
public class LatencyFigureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Figures_ChangeToClient_Recorded()
    {
        await using var h = await SimulatorHarness.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        using var res = await h.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, RedfishModel.SseUri), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var sse = new StreamReader(await res.Content.ReadAsStreamAsync(cts.Token));
        var channel = Channel.CreateUnbounded<SourceResult>();
        var run = h.Panel.RunAsync(channel.Writer, cts.Token);

        var sseMs = new List<double>();
        var panelMs = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            while (channel.Reader.TryRead(out _)) { }
            var value = i % 2 == 0 ? "fault" : "ok";
            var sw = Stopwatch.StartNew();
            h.Sim.Appliance.Set("psu2", value);
            while (!(await sse.ReadLineAsync(cts.Token))!.StartsWith("data:", StringComparison.Ordinal)) { }
            sseMs.Add(sw.Elapsed.TotalMilliseconds);
            while (true)
            {
                var r = await channel.Reader.ReadAsync(cts.Token);
                if (r.Observations.Any(o => o.Component.Id == "panel:psu:2")) break;
            }
            panelMs.Add(sw.Elapsed.TotalMilliseconds);
        }
        await cts.CancelAsync();
        await run;
        output.WriteLine($"change → SSE event: median {Median(sseMs):0.0} ms, max {sseMs.Max():0.0} ms (20 changes)");
        output.WriteLine($"change → front-panel source push (pty): median {Median(panelMs):0.0} ms, max {panelMs.Max():0.0} ms");
        Assert.Equal(20, panelMs.Count);
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
}
