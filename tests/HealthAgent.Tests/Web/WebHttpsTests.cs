using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HealthAgent.Web;

namespace HealthAgent.Tests.Web;

public sealed class WebHttpsTests
{
    [Fact]
    public async Task Https_WithPkcs12Certificate_ServesAndMarksCookieSecure()
    {
        var dir = Directory.CreateTempSubdirectory("ha-web-tls");
        var pfx = Path.Combine(dir.FullName, "web.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var req = new CertificateRequest("CN=localhost", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
            using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllBytesAsync(pfx, cert.Export(X509ContentType.Pfx, "tls-pw"));
        }
        await using var host = await WebTestHost.StartAsync(o =>
        {
            o.Urls = ["https://127.0.0.1:0"];
            o.Certificate = new WebCertificate { Path = pfx, Password = "tls-pw" };
        });
        Assert.StartsWith("https://127.0.0.1:", host.Server.Addresses[0], StringComparison.Ordinal);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Subject == "CN=localhost" };
        using var http = new HttpClient(handler) { BaseAddress = host.BaseUri };
        var r = await http.PostAsJsonAsync("/api/login", new { username = "admin", password = WebTestHost.PasswordOf("admin") });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("secure", Assert.Single(r.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/health")).StatusCode);
        dir.Delete(true);
    }
}

public sealed class WebServerStartTests
{
    [Fact]
    public async Task Start_Disabled_ReturnsNull()
    {
        var rules = WebTestHost.LoadRules();
        Assert.Null(await WebServer.StartAsync(new WebOptions { Enabled = false }, new InMemoryHealthState("a", rules), rules,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None));
    }

    [Fact]
    public async Task Start_PortTaken_ThrowsAndCanStartElsewhere()
    {
        await using var first = await WebTestHost.StartAsync();
        var taken = first.BaseUri.ToString().TrimEnd('/');
        await Assert.ThrowsAnyAsync<IOException>(() => WebTestHost.StartAsync(o => o.Urls = [taken]));
        await using var second = await WebTestHost.StartAsync();
        Assert.NotEqual(first.BaseUri, second.BaseUri);
    }
}
