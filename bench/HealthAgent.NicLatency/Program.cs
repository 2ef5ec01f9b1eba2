using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using HealthAgent.Model;
using HealthAgent.Rules;
using HealthAgent.Sources;
using HealthAgent.Sources.Nic;
using Microsoft.Extensions.Logging.Abstractions;

// NIC figures for docs/performance-nic.md (run as root: it creates veth pairs with `ip link`):
//   latency [toggles]   netlink link-down → derived state over N toggles of a veth peer (default 100)
//   poll [polls]        CPU time and bytes allocated per poll of 8 NICs: a fixture tree, and 8 real veths (sysfs + ioctl)
var mode = args.Length > 0 ? args[0] : "all";
var rules = RuleLoader.LoadEmbedded().Rules!;
var evaluator = new Evaluator(rules);
var ctx = new SourceContext(NullLoggerFactory.Instance, rules, TimeProvider.System);
Console.WriteLine($"# {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
if (mode is "all" or "latency") await Latency(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100);
if (mode is "all" or "poll") PollCost(args.Length > 1 && mode == "poll" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000);
return 0;

async Task Latency(int toggles)
{
    var id = Random.Shared.Next(0x100000, 0xffffff).ToString("x6");
    string a = $"ha{id}a", b = $"ha{id}b";
    Ip($"link add {a} type veth peer name {b}");
    try
    {
        Ip($"link set {a} up"); Ip($"link set {b} up");
        var o = new NicOptions();
        o.Exclude.Add("*"); o.Include.Add(a);
        o.Interfaces[a] = new NicInterfaceOptions { ExpectedSpeedMbps = 10000 };
        using var source = new NicSource(o, ctx);
        while (Poll(source).Observations[0]["carrier"] is not true) Thread.Sleep(5);
        Poll(source);
        var channel = Channel.CreateUnbounded<SourceResult>(new UnboundedChannelOptions { SingleReader = true });
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(channel.Writer, cts.Token);
        if (!await source.Listening) throw new InvalidOperationException("netlink not listening");
        var down = new List<double>(); var up = new List<double>();
        for (var i = -5; i < toggles; i++) // 5 warm-up toggles are not counted
        {
            var d = await Toggle(channel.Reader, b, "nic:" + a, false, evaluator);
            var u = await Toggle(channel.Reader, b, "nic:" + a, true, evaluator);
            if (i >= 0) { down.Add(d); up.Add(u); }
        }
        cts.Cancel(); await run;
        Console.WriteLine($"latency: netlink event → observation → Evaluator (derived LED + rule), {toggles} toggles of the veth peer (SIOCSIFFLAGS in-process)");
        Console.WriteLine($"  link-down → 'link off; activity off' (nic.not-connected): {Stats(down)}");
        Console.WriteLine($"  link-up   → 'link solid green; …' (nic.max-speed-*):    {Stats(up)}");
    }
    finally { Ip($"link del {a}"); }
}

static async Task<double> Toggle(ChannelReader<SourceResult> reader, string peer, string id, bool upState, Evaluator evaluator)
{
    while (reader.TryRead(out _)) { }
    var t0 = Stopwatch.GetTimestamp();
    SetUp(peer, upState);
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
    while (true)
    {
        var r = await reader.ReadAsync(timeout.Token);
        if (r.Observations.FirstOrDefault(x => x.Component.Id == id && x["carrier"] is bool c && c == upState) is not { } obs) continue;
        var eval = evaluator.Evaluate(obs);
        var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var expected = upState ? "solid green" : "off";
        if (eval.Led?["link"]?.ToString() != expected) throw new InvalidOperationException($"derived {eval.Led} ({eval.UnknownReason}), expected link {expected}");
        return ms;
    }
}

void PollCost(int polls)
{
    var root = Path.Combine(Path.GetTempPath(), "ha-nic-bench-" + Guid.NewGuid().ToString("N")[..8]);
    try
    {
        for (var i = 0; i < 8; i++)
        {
            var d = Path.Combine(root, "sys/class/net", $"eno{i + 1}");
            Directory.CreateDirectory(Path.Combine(d, "statistics"));
            Directory.CreateDirectory(Path.Combine(d, "device"));
            foreach (var (f, v) in new[] { ("operstate", "up"), ("carrier", "1"), ("speed", "10000"), ("duplex", "full"), ("carrier_changes", "2"),
                         ("carrier_up_count", "1"), ("carrier_down_count", "1"), ("statistics/rx_bytes", "123456789"), ("statistics/tx_bytes", "987654321"),
                         (NicSource.MaxSpeedHookFile, "25000") })
                File.WriteAllText(Path.Combine(d, f), v + "\n");
        }
        using (var fixture = new NicSource(new NicOptions { HostRoot = root }, ctx))
            Measure("8 NICs, fixture tree (sysfs-format files on tmpfs/disk)", fixture, polls);
    }
    finally { Directory.Delete(root, true); }

    var pairs = new List<string>();
    try
    {
        var id = Random.Shared.Next(0x10000, 0xfffff).ToString("x5");
        var o = new NicOptions();
        o.Exclude.Add("*");
        for (var i = 0; i < 8; i++)
        {
            var a = $"hb{id}{i}a";
            Ip($"link add {a} type veth peer name hb{id}{i}b");
            pairs.Add(a);
            Ip($"link set {a} up"); Ip($"link set hb{id}{i}b up");
            o.Include.Add(a);
        }
        using var real = new NicSource(o, ctx);
        Measure("8 real veth interfaces (sysfs; ETHTOOL_GLINKSETTINGS on carrier change or every 30 polls)", real, polls);
    }
    finally { foreach (var a in pairs) Ip($"link del {a}"); }
}

void Measure(string what, NicSource source, int polls)
{
    for (var i = 0; i < 200; i++) Evaluate(Poll(source)); // warm-up (JIT, tiering)
    Thread.Sleep(200);
    for (var i = 0; i < 200; i++) Evaluate(Poll(source));
    var observations = Poll(source).Observations.Count;
    var proc = Process.GetCurrentProcess();
    GC.Collect();
    var cpu0 = proc.TotalProcessorTime; var alloc0 = GC.GetTotalAllocatedBytes(precise: true); var wall = Stopwatch.StartNew();
    for (var i = 0; i < polls; i++) Poll(source);
    wall.Stop(); proc.Refresh();
    var cpu1 = proc.TotalProcessorTime; var alloc1 = GC.GetTotalAllocatedBytes(precise: true);
    var cpu2 = cpu1; var alloc2 = alloc1;
    for (var i = 0; i < polls; i++) Evaluate(Poll(source));
    proc.Refresh();
    var cpu3 = proc.TotalProcessorTime; var alloc3 = GC.GetTotalAllocatedBytes(precise: true);
    Console.WriteLine($"poll cost: {what}: {observations} observations, {polls} polls");
    Console.WriteLine($"  poll only:       {(cpu1 - cpu0).TotalMicroseconds / polls:0.0} µs CPU, {wall.Elapsed.TotalMicroseconds / polls:0.0} µs wall, {(alloc1 - alloc0) / (double)polls / 1024:0.00} KiB allocated per poll");
    Console.WriteLine($"  poll + evaluate: {(cpu3 - cpu2).TotalMicroseconds / polls:0.0} µs CPU, {(alloc3 - alloc2) / (double)polls / 1024:0.00} KiB allocated per poll");

    void Evaluate(SourceResult r) { foreach (var o in r.Observations) evaluator.Evaluate(o); }
}

static SourceResult Poll(NicSource source) => source.PollAsync(CancellationToken.None).GetAwaiter().GetResult();

static string Stats(List<double> ms)
{
    ms.Sort();
    double P(double p) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(p / 100 * ms.Count) - 1)];
    return string.Create(CultureInfo.InvariantCulture, $"p50 {P(50):0.000} ms, p90 {P(90):0.000} ms, p99 {P(99):0.000} ms, max {ms[^1]:0.000} ms, min {ms[0]:0.000} ms (n={ms.Count})");
}

static void Ip(string args)
{
    using var p = Process.Start(new ProcessStartInfo("ip", args) { RedirectStandardError = true })!;
    var err = p.StandardError.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"ip {args}: {err}");
}

// SIOCGIFFLAGS 0x8913 / SIOCSIFFLAGS 0x8914 on struct ifreq (name[16], short flags at 16): flip IFF_UP in-process
static void SetUp(string ifname, bool up)
{
    using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    var ifr = new byte[40];
    Encoding.ASCII.GetBytes(ifname, ifr);
    if (Native.Ioctl((int)s.Handle, 0x8913, ifr) < 0) throw new InvalidOperationException("SIOCGIFFLAGS");
    var flags = BitConverter.ToInt16(ifr, 16);
    BitConverter.TryWriteBytes(ifr.AsSpan(16), (short)(up ? flags | 1 : flags & ~1));
    if (Native.Ioctl((int)s.Handle, 0x8914, ifr) < 0) throw new InvalidOperationException("SIOCSIFFLAGS");
}

static class Native
{
    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static extern int Ioctl(int fd, nuint request, byte[] ifr);
}
