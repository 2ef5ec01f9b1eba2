using System.Diagnostics;
using BenchmarkDotNet.Running;
using HealthAgent.Benchmarks;

// `dotnet run -c Release -- quick [polls]`: a Stopwatch/CPU-time/allocation harness (no BenchmarkDotNet) for quick figures;
// otherwise BenchmarkDotNet (e.g. `-- --filter '*' --job short`).
if (args.Length > 0 && args[0] == "quick")
{
    var polls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000;
    var b = new LinuxPollBenchmarks();
    b.Setup();
    try
    {
        foreach (var (name, run) in new (string, Func<Task<int>>)[] { ("Hwmon", b.Hwmon), ("MdRaid", b.MdRaid), ("FullPoll", b.FullPoll), ("FullPollAndEvaluate", b.FullPollAndEvaluate) })
        {
            for (var i = 0; i < 200; i++) await run(); // warm-up (tiered JIT)
            GC.Collect();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < polls; i++) await run();
            sw.Stop();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            var alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
            Console.WriteLine($"{name,-20} wall {sw.Elapsed.TotalMilliseconds / polls * 1000,8:0} µs/poll   CPU {cpu.TotalMilliseconds / polls * 1000,8:0} µs/poll   allocated {alloc / polls / 1024.0,8:0.0} KiB/poll");
        }
    }
    finally { b.Cleanup(); }
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(LinuxPollBenchmarks).Assembly).Run(args);
return 0;
