using HealthAgent.Model;
using HealthAgent.Sources.Smart;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Sources.Smart;

/// <summary>Replays recorded smartctl output: device (name plus -d type) → fixture file and exit code, or a timeout.</summary>
internal sealed class RecordedSmartctl : ISmartctlRunner
{
    private int _running;
    public Dictionary<string, (string? Fixture, int Exit)> Devices { get; } = new();
    public string ScanFixture { get; set; } = "scan-megaraid-host.json";
    public List<IReadOnlyList<string>> Calls { get; } = [];
    public int MaxRunning { get; private set; }
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(20);

    public async Task<(int ExitCode, string Stdout)> RunAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        lock (Calls) Calls.Add(args);
        if (args.Contains("--scan-open")) return (0, File.ReadAllText(Path.Combine(Case("smartctl"), ScanFixture)));
        var n = Interlocked.Increment(ref _running);
        lock (Calls) MaxRunning = Math.Max(MaxRunning, n);
        try
        {
            await Task.Delay(Delay, ct);
            var key = args[^1] + (args.Contains("-d") ? " -d " + args[args.ToList().IndexOf("-d") + 1] : "");
            if (!Devices.TryGetValue(key, out var d)) throw new InvalidOperationException("no recording for " + key);
            if (d.Fixture is null) throw new TimeoutException($"smartctl {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
            return (d.Exit, File.ReadAllText(Path.Combine(Case("smartctl"), d.Fixture)));
        }
        finally { Interlocked.Decrement(ref _running); }
    }
}

public class SmartSourceTests
{
    private static RecordedSmartctl Host() => new()
    {
        Devices =
        {
            ["/dev/sda -d sat"] = ("samsung-870evo-passed.json", 0),
            ["/dev/nvme0 -d nvme"] = ("samsung-pm983-nvme-critical-warning.json", 8),
            ["/dev/bus/0 -d megaraid,0"] = ("seagate-st4000nm-failing.json", 8),
            ["/dev/bus/0 -d megaraid,1"] = ("megaraid-open-failed.json", 2),
            ["/dev/sdb -d sat+megaraid,2"] = ("wdc-wd40efrx-prefail-now.json", 16),
        },
    };

    private static SmartSource Source(ISmartctlRunner runner, SmartOptions? o = null) => new(o ?? new SmartOptions(), Context, runner);

    [Fact]
    public async Task Poll_ScannedMegaraidHost_EachDriveItsOwnVerdict()
    {
        var runner = Host();
        var r = await Source(runner).PollAsync(default);

        var ok = Eval(r, "smart:sda");
        Assert.Equal("drive.online", ok.Rule!.Id);
        Assert.Equal("solid green", ok.Led!.ToString());
        Assert.Equal("sda (Samsung SSD 870 EVO 1TB S6PTNZ0R812345K)", ok.Component.Name);
        Assert.Equal(31.0, ReadingOf(r, "smart:sda", "temperature").Value);
        Assert.Equal("physical_disk", ok.Component.HwType);

        var failing = Eval(r, "smart:bus-0-megaraid-0");
        Assert.Equal("drive.predicted-failure", failing.Rule!.Id);
        Assert.Equal("drive.smart.failing", failing.Trace.Single().RowId);
        Assert.Equal("blinking green, blinking amber, then off", failing.Led!.ToString());
        Assert.Equal(48.0, ReadingOf(r, "smart:bus-0-megaraid-0", "pendingSectors").Value);

        var prefail = Eval(r, "smart:sdb-sat-megaraid-2");
        Assert.Equal("drive.smart.prefail-now", prefail.Trace.Single().RowId);
        Assert.Equal("drive.predicted-failure", prefail.Rule!.Id);
        Assert.Equal("Reallocated_Sector_Ct(5)", ReadingOf(r, "smart:sdb-sat-megaraid-2", "failedAttributes").Value);

        var nvme = Eval(r, "smart:nvme0");
        Assert.Equal("drive.predicted-failure", nvme.Rule!.Id);
        Assert.Equal(true, ReadingOf(r, "smart:nvme0", "nvmeSpareLow").Value);
        Assert.Equal(8.0, ReadingOf(r, "smart:nvme0", "availableSpare").Value);

        // Open failure behind the controller: unknown with smartctl's message, reported as an error; never "failing".
        var open = Eval(r, "smart:bus-0-megaraid-1");
        Assert.Equal(HwState.Unknown, open.Verdict.State);
        Assert.Contains("INQUIRY failed", open.UnknownReason);
        Assert.Contains(r.Errors, e => e.Device == "smart:bus-0-megaraid-1");
        Assert.Contains(r.Errors, e => e.Device == "smart:sdx" && e.Message.Contains("No such device"));

        Assert.All(runner.Calls.Where(c => !c.Contains("--scan-open")), c => Assert.Contains("--nocheck=standby", c));
        Assert.True(runner.MaxRunning <= 2, $"ran {runner.MaxRunning} smartctl at once");
    }

    [Fact]
    public async Task Poll_NvmeWornOut_PredictedFailureFromPercentageUsed()
    {
        var runner = new RecordedSmartctl { Devices = { ["/dev/nvme1"] = ("intel-p4510-nvme-worn-out.json", 0) } };
        var r = await Source(runner, new SmartOptions { Scan = false, Devices = ["/dev/nvme1"] }).PollAsync(default);
        var e = Eval(r, "smart:nvme1");
        Assert.Equal("drive.smart.worn-out", e.Trace.Single().RowId);
        Assert.Equal(104.0, ReadingOf(r, "smart:nvme1", "percentageUsed").Value);
        Assert.DoesNotContain(runner.Calls, c => c.Contains("--scan-open"));
    }

