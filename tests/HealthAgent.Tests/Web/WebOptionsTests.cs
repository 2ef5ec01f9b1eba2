using HealthAgent.Cli;
using HealthAgent.Config;
using HealthAgent.Web;
using HealthAgent.Web.Auth;

namespace HealthAgent.Tests.Web;

public sealed class WebOptionsTests
{
    private static readonly string Hash = PasswordHasher.Hash("pw", 1000);

    private static List<string> Errors(WebOptions o)
    {
        var errors = new List<string>();
        o.Validate("web", errors);
        return errors;
    }

    private static WebOptions With(params string[] urls) => new()
    {
        Enabled = true, Urls = urls, Users = [new WebUser { Name = "a", PasswordHash = Hash, Role = "administrator" }],
    };

    [Theory]
    [InlineData("http://127.0.0.1:8080")]
    [InlineData("http://localhost:8080")]
    [InlineData("http://[::1]:8080")]
    public void Urls_Loopback_AreAccepted(string url) => Assert.Empty(Errors(With(url)));

    [Theory]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("http://*:8080")]
    [InlineData("http://192.168.1.20:8080")]
    public void Urls_BeyondLoopbackWithoutAllowRemote_AreRefused(string url)
    {
        Assert.Contains(Errors(With(url)), e => e.Contains("allowRemote", StringComparison.Ordinal));
        var o = With(url);
        o.AllowRemote = true;
        Assert.Empty(Errors(o));
    }

    [Fact]
    public void Validate_BadUsersGroupsAndHttpsWithoutCertificate_ListsEveryProblem()
    {
        var o = new WebOptions
        {
            Enabled = true,
            Urls = ["https://127.0.0.1:8443", "ftp://x"],
            Users =
            [
                new WebUser { Name = "v", PasswordHash = "plaintext-oops", Role = "viewer", SystemHealthMonitoring = true },
                new WebUser { Name = "x", PasswordHash = Hash, Role = "superuser" },
            ],
            Groups = [new WebGroup { Name = "g", Role = "operator", Members = ["ghost"] }],
        };
        var errors = Errors(o);
        Assert.Contains(errors, e => e.StartsWith("web.urls: 'https://127.0.0.1:8443' is https", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("web.urls: 'ftp://x'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("web.users[0].passwordHash", StringComparison.Ordinal) && !e.Contains("plaintext-oops", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("web.users[0].systemHealthMonitoring", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("web.users[1].role", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("web.groups[0].members: 'ghost'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_EnabledWithoutUsers_IsAnError() =>
        Assert.Contains(Errors(new WebOptions { Enabled = true }), e => e.Contains("healthagent passwd", StringComparison.Ordinal));

    [Fact]
    public void Load_UnknownNestedKeys_AreErrors()
    {
        var dir = Directory.CreateTempSubdirectory("ha-web-cfg");
        var path = Path.Combine(dir.FullName, "agent.json");
        File.WriteAllText(path, $$"""
            { "web": { "enabled": true, "urls": ["http://127.0.0.1:9000"], "sessionMinutes": 15,
                       "users": [ { "name": "ann", "passwordHash": "{{Hash}}", "role": "operator", "pasword": "oops" } ],
                       "groups": [ { "name": "noc", "role": "operator", "members": ["ann"], "systemHealthMonitoring": false } ] } }
            """);
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(path));
        Assert.Equal("web.users[0].pasword: unknown key (known: name, passwordHash, role, systemHealthMonitoring)", Assert.Single(e.Errors));

        File.WriteAllText(path, File.ReadAllText(path).Replace(", \"pasword\": \"oops\"", "", StringComparison.Ordinal));
        var o = AgentConfig.Load(path).Web;
        Assert.Equal(["http://127.0.0.1:9000"], o.EffectiveUrls);
        Assert.Equal(15, o.SessionMinutes);
        Assert.False(o.Groups![0].SystemHealthMonitoring);
        dir.Delete(true);
    }

    [Fact]
    public void AgentJson_WebDefaults_BindWithoutErrors()
    {
        var o = AgentConfig.Load(null).Web;
        Assert.False(o.Enabled);
        Assert.Equal([WebOptions.DefaultUrl], o.EffectiveUrls);
    }

    [Fact]
    public void Resolve_UserInGroups_GetsHighestRoleAndUnionOfPrivileges()
    {
        var o = new WebOptions
        {
            Users =
            [
                new WebUser { Name = "viewer-in-noc", Role = "viewer", PasswordHash = Hash },
                new WebUser { Name = "op-withheld", Role = "operator", PasswordHash = Hash, SystemHealthMonitoring = false },
                new WebUser { Name = "op-withheld-in-noc", Role = "operator", PasswordHash = Hash, SystemHealthMonitoring = false },
                new WebUser { Name = "op-in-restricted", Role = "operator", PasswordHash = Hash },
                new WebUser { Name = "viewer-in-admins", Role = "viewer", PasswordHash = Hash },
            ],
            Groups =
            [
                new WebGroup { Name = "noc", Role = "operator", Members = ["viewer-in-noc", "op-withheld-in-noc"] },
                new WebGroup { Name = "restricted", Role = "operator", Members = ["op-in-restricted"], SystemHealthMonitoring = false },
                new WebGroup { Name = "admins", Role = "administrator", Members = ["viewer-in-admins"] },
            ],
        };
        Assert.Equal(new Principal("viewer-in-noc", Role.Operator, true), AccessPolicy.Resolve(o, "VIEWER-IN-NOC"));
        Assert.False(AccessPolicy.Resolve(o, "op-withheld")!.CanMonitor);
        Assert.True(AccessPolicy.Resolve(o, "op-withheld-in-noc")!.CanMonitor);   // union: the group grants it
        Assert.True(AccessPolicy.Resolve(o, "op-in-restricted")!.CanMonitor);     // union: the user's own role grants it
        var admin = AccessPolicy.Resolve(o, "viewer-in-admins")!;
        Assert.Equal(Role.Administrator, admin.Role);
        Assert.True(admin.CanConfigure);
        Assert.Null(AccessPolicy.Resolve(o, "nobody"));
    }

    [Fact]
    public void PasswordHasher_RoundTrip_SaltedAndConstantFormat()
    {
        var a = PasswordHasher.Hash("s3cret", 1000);
        var b = PasswordHasher.Hash("s3cret", 1000);
        Assert.NotEqual(a, b); // salted
        Assert.Matches(@"^pbkdf2-sha256\$1000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$", a);
        Assert.True(PasswordHasher.Verify("s3cret", a));
        Assert.False(PasswordHasher.Verify("s3cret ", a));
        Assert.False(PasswordHasher.Verify("s3cret", "pbkdf2-sha256$10$AAAA$BBBB"));
        Assert.False(PasswordHasher.Verify("s3cret", "s3cret"));
    }

    [Fact]
    public void Passwd_PasswordOnStdin_PrintsAVerifiableHash()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, PasswdCommand.Run(new StringReader("correct horse\n"), 1000, output, error));
        var hash = output.ToString().Trim();
        Assert.True(PasswordHasher.Verify("correct horse", hash));
        Assert.DoesNotContain("correct horse", output.ToString() + error, StringComparison.Ordinal);
        Assert.Equal(2, PasswdCommand.Run(new StringReader(""), 1000, new StringWriter(), error));
    }
}
