using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>A CA, a server certificate for 127.0.0.1/localhost signed by it, and an unrelated CA — made by openssl.</summary>
public sealed class TestCertificates : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "mqtt-tls-" + Guid.NewGuid().ToString("N")[..8]);
    public string CaCert => Path.Combine(Directory, "ca.crt");
    public string ServerCert => Path.Combine(Directory, "server.crt");
    public string ServerKey => Path.Combine(Directory, "server.key");
    public string WrongCaCert => Path.Combine(Directory, "wrong-ca.crt");
    public string ClientCert => Path.Combine(Directory, "client.crt");
    public string ClientKey => Path.Combine(Directory, "client.key");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        await File.WriteAllTextAsync(Path.Combine(Directory, "san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        await Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=HealthAgent Test CA");
        await Run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "wrong-ca.key", "-out", "wrong-ca.crt", "-days", "2", "-subj", "/CN=Someone Else CA");
        await Run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
        await Run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.cnf");
        await Run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=camera-17");
        await Run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt", "-days", "2");
    }

    private async Task Run(params string[] args)
    {
        var r = await ProcessRunner.RunAsync("sh", ["-c", "cd \"$0\" && exec openssl \"$@\"", Directory, .. args], TimeSpan.FromSeconds(30));
        if (r.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {r.StandardError}");
    }

    public Task DisposeAsync()
    {
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
        return Task.CompletedTask;
    }
}
