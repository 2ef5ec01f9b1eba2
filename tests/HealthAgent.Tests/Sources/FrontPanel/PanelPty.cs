using System.Text;
using HealthAgent.Simulator;
using HealthAgent.Sources.FrontPanel;

namespace HealthAgent.Tests.Sources.FrontPanel;

/// <summary>A real pseudo-terminal pair playing the panel controller: the test writes on the master, the source opens the slave through a symlink.</summary>
public sealed class PanelPty : IDisposable
{
    private readonly StringBuilder _received = new();

    public PanelPty(string link)
    {
        Link = link;
        (Master, Slave, SlavePath) = Pty.OpenPty();
        Pty.ConfigureRaw(Slave, 115200);
        Pty.SetNonBlocking(Master);
        if (File.Exists(link) || Directory.Exists(link) || new FileInfo(link).LinkTarget is not null) File.Delete(link);
        File.CreateSymbolicLink(link, SlavePath);
    }

    public string Link { get; }
    public int Master { get; private set; }
    public int Slave { get; private set; }
    public string SlavePath { get; }

    public void Write(string text) => Pty.Write(Master, Encoding.ASCII.GetBytes(text));
    public void Write(byte[] bytes) => Pty.Write(Master, bytes);
    public void Led(string family, string index, string state) => Write(FrontPanelParser.Frame($"LED {family} {index} {state}"));
    public void Heartbeat(long seq) => Write(FrontPanelParser.FormatHeartbeat(seq));

    /// <summary>Waits until the source sent SYNC (it has opened the line and listens).</summary>
    public bool WaitForSync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        var buf = new byte[256];
        while (DateTime.UtcNow < until)
        {
            if (Pty.Poll(Master, -1, 50) != 0)
            {
                var n = Pty.Read(Master, buf);
                if (n > 0) _received.Append(Encoding.ASCII.GetString(buf, 0, n));
            }
            if (_received.ToString().Contains(FrontPanelParser.SyncLine, StringComparison.Ordinal)) { _received.Clear(); return true; }
        }
        return false;
    }

    /// <summary>The panel goes away: both ends closed (the source's read fails with EIO / hang-up) and the symlink removed.</summary>
    public void Vanish()
    {
        Pty.Close(Master);
        Pty.Close(Slave);
        Master = Slave = -1;
        File.Delete(Link);
    }

    /// <summary>The controller end goes away: the master is closed (the kernel hangs up the slave), the slave stays open here, so /dev/pts/N and the symlink stay.</summary>
    public void CloseMaster()
    {
        Pty.Close(Master);
        Master = -1;
    }

    /// <summary>How many descriptors of this process name the slave (/proc/self/fd links), this pair's own included.</summary>
    public int DescriptorsOnSlave() =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(fd => { try { return new FileInfo(fd).LinkTarget == SlavePath; } catch (IOException) { return false; } });

    /// <summary>The panel hangs up but its path stays: both ends closed, the symlink left dangling (/dev/pts/N is gone).</summary>
    public void HangUp()
    {
        Pty.Close(Master);
        Pty.Close(Slave);
        Master = Slave = -1;
    }

    public void Dispose()
    {
        Pty.Close(Master);
        Pty.Close(Slave);
        try { File.Delete(Link); } catch (IOException) { }
    }

    public static bool Eventually(Func<bool> condition, double seconds = 5)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (condition()) return true;
            Thread.Sleep(20);
        }
        return condition();
    }
}
