using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HealthAgent.TestSupport;

/// <summary>Options for a test instance of Eclipse Mosquitto (Debian `mosquitto`, 2.0.11).</summary>
public sealed class MosquittoBrokerOptions
{
    /// <summary>`allow_anonymous true` unless false (then give a password file).</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>Users written to a password file with `mosquitto_passwd -b`.</summary>
    public IReadOnlyDictionary<string, string>? Users { get; set; }

    /// <summary>Content of an `acl_file` (e.g. "user alice\ntopic write ok/#\n").</summary>
    public string? AclFileContent { get; set; }

    /// <summary>TLS listener: CA, server certificate and key files (PEM). All three or none.</summary>
    public string? TlsCaFile { get; set; }
    public string? TlsCertFile { get; set; }
    public string? TlsKeyFile { get; set; }

    /// <summary>Persistence in the broker's temp directory (kept across <see cref="MosquittoBroker.RestartAsync"/>).</summary>
    public bool Persistence { get; set; }

    /// <summary>Extra configuration lines appended after the listener (e.g. `max_inflight_messages 2`).</summary>
    public IReadOnlyList<string>? ExtraConfigLines { get; set; }

    /// <summary>`log_type` value; "all" (default) includes per-packet debug lines that <see cref="MosquittoClients.StartSubAsync"/> waits for.</summary>
    public string LogType { get; set; } = "all";

    /// <summary>How long to wait for the port to accept connections.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A real mosquitto process on 127.0.0.1 and a free port, with a generated config in a temp directory.
/// Stderr (the broker log) is kept in <see cref="Log"/> for assertions and failure messages.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly MosquittoBrokerOptions _options;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private MosquittoBroker(MosquittoBrokerOptions options, string directory, int port)
    {
        _options = options;
        Directory = directory;
        Port = port;
    }

    public string Host => "127.0.0.1";
    public int Port { get; }

    /// <summary>The temp directory holding mosquitto.conf, password/acl files and persistence.</summary>
    public string Directory { get; }

    public string ConfigFile => Path.Combine(Directory, "mosquitto.conf");

    /// <summary>The broker's stderr so far.</summary>
    public string Log { get { lock (_log) { return _log.ToString(); } } }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// SIGSTOP: the broker freezes with every TCP connection open — a dead broker (or a dead path to it) that a client
    /// can only notice by its keep-alive. <see cref="Resume"/> (SIGCONT) lets it go on.
    /// </summary>
    public void Pause() => ProcessRunner.SendSignal(_process?.Id ?? throw new InvalidOperationException("not started"), 19);

    public void Resume() => ProcessRunner.SendSignal(_process?.Id ?? throw new InvalidOperationException("not started"), 18);

    public static async Task<MosquittoBroker> StartAsync(MosquittoBrokerOptions? options = null)
    {
        options ??= new MosquittoBrokerOptions();
        var dir = Path.Combine(Path.GetTempPath(), "mosquitto-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        var broker = new MosquittoBroker(options, dir, GetFreePort());
        await broker.WriteConfigAsync().ConfigureAwait(false);
        await broker.LaunchAsync().ConfigureAwait(false);
        return broker;
    }

    /// <summary>A TCP port that was free a moment ago on 127.0.0.1.</summary>
    public static int GetFreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task WriteConfigAsync()
    {
        var o = _options;
        var conf = new StringBuilder();
        conf.AppendLine("user root"); // root would otherwise drop to `mosquitto` and lose persistence files
        conf.AppendLine("log_dest stderr");
        conf.AppendLine($"log_type {o.LogType}");
        conf.AppendLine("per_listener_settings false");
        if (o.Persistence)
        {
            conf.AppendLine("persistence true");
            conf.AppendLine($"persistence_location {Directory}/");
            conf.AppendLine("persistence_file mosquitto.db");
        }
        conf.AppendLine($"listener {Port} 127.0.0.1");
        if (o.TlsCertFile is not null)
        {
            if (o.TlsCaFile is not null) conf.AppendLine($"cafile {o.TlsCaFile}");
            conf.AppendLine($"certfile {o.TlsCertFile}");
            conf.AppendLine($"keyfile {o.TlsKeyFile}");
        }
        conf.AppendLine($"allow_anonymous {(o.AllowAnonymous ? "true" : "false")}");
        if (o.Users is { Count: > 0 })
        {
            var pw = Path.Combine(Directory, "passwd");
            await File.WriteAllTextAsync(pw, "").ConfigureAwait(false);
            foreach (var (user, pass) in o.Users)
            {
                var r = await ProcessRunner.RunAsync("mosquitto_passwd", ["-b", pw, user, pass], TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                if (r.ExitCode != 0) throw new InvalidOperationException("mosquitto_passwd failed: " + r.StandardError);
            }
            conf.AppendLine($"password_file {pw}");
        }
        if (o.AclFileContent is not null)
        {
            var acl = Path.Combine(Directory, "acl");
            await File.WriteAllTextAsync(acl, o.AclFileContent).ConfigureAwait(false);
            conf.AppendLine($"acl_file {acl}");
        }
        foreach (var line in o.ExtraConfigLines ?? [])
            conf.AppendLine(line);
        await File.WriteAllTextAsync(ConfigFile, conf.ToString()).ConfigureAwait(false);
    }

    private async Task LaunchAsync()
    {
        var psi = new ProcessStartInfo("mosquitto", ["-c", ConfigFile])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) { _log.AppendLine(e.Data); } };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) { _log.AppendLine(e.Data); } };
        if (!p.Start()) throw new InvalidOperationException("mosquitto did not start");
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        _process = p;
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (true)
        {
            if (p.HasExited)
                throw new InvalidOperationException($"mosquitto exited with {p.ExitCode}:\n{Log}");
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops the broker with SIGTERM (it saves persistence) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        var p = _process;
        if (p is null || p.HasExited) return;
        ProcessRunner.SendSigterm(p.Id);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { p.Kill(true); await p.WaitForExitAsync().ConfigureAwait(false); }
    }

    /// <summary>Stops and starts again on the same port, config and persistence.</summary>
    public async Task RestartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (true)
        {
            try { await LaunchAsync().ConfigureAwait(false); return; }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100).ConfigureAwait(false); // port may linger briefly
            }
        }
    }

    /// <summary>SIGKILL: no persistence save, no goodbye to clients.</summary>
    public void Kill()
    {
        var p = _process;
        if (p is { HasExited: false })
        {
            p.Kill(true);
            p.WaitForExit(5000);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync().ConfigureAwait(false); } catch (InvalidOperationException) { }
        _process?.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
