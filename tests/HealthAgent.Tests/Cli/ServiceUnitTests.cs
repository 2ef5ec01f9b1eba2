using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Cli;

/// <summary>A fact that runs only as root (mount namespaces); otherwise reported as skipped, with the reason.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess) Skip = "needs root: it mounts inside a private mount namespace (unshare -m)";
        else if (!File.Exists("/usr/bin/unshare")) Skip = "needs /usr/bin/unshare (util-linux)";
    }
}

/// <summary>A fact that needs systemd-analyze (deploy/test.sh installs the Debian package systemd); otherwise skipped.</summary>
public sealed class SystemdAnalyzeFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/systemd-analyze";

    public SystemdAnalyzeFactAttribute()
    {
        if (!File.Exists(Path)) Skip = "needs " + Path + " (Debian package systemd)";
    }
}

/// <summary>
/// deploy/healthagent.service as systemd would run it, without systemd: the ExecStart line and Environment= parsed
/// from the unit, run in a private mount namespace where /etc is read-only (ProtectSystem=strict), the binary sits
/// at /opt/healthagent, the config at /etc/healthagent (the repository's agent.json as deploy/install.sh installs it)
/// and /var/lib/healthagent is the only writable place (StateDirectory=). The agent must come up (online on MQTT,
/// state written), stay up, take the ExecReload signal and stop cleanly.
/// </summary>
[Trait(AgentCommand.Category, AgentCommand.Process)]
public sealed partial class ServiceUnitTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("healthagent-unit-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Key=value lines of the [Service] section (repeated keys in order), comments dropped.</summary>
    internal static List<(string Key, string Value)> ServiceLines(string unit)
    {
        var lines = new List<(string, string)>();
        var inService = false;
        foreach (var raw in unit.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('[')) { inService = line == "[Service]"; continue; }
            if (!inService || line.Length == 0 || line[0] is '#' or ';') continue;
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            lines.Add((line[..eq], line[(eq + 1)..]));
        }
        return lines;
    }

    /// <summary>systemd.exec Environment=: space-separated assignments, double quotes group (no escapes used in our unit).</summary>
    internal static IEnumerable<(string Name, string Value)> Assignments(string value) =>
        AssignmentRegex().Matches(value).Select(m => m.Groups[1].Value.Trim('"')).Select(a => (a[..a.IndexOf('=', StringComparison.Ordinal)], a[(a.IndexOf('=', StringComparison.Ordinal) + 1)..]));

    [GeneratedRegex("""((?:"[^"]*"|[^\s"])+)""")]
    private static partial Regex AssignmentRegex();

    [Fact]
    public void Unit_SandboxAndPathsAgree()
    {
        var unit = File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "deploy", "healthagent.service"));
        var s = ServiceLines(unit).ToLookup(l => l.Key, l => l.Value);
        Assert.Equal("/opt/healthagent/healthagent run --config /etc/healthagent/agent.json", Assert.Single(s["ExecStart"]));
        Assert.Equal("/bin/kill -HUP $MAINPID", Assert.Single(s["ExecReload"]));
        Assert.Equal("healthagent", Assert.Single(s["StateDirectory"]));             // → /var/lib/healthagent, writable under strict
        Assert.Equal("/var/lib/healthagent", Assert.Single(s["WorkingDirectory"]));
        Assert.Equal("strict", Assert.Single(s["ProtectSystem"]));
        // the state directory the agent uses by default is the one the unit makes writable
        Assert.Equal(HealthAgent.Config.AgentOptions.DefaultStateDirectory, "/var/lib/" + s["StateDirectory"].Single());
        Assert.Contains("\"stateDirectory\": \"/var/lib/healthagent\"", File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "agent.json")), StringComparison.Ordinal);
        // Documentation= names what deploy/install.sh installs
        Assert.Contains("Documentation=file:///opt/healthagent/README.md", unit, StringComparison.Ordinal);
        Assert.Contains("install -m 0644 README.md \"$stage/README.md\"", File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "deploy", "install.sh")), StringComparison.Ordinal);
    }

    [RootFact]
    public async Task ExecStart_ReadOnlyEtcInMountNamespace_StartsStaysUpReloadsAndStops()
    {
        var unit = ServiceLines(File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "deploy", "healthagent.service")));
        var execStart = unit.Single(l => l.Key == "ExecStart").Value;
        var execReload = unit.Single(l => l.Key == "ExecReload").Value;
        var env = unit.Where(l => l.Key == "Environment").SelectMany(l => Assignments(l.Value)).ToList();
        Assert.Contains(env, e => e.Name == "MALLOC_ARENA_MAX");
        var sandbox = Sandbox(unit);

        // /etc/healthagent as deploy/install.sh writes it: the repository's agent.json (+ rulesDirectory) and rules/
        var etc = Path.Combine(_dir, "etc-healthagent");
        CopyTree(Path.Combine(SeedRules.RepoRoot, "rules"), Path.Combine(etc, "rules"));
        var agentJson = File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "agent.json"));
        var installed = Regex.Replace(agentJson, "^(  \"stateDirectory\": .*)$", "$1\n  \"rulesDirectory\": \"/etc/healthagent/rules\",", RegexOptions.Multiline);
        Assert.NotEqual(agentJson, installed);
        File.WriteAllText(Path.Combine(etc, "agent.json"), installed);
        var state = Directory.CreateDirectory(Path.Combine(_dir, "state")).FullName;
        // the binary under test at /opt/healthagent: the published one (HA_TEST_AGENT) or the build's apphost
        var binDir = AgentCommand.Executable is { } exe ? Path.GetDirectoryName(exe)! : AppContext.BaseDirectory;
        Assert.True(File.Exists(Path.Combine(binDir, "healthagent")), "no healthagent executable in " + binDir);
        var stage = Directory.CreateDirectory(Path.Combine(_dir, "opt-healthagent")).FullName;

        await using var broker = await MosquittoBroker.StartAsync();
        // only the test's own broker and agent id differ from the installed service (environment overrides)
        env.Add(("HEALTHAGENT_AGENTID", "unit-test"));
        env.Add(("HEALTHAGENT_PUBLISHERS__MQTT__PORT", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var createdMountPoint = !Directory.Exists("/etc/healthagent");
        if (createdMountPoint) Directory.CreateDirectory("/etc/healthagent"); // a mount point only; removed below
        var script = $"""
            set -eu
            mount --bind /etc /etc && mount -o remount,bind,ro /etc
            mount --bind '{etc}' /etc/healthagent && mount -o remount,bind,ro /etc/healthagent
            mount --bind '{binDir}' '{stage}'   # kept reachable when the binary under test is /opt/healthagent itself
            mount -t tmpfs -o size=8m,mode=0755 tmpfs /opt && mkdir /opt/healthagent && mount --bind '{stage}' /opt/healthagent
            mount -t tmpfs -o size=8m,mode=0755 tmpfs /var/lib && mkdir /var/lib/healthagent && mount --bind '{state}' /var/lib/healthagent
            if touch /etc/healthagent-rw-probe 2>/dev/null; then echo '/etc is writable'; exit 99; fi
            cd /var/lib/healthagent
            umask {unit.Single(l => l.Key == "UMask").Value}
            exec {sandbox} env {string.Join(' ', env.Select(e => $"'{e.Name}={e.Value}'"))} {execStart}
            """;
        var psi = new ProcessStartInfo("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var output = new StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        string Out() { lock (output) return output.ToString(); }
        try
        {
            var online = await MosquittoClients.StartSubAsync(broker, ["-t", "healthagent/v1/unit-test/status", "-C", "1"], Wait);
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var first = await Task.WhenAny(online, p.WaitForExitAsync());
            Assert.True(first == online && !p.HasExited, "the agent did not come online; output:\n" + Out());
            Assert.Contains("online", (await online).StandardOutput, StringComparison.Ordinal);

            // stays up (Restart=on-failure would hide a crash loop) and writes its state where the unit allows
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.False(p.HasExited, "the agent exited; output:\n" + Out());
            Assert.True(File.Exists(Path.Combine(state, "state.db")), "no state.db in /var/lib/healthagent; output:\n" + Out());
            Assert.Contains("state in /var/lib/healthagent", Out(), StringComparison.Ordinal);
            // it runs with the unit's capabilities only (smartctl, its child, gets no more)
            var status = File.ReadAllText($"/proc/{p.Id}/status");
            Assert.Matches(@"NoNewPrivs:\s+1", status);
            Assert.Equal(CapabilityMask(unit), Convert.ToUInt64(Regex.Match(status, @"CapBnd:\s+([0-9a-f]+)").Groups[1].Value, 16));

            // ExecReload, as systemctl reload runs it
            var reload = execReload.Replace("$MAINPID", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal).Split(' ');
            var r = await ProcessRunner.RunAsync(reload[0], reload[1..], TimeSpan.FromSeconds(10));
            Assert.Equal(0, r.ExitCode);
            var sw = Stopwatch.StartNew();
            while (!Out().Contains("reload (SIGHUP) of /etc/healthagent/agent.json", StringComparison.Ordinal) && sw.Elapsed < Wait && !p.HasExited) await Task.Delay(50);
            Assert.Contains("reload (SIGHUP) of /etc/healthagent/agent.json: nothing to apply", Out(), StringComparison.Ordinal);
            Assert.False(p.HasExited);

            ProcessRunner.SendSigterm(p.Id); // KillSignal=SIGTERM
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await p.WaitForExitAsync(cts.Token);
            Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}; output:\n{Out()}");
            Assert.DoesNotContain("Read-only file system", Out(), StringComparison.Ordinal);
        }
        finally
        {
            if (!p.HasExited) { p.Kill(); p.WaitForExit(5000); }
            if (createdMountPoint) Directory.Delete("/etc/healthagent");
        }
    }

    /// <summary>
    /// What systemd applies from NoNewPrivileges= and CapabilityBoundingSet= (systemd.exec), done with util-linux
    /// setpriv: for a root process the bounding set is also what it keeps after execve.
    /// </summary>
    private static string Sandbox(List<(string Key, string Value)> unit)
    {
        Assert.Equal("yes", unit.Single(l => l.Key == "NoNewPrivileges").Value);
        var caps = unit.Single(l => l.Key == "CapabilityBoundingSet").Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(c => "+" + c["CAP_".Length..].ToLowerInvariant());
        return $"/usr/bin/setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,{string.Join(',', caps)}";
    }

    /// <summary>The CapBnd mask (/proc/PID/status) of the unit's CapabilityBoundingSet= (bit numbers: linux/capability.h).</summary>
    private static ulong CapabilityMask(List<(string Key, string Value)> unit)
    {
        var bits = new Dictionary<string, int> { ["CAP_DAC_OVERRIDE"] = 1, ["CAP_DAC_READ_SEARCH"] = 2, ["CAP_SYS_RAWIO"] = 17, ["CAP_SYS_ADMIN"] = 21 };
        return unit.Single(l => l.Key == "CapabilityBoundingSet").Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Aggregate(0UL, (m, c) => m | 1UL << bits[c]);
    }

    /// <summary>
    /// systemd itself reads the unit: `systemd-analyze verify` (every directive known and well-formed; ExecStart pointed
    /// at the binary under test, since verify needs it to exist) and `systemd-analyze security --offline` (the sandbox's
    /// exposure score; 8.3 "EXPOSED" before CapabilityBoundingSet= and the Protect*/Restrict* lines).
    /// </summary>
    [SystemdAnalyzeFact]
    public async Task Unit_SystemdVerifiesItAndRatesItsExposureOk()
    {
        const string analyze = SystemdAnalyzeFactAttribute.Path;
        var unitText = File.ReadAllText(Path.Combine(SeedRules.RepoRoot, "deploy", "healthagent.service"));
        var exe = AgentCommand.Executable ?? Path.Combine(AppContext.BaseDirectory, "healthagent");
        var unit = Path.Combine(_dir, "healthagent.service");
        File.WriteAllText(unit, unitText.Replace("ExecStart=/opt/healthagent/healthagent", "ExecStart=" + exe, StringComparison.Ordinal));

        var verify = await ProcessRunner.RunAsync(analyze, ["verify", unit], TimeSpan.FromSeconds(60));
        Assert.True(verify.ExitCode == 0 && verify.StandardError.Trim().Length == 0, $"systemd-analyze verify: exit {verify.ExitCode}\n{verify.StandardError}{verify.StandardOutput}");

        var security = await ProcessRunner.RunAsync(analyze, ["security", "--offline=yes", "--no-pager", unit], TimeSpan.FromSeconds(60));
        var score = Regex.Match(security.StandardOutput, @"Overall exposure level for healthagent\.service: ([0-9.]+) (\w+)");
        Assert.True(score.Success, "no exposure level in:\n" + security.StandardOutput + security.StandardError);
        var exposure = double.Parse(score.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(exposure <= 5.0, $"exposure {exposure} {score.Groups[2].Value}:\n{security.StandardOutput}");
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
