using System.Runtime.InteropServices;
using BenchmarkDotNet.Running;
using HealthAgent.Benchmarks;

// `dotnet run -c Release -- quick [polls] [hwmon refreshPolls] [scenario substring]`: a CPU-time/allocation harness without BenchmarkDotNet
// (process CPU time from clock_gettime(CLOCK_PROCESS_CPUTIME_ID) and GC.GetTotalAllocatedBytes around each poll only);
// `-- drain PORT [ROWS] [PAYLOAD_BYTES]`: outbox drain to a real broker (OutboxDrain.cs, bench/mqtt-bench.sh);
// otherwise BenchmarkDotNet (e.g. `-- --filter '*' --job short`).
if (args.Length > 0 && args[0] == "drain") return await OutboxDrain.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "quick")
{
    var polls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
    var b = new LinuxPollBenchmarks { RefreshPolls = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 360 };
    b.Setup();
    try
    {
        var step = 0;
        var scenarios = new (string Name, Action? Prepare, Func<Task<int>> Run)[]
        {
            ("hwmon, steady", null, b.Hwmon),
            ("hwmon, all 200 values changed", () => b.Fixture.ChangeValues(++step), b.Hwmon),
            ("mdraid, steady", null, b.MdRaid),
            ("full poll, steady", null, b.FullPoll),
            ("full poll, values changed", () => b.Fixture.ChangeValues(++step), b.FullPoll),
            ("full poll + evaluate, steady", null, b.FullPollAndEvaluate),
        };
        Console.WriteLine($"{polls} polls each; refreshPolls {b.RefreshPolls}; {LinuxFixture.Sensors} sensors, {LinuxFixture.MdMembers} md members");
        var only = args.Length > 3 ? args[3] : "";
        foreach (var (name, prepare, run) in scenarios.Where(x => x.Name.Contains(only, StringComparison.Ordinal)))
        {
            for (var i = 0; i < 200; i++) { prepare?.Invoke(); await run(); } // warm-up (tiered JIT)
            GC.Collect();
            double cpu = 0, wall = 0;
            long alloc = 0;
            for (var i = 0; i < polls; i++)
            {
                prepare?.Invoke();
                var a0 = GC.GetTotalAllocatedBytes(precise: true);
                var c0 = Cpu.ProcessSeconds();
                var w0 = System.Diagnostics.Stopwatch.GetTimestamp();
                await run();
                wall += System.Diagnostics.Stopwatch.GetElapsedTime(w0).TotalSeconds;
                cpu += Cpu.ProcessSeconds() - c0;
                alloc += GC.GetTotalAllocatedBytes(precise: true) - a0;
            }
            Console.WriteLine($"{name,-32} CPU {cpu / polls * 1e6,7:0} µs/poll   wall {wall / polls * 1e6,7:0} µs/poll   allocated {alloc / polls / 1024.0,7:0.0} KiB/poll");
        }
    }
    finally { b.Cleanup(); }
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(LinuxPollBenchmarks).Assembly).Run(args);
return 0;

/// <summary>Process CPU time (all threads: the poll runs on a worker) with nanosecond resolution.</summary>
internal static partial class Cpu
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec ts);

    public static double ProcessSeconds()
    {
        _ = ClockGetTime(2 /* CLOCK_PROCESS_CPUTIME_ID */, out var ts);
        return ts.Sec + ts.Nsec / 1e9;
    }
}
