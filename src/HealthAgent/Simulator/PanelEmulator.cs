using System.Text;
using HealthAgent.Sources.FrontPanel;

namespace HealthAgent.Simulator;

/// <summary>
/// The simulated front-panel controller: a pseudo-terminal (openpty) whose slave is reachable through a stable
/// symlink. It speaks the protocol of Sources/FrontPanel: every LED line on SYNC and on each change, a heartbeat
/// every <see cref="HeartbeatSeconds"/>. The appliance's "panel" target makes it silent (nothing at all) or noisy.
/// </summary>
public sealed class PanelEmulator : IDisposable
{
    private readonly Appliance _appliance;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private Dictionary<string, string> _sent = new(StringComparer.Ordinal);
    private int _master, _slave;
    private long _seq;

    public PanelEmulator(Appliance appliance, string link, double heartbeatSeconds = 1)
    {
        _appliance = appliance;
        Link = Path.GetFullPath(link);
        HeartbeatSeconds = heartbeatSeconds;
        (_master, _slave, SlavePath) = Pty.OpenPty();
        try
        {
            // The slave stays open here too, so the master never sees EIO while no reader is attached; raw so nothing echoes.
            Pty.ConfigureRaw(_slave, 115200);
            Pty.SetNonBlocking(_master);
            Directory.CreateDirectory(Path.GetDirectoryName(Link)!);
            var existing = new FileInfo(Link);
            if (existing.LinkTarget is not null) existing.Delete();
            else if (existing.Exists) throw new IOException($"{Link} exists and is not a symlink; choose another --panel-link");
            File.CreateSymbolicLink(Link, SlavePath);
        }
        catch
        {
            Pty.Close(_master);
            Pty.Close(_slave);
            throw;
        }
        _appliance.Changed += OnChanged;
        _thread = new Thread(Loop) { IsBackground = true, Name = "simulated front panel" };
        _thread.Start();
    }

    public string Link { get; }
    public string SlavePath { get; }
    public double HeartbeatSeconds { get; }

    /// <summary>panel = silent: nothing is sent (no heartbeat, no LED lines); the agent must call the panel silent.</summary>
    private bool Mute => _appliance.Word("panel") == "silent";

    /// <summary>panel = noisy: each heartbeat comes with stray control bytes, a line with a wrong checksum, and is split in two writes.</summary>
    private bool Noise => _appliance.Word("panel") == "noisy";

    /// <summary>Every line written, newest last (bounded), for tests and `state`.</summary>
    public IReadOnlyList<string> Recent { get { lock (_gate) return [.. _recent]; } }
    private readonly Queue<string> _recent = new();

    // Coming back from silence, the panel repeats every LED (as after SYNC).
    private void OnChanged(IReadOnlyList<string> targets) => SendChanges(all: targets.Contains("panel"));

    private void SendChanges(bool all)
    {
        lock (_gate)
        {
            if (_master < 0 || Mute) return;
            var now = _appliance.PanelLeds().ToDictionary(l => l.Family + ":" + l.Index, l => l, StringComparer.Ordinal);
            foreach (var (key, led) in now)
                if (all || !_sent.TryGetValue(key, out var old) || old != led.State)
                    WriteLine(FrontPanelParser.Frame($"LED {led.Family} {led.Index} {led.State}"));
            _sent = now.ToDictionary(kv => kv.Key, kv => kv.Value.State, StringComparer.Ordinal);
        }
    }

    private void WriteLine(string line)
    {
        try { Pty.Write(_master, Encoding.ASCII.GetBytes(line)); }
        catch (IOException) { } // nobody listening and the buffer full: the line is lost, as on a real wire
        _recent.Enqueue(line.TrimEnd('\n'));
        while (_recent.Count > 200) _recent.Dequeue();
    }

    private void Loop()
    {
        var framer = new LineFramer();
        var buf = new byte[256];
        var nextBeat = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            var wait = (int)Math.Clamp(nextBeat - Environment.TickCount64, 0, 100);
            short ev;
            try { ev = Pty.Poll(_master, -1, wait); }
            catch (IOException) { break; }
            if ((ev & Pty.POLLIN) != 0)
            {
                int n;
                try { n = Pty.Read(_master, buf); }
                catch (IOException) { n = 0; Thread.Sleep(50); }
                if (n > 0)
                    foreach (var line in framer.Feed(buf.AsSpan(0, n)))
                        if (line + "\n" == FrontPanelParser.SyncLine) SendChanges(all: true);
            }
            if (Environment.TickCount64 >= nextBeat)
            {
                nextBeat = Environment.TickCount64 + (long)(HeartbeatSeconds * 1000);
                if (!Mute) lock (_gate) Beat();
            }
        }
    }

    private void Beat()
    {
        var hb = FrontPanelParser.FormatHeartbeat(++_seq);
        if (!Noise) { WriteLine(hb); return; }
        try
        {
            Pty.Write(_master, [0x00, 0xFF, 0x1B, 0x07, 0x9B]);
            var bad = FrontPanelParser.Frame("LED psu 1 blinking amber");
            Pty.Write(_master, Encoding.ASCII.GetBytes(bad[..^3] + (bad[^3] == '0' ? '1' : '0') + bad[^2..]));
            Pty.Write(_master, Encoding.ASCII.GetBytes(hb[..3]));
            Thread.Sleep(20);
            Pty.Write(_master, Encoding.ASCII.GetBytes(hb[3..]));
        }
        catch (IOException) { }
    }

    public void Dispose()
    {
        _appliance.Changed -= OnChanged;
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(2));
        lock (_gate)
        {
            Pty.Close(_master);
            Pty.Close(_slave);
            _master = _slave = -1;
        }
        try { if (new FileInfo(Link).LinkTarget == SlavePath) File.Delete(Link); } catch (IOException) { }
    }
}
