using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HealthAgent.Model;
using HealthAgent.Sources;
using HealthAgent.Sources.Redfish;
using Microsoft.Extensions.Logging;
using static HealthAgent.Tests.Sources.Redfish.RedfishTestKit;

namespace HealthAgent.Tests.Sources.Redfish;

/// <summary>Basic auth, Redfish sessions, TLS pinning, and credentials that never reach logs, errors or readings.</summary>
public class RedfishSecurityTests
{
    private const string Secret = "Sup3r-s3cret!pw";

    [Fact]
    public async Task BasicAuth_RightPassword_Walks()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.User = "monitor";
        server.Password = Secret;
        await using var source = Create(server, e => { e.Username = "monitor"; e.Password = Secret; });
        Assert.Equal("psu.operational", (await PollAsync(source))["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
    }

    [Fact]
    public async Task PasswordFile_FirstLine_Used()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.User = "monitor";
        server.Password = Secret;
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, Secret + "\n");
        try
        {
            await using var source = Create(server, e => { e.Username = "monitor"; e.PasswordFile = file; });
            Assert.Equal("redfish.ok", (await PollAsync(source))["redfish:bmc"].Verdict.Code);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task Session_CreatedUsedAndDeletedOnDispose()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.User = "monitor";
        server.Password = Secret;
        var source = Create(server, e => { e.Username = "monitor"; e.Password = Secret; e.SessionAuth = true; });
        Assert.Equal("psu.operational", (await PollAsync(source))["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
        Assert.Single(server.Requests, r => r is { Method: "POST", Path: "/redfish/v1/SessionService/Sessions" });
        Assert.Empty(server.SeenAuthorization); // the token, not Basic, on every request
        await source.DisposeAsync();
        Assert.Single(server.DeletedSessions);
        Assert.Empty(server.IssuedTokens);
    }

    [Fact]
    public async Task Session_ExpiredOnBmc_RecreatedOnce()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.User = "monitor";
        server.Password = Secret;
        await using var source = Create(server, e => { e.Username = "monitor"; e.Password = Secret; e.SessionAuth = true; });
        await source.PollAsync(default);
        // The BMC forgets every session (reboot): the next request gets 401, the client logs in again.
        foreach (var t in server.IssuedTokens) await new HttpClient().SendAsync(new HttpRequestMessage(HttpMethod.Delete, server.Url + "/redfish/v1/SessionService/Sessions/1") { Headers = { { "X-Auth-Token", t } } });
        await source.WalkNowAsync(default);
        Assert.Equal("redfish.ok", (await PollAsync(source))["redfish:bmc"].Verdict.Code);
        Assert.Equal(2, server.Requests.Count(r => r is { Method: "POST", Path: "/redfish/v1/SessionService/Sessions" }));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Credentials_WrongOrInUrl_NeverInLogsErrorsOrReadings(bool session, bool inUrl)
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.User = "monitor";
        server.Password = "the-right-one";
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var url = inUrl ? server.Url.Replace("http://", $"http://monitor:{Uri.EscapeDataString(Secret)}@", StringComparison.Ordinal) : server.Url;
        SourceResult result;
        await using (var source = Create(server, e => { if (!inUrl) { e.Username = "monitor"; e.Password = Secret; } e.SessionAuth = session; }, logs: factory, url: url))
        {
            result = await source.PollAsync(default);
            LogAsTheRunner(source, result, factory);
        }
        var svc = Evaluate(result)["redfish:bmc"];
        Assert.Equal("redfish.unreachable", svc.Verdict.Code);
        Assert.Contains("401", string.Join(" ", result.Errors.Select(e => e.Message)));
        var everything = string.Join("\n", logs.Messages.Concat(result.Errors.Select(e => e.Device + " " + e.Message))
            .Concat(result.Observations.SelectMany(o => o.Readings.Select(r => $"{o.Component.Name} {r.Value} {r.Reason}")))
            .Concat(result.Observations.Select(o => o.UnknownReason ?? "")));
        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(Secret, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Uri.EscapeDataString(Secret), everything, StringComparison.Ordinal);
        Assert.DoesNotContain("monitor:", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SessionToken_NeverLogged()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.User = "monitor";
        server.Password = Secret;
        server.Inject(Psus + "/PSU.Slot.2", Fault.ServerError);
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using var source = Create(server, e => { e.Username = "monitor"; e.Password = Secret; e.SessionAuth = true; }, logs: factory);
        var result = await source.PollAsync(default);
        LogAsTheRunner(source, result, factory);
        var token = Assert.Single(server.IssuedTokens);
        Assert.NotEmpty(logs.Messages); // the PSU failure is logged
        Assert.DoesNotContain(logs.Messages, m => m.Contains(token, StringComparison.Ordinal) || m.Contains(Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(result.Errors, e => e.Message.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public void Redact_UrlUserInfo_Replaced() =>
        Assert.Equal("bad url https://***@10.0.0.5/redfish/v1", RedfishClient.Redact("bad url https://root:calvin@10.0.0.5/redfish/v1"));

    [Fact]
    public async Task ForeignLink_NeverFollowed_CredentialsStayHome()
    {
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems");
        server.Mutate(Sto, s => s["Drives"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject { ["@odata.id"] = "http://198.51.100.7/redfish/v1/Drives/X" }));
        await using var source = Create(server, e => { e.Username = "monitor"; e.Password = Secret; });
        var all = Evaluate(await source.PollAsync(default));
        Assert.Contains("leaves the Redfish service", all["redfish:bmc:drive:X"].UnknownReason);
    }

    // ---- TLS: a self-signed BMC certificate is pinned, never silently accepted ----

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=idrac-sim", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    [Fact]
    public async Task Tls_SelfSignedWithoutPin_RefusedWithFingerprintInReason()
    {
        using var cert = SelfSigned();
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems", cert);
        await using var source = Create(server);
        var svc = Evaluate(await source.PollAsync(default))["redfish:bmc"];
        Assert.Equal("redfish.unreachable", svc.Verdict.Code);
        var why = (string)svc.Readings.Single(r => r.Name == "lastError").Value!;
        Assert.Contains("certificate not trusted", why);
        Assert.Contains(Convert.ToHexString(cert.GetCertHash(HashAlgorithmName.SHA256))[..2], why);
    }

    [Fact]
    public async Task Tls_PinnedFingerprint_Accepted_WrongPin_Refused()
    {
        using var cert = SelfSigned();
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems", cert);
        var pin = string.Join(':', Convert.ToHexString(cert.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)));
        await using (var ok = Create(server, e => e.CertificateFingerprint = pin))
            Assert.Equal("psu.operational", (await PollAsync(ok))["redfish:bmc:psu:System.Embedded.1:PSU.Slot.1"].Rule?.Id);
        await using var wrong = Create(server, e => e.CertificateFingerprint = new string('A', 64));
        var svc = (await PollAsync(wrong))["redfish:bmc"];
        Assert.Contains("does not match the pinned", (string)svc.Readings.Single(r => r.Name == "lastError").Value!);
    }

    [Fact]
    public async Task Tls_CaFile_Accepted()
    {
        using var cert = SelfSigned();
        await using var server = await RedfishMockupServer.StartAsync("idrac9-r750-subsystems", cert);
        var pem = Path.GetTempFileName();
        await File.WriteAllTextAsync(pem, cert.ExportCertificatePem());
        try
        {
            await using var source = Create(server, e => e.CaFile = pem);
            Assert.Equal("redfish.ok", (await PollAsync(source))["redfish:bmc"].Verdict.Code);
        }
        finally { File.Delete(pem); }
    }
}