    [Fact]
    public async Task Poll_DiskAsleep_NotWokenKeepsLastKnownOrUnknownNeverFailing()
    {
        var runner = new RecordedSmartctl { Devices = { ["/dev/sdc"] = ("hgst-hus726t4-standby.json", 2) } };
        var src = Source(runner, new SmartOptions { Scan = false, Devices = ["/dev/sdc"] });
        var asleep = await src.PollAsync(default);
        var e = Eval(asleep, "smart:sdc");
        Assert.Equal(HwState.Unknown, e.Verdict.State);
        Assert.Contains("asleep", e.UnknownReason);
        Assert.Empty(asleep.Errors);

        runner.Devices["/dev/sdc"] = ("samsung-870evo-passed.json", 0);
        Assert.Equal("drive.online", Eval(await src.PollAsync(default), "smart:sdc").Rule!.Id);
        runner.Devices["/dev/sdc"] = ("hgst-hus726t4-standby.json", 2);
        var again = await src.PollAsync(default);
        Assert.Equal("drive.online", Eval(again, "smart:sdc").Rule!.Id); // last known, not woken
        Assert.Equal(true, ReadingOf(again, "smart:sdc", "standby").Value);
        Assert.Equal(31.0, ReadingOf(again, "smart:sdc", "temperature").Value);
    }

    [Fact]
    public async Task Poll_GarbageOutputAndTimeout_UnknownWithReasonOtherDrivesStillRead()
    {
        var runner = new RecordedSmartctl
        {
            Devices =
            {
                ["/dev/sda"] = ("smartctl-6-text-output.txt", 0),
                ["/dev/sdb"] = (null, 0), // hangs: the runner times out
                ["/dev/sdc"] = ("samsung-870evo-passed.json", 0),
            },
        };
        var r = await Source(runner, new SmartOptions { Scan = false, Devices = ["/dev/sda", "/dev/sdb", "/dev/sdc"] }).PollAsync(default);
        Assert.Contains("not JSON", Eval(r, "smart:sda").UnknownReason);
        Assert.Contains("did not finish", Eval(r, "smart:sdb").UnknownReason);
        Assert.Equal("drive.online", Eval(r, "smart:sdc").Rule!.Id);
        Assert.Equal(2, r.Errors.Count);
    }

    [SmartctlFact]
    public async Task Poll_RealSmartctlOnThisMachine_NoCrash()
    {
        var r = await new SmartSource(new SmartOptions(), Context).PollAsync(default);
        Assert.True(r.NotPresent is not null || r.Observations.Count > 0 || r.Errors.Count > 0);
    }

    [Fact]
    public async Task Poll_SmartctlMissing_ErrorNotException()
    {
        var r = await new SmartSource(new SmartOptions { SmartctlPath = "/nonexistent/smartctl" }, Context).PollAsync(default);
        Assert.Contains(r.Errors, e => e.Message.Contains("smartmontools"));
    }

    [Theory]
    [InlineData("/dev/sda", "/dev/sda", null)]
    [InlineData("/dev/bus/0 -d megaraid,4", "/dev/bus/0", "megaraid,4")]
    public void ParseDeviceOption_Forms(string s, string name, string? type) => Assert.Equal(new SmartDevice(name, type), SmartSource.ParseDeviceOption(s));

    [Fact]
    public void Options_Invalid_AllErrorsListed()
    {
        var errors = new List<string>();
        new SmartOptions { MaxConcurrency = 0, NoCheck = "nap", Scan = false, Devices = ["sda"] }.Validate("sources.smart", errors);
        Assert.Equal(3, errors.Count); // maxConcurrency, noCheck, devices
    }
}

public class SmartOptionsTests
{
    [Fact]
    public void Validate_NoTimeoutGiven_PollTimeoutFollowsInterval()
    {
        var errors = new List<string>();
        var o = new SmartOptions { IntervalSeconds = 60 };
        o.Validate("sources.smart", errors);
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromSeconds(48), o.Timeout);
        var d = new SmartOptions();
        d.Validate("sources.smart", errors);
        Assert.Equal(TimeSpan.FromSeconds(240), d.Timeout);
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SmartctlRunnerTests
{
    [Fact]
    public async Task RunAsync_ProcessHangs_KilledAndTimeoutReported()
    {
        using var t = Copy();
        var script = t["smartctl"];
        File.WriteAllText(script, "#!/bin/sh\nsleep 30\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = await new SmartSource(new SmartOptions { SmartctlPath = script, DeviceTimeoutSeconds = 0.5 }, Context).PollAsync(default);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
        Assert.Contains(r.Errors, e => e.Message.Contains("did not finish"));
    }

    [Fact]
    public async Task RunAsync_RecordedExitCodeAndOutput_Returned()
    {
        using var t = Copy();
        var script = t["smartctl"];
        File.WriteAllText(script, "#!/bin/sh\necho '{\"smartctl\":{\"exit_status\":4}}'\nexit 4\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (exit, stdout) = await new SmartctlRunner(script).RunAsync(["--json"], TimeSpan.FromSeconds(10), default);
        Assert.Equal(4, exit);
        Assert.Contains("exit_status", stdout);
    }
}
