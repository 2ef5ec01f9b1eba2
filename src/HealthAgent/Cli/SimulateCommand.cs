using System.CommandLine;
using System.Globalization;
using HealthAgent.Config;
using HealthAgent.Simulator;
using Microsoft.Extensions.Logging;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent simulate [--scenario NAME|FILE] [--redfish-port N] [--panel-link PATH] [--host-root DIR]
/// [--interactive] [--loop] [--speed X] [--auth user:password] [--tls]`: a simulated appliance to point the agent at.
/// Exit codes: 0 done, 1 bad configuration, 2 bad scenario or options, 3 could not start (port taken, no pty).
/// </summary>
public static class SimulateCommand
{
    public static Command Build()
    {
        var scenario = new Option<string?>("--scenario", "-s") { Description = "Scenario to play: a name from deploy/scenarios (built in) or a .yaml path. Without it the appliance stays healthy." };
        var port = new Option<int>("--redfish-port", "-p") { Description = "Port of the Redfish service on 127.0.0.1 (0 = any free port; -1 = none)", DefaultValueFactory = _ => 8443 };
        var link = new Option<string?>("--panel-link") { Description = $"Stable symlink to the front panel's pty (default {SimulationOptions.DefaultPanelLink}; \"none\" for no panel)" };
        var hostRoot = new Option<string?>("--host-root") { Description = "Write a sysfs/procfs-style tree here for the Linux sources (hwmon, net, mdstat)" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Read commands from stdin: `<target> <value>`, `state`, `targets`, `reset`, `quit`" };
        var loop = new Option<bool>("--loop") { Description = "Play the scenario again and again" };
        var speed = new Option<double>("--speed") { Description = "Time compression for the scenario (10 = ten times faster)", DefaultValueFactory = _ => 1 };
        var auth = new Option<string?>("--auth") { Description = "Require basic auth or a session with user:password" };
        var heartbeat = new Option<double>("--panel-heartbeat") { Description = "Seconds between front-panel heartbeats", DefaultValueFactory = _ => 1 };
        var tls = new Option<bool>("--tls") { Description = "Serve https with a fresh self-signed certificate; prints its SHA-256 fingerprint" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "With --tls: write the certificate (PEM) here, for a client's caFile (default /tmp/healthagent-sim-cert.pem)" };
        var list = new Option<bool>("--list") { Description = "List the built-in scenarios and the targets, then exit" };
        var cmd = new Command("simulate", "Run a simulated appliance: Redfish BMC, serial front panel, host tree, fault scenarios")
            { scenario, port, link, hostRoot, interactive, loop, speed, auth, heartbeat, tls, tlsCert, list };
        cmd.SetAction((p, ct) => RunAsync(p.GetValue(CommandCatalog.ConfigOption), new SimulationOptions(
            p.GetValue(scenario), p.GetValue(port) < 0 ? null : p.GetValue(port),
            p.GetValue(link) is "none" ? null : p.GetValue(link) ?? SimulationOptions.DefaultPanelLink,
            p.GetValue(hostRoot), p.GetValue(speed), p.GetValue(loop), p.GetValue(auth), p.GetValue(heartbeat),
            p.GetValue(tls), p.GetValue(tls) ? p.GetValue(tlsCert) ?? "/tmp/healthagent-sim-cert.pem" : null),
            p.GetValue(interactive), p.GetValue(list), Console.In, Console.Out, Console.Error, ct));
        return cmd;
    }

    public static async Task<int> RunAsync(string? configPath, SimulationOptions options, bool interactive, bool list,
        TextReader input, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (list)
        {
            output.WriteLine("Scenarios: " + string.Join(", ", ScenarioLoader.BuiltIn()));
            output.WriteLine("Targets:");
            foreach (var t in Appliance.Targets) output.WriteLine($"  {t.Name,-16} {t.Describe(),-60} {t.Help}");
            return 0;
        }
        if (options.Speed is <= 0 or > 10000) { error.WriteLine("--speed must be above 0 and at most 10000"); return 2; }
        if (options.PanelHeartbeatSeconds is < 0.05 or > 3600) { error.WriteLine("--panel-heartbeat must be from 0.05 to 3600"); return 2; }
        Rules.RuleSet rules;
        try { rules = AgentConfig.Load(configPath).Rules; }
        catch (ConfigException e) { error.WriteLine(e.Message); return 1; }

        // Kestrel's warnings reach the console; the host's own start-up failure is reported below in one line.
        using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None));
        Simulation sim;
        try { sim = await Simulation.StartAsync(options, rules, logging, ct).ConfigureAwait(false); }
        catch (ScenarioException e) { error.WriteLine(e.Message); return 2; }
        catch (ArgumentException e) { error.WriteLine(e.Message); return 2; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"cannot start the simulator: {e.Message}");
            return 3;
        }
        await using (sim.ConfigureAwait(false))
        {
            if (sim.Redfish is { } r)
            {
                output.WriteLine($"Redfish service:  {r.BaseAddress}redfish/v1  (SSE {r.BaseAddress}redfish/v1/SSE){(options.Auth is null ? "" : ", auth required")}");
                if (r.Fingerprint is { } fp) output.WriteLine($"TLS certificate:  self-signed, SHA-256 {fp}{(options.TlsCertificateFile is { } pem ? $" (PEM: {pem})" : "")}");
                output.WriteLine($"Control:          GET {r.BaseAddress}sim/state, POST {r.BaseAddress}sim/set {{\"target\":\"psu2\",\"value\":\"fault\"}}");
            }
            if (sim.Panel is { } panel) output.WriteLine($"Front panel:      {panel.Link} -> {panel.SlavePath} (heartbeat every {options.PanelHeartbeatSeconds.ToString(CultureInfo.InvariantCulture)} s)");
            if (sim.Host is { } host) output.WriteLine($"Host tree:        {host.Root} (sys/class/hwmon, sys/class/net, proc/mdstat)");
            sim.StepApplied += step =>
            {
                var set = string.Join(", ", step.Set.Select(kv => $"{kv.Key}={kv.Value}"));
                lock (output) output.WriteLine($"[{sim.Scenario!.Name} t={step.At.ToString("0.#", CultureInfo.InvariantCulture)}s] {step.Say ?? ""}{(set.Length > 0 ? $"  ({set})" : "")}");
            };
            if (sim.Scenario is { } s) output.WriteLine($"Scenario:         {s.Name}: {s.Description}{(options.Loop || s.Loop ? " (looping)" : "")}");
            output.WriteLine(interactive ? "Type `help` for commands." : "Press Ctrl+C to stop.");
            output.Flush();
            sim.StartScenario();
            if (interactive) await InteractAsync(sim, input, output, ct).ConfigureAwait(false);
            else
            {
                try
                {
                    // Without a scenario, or after a non-looping one, keep serving until stopped.
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) { }
            }
        }
        return 0;
    }

    private static async Task InteractAsync(Simulation sim, TextReader input, TextWriter output, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            string? line;
            try { line = await input.ReadLineAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            if (line is null) break;
            var words = line.Trim().Replace('=', ' ').Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 0) continue;
            lock (output)
            {
                switch (words[0])
                {
                    case "quit" or "exit": return;
                    case "help" or "?":
                        output.WriteLine("<target> <value>   e.g. `psu2 fault`, `drive1 rebuilding`, `drive1.rebuild 40`, `bmc unresponsive`, `panel silent`");
                        output.WriteLine("state | targets | reset | quit");
                        break;
                    case "state": output.WriteLine(sim.StateJson().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })); break;
                    case "targets": foreach (var t in Appliance.Targets) output.WriteLine($"  {t.Name,-16} {t.Describe()}"); break;
                    case "reset": sim.Appliance.Reset(); output.WriteLine("ok: healthy again"); break;
                    default:
                        if (words.Length != 2) { output.WriteLine($"? `{line}` — type `help`"); break; }
                        var errors = sim.Appliance.Set(words[0], words[1]);
                        output.WriteLine(errors.Count == 0 ? $"ok: {words[0]} = {words[1]}" : "error: " + string.Join("; ", errors));
                        break;
                }
                output.Flush();
            }
        }
    }
}
