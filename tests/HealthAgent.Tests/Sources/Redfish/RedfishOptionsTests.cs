using HealthAgent.Config;
using HealthAgent.Sources.Redfish;

namespace HealthAgent.Tests.Sources.Redfish;

public class RedfishOptionsTests
{
    [Fact]
    public void EmbeddedAgentJson_RedfishKey_DisabledWithSimulatorEndpoint()
    {
        var config = AgentConfig.Load(null);
        var o = Assert.IsType<RedfishOptions>(config.Sources["redfish"]);
        Assert.False(o.Enabled);
        Assert.Equal("http://127.0.0.1:8443", Assert.Single(o.Endpoints).Url);
    }

    [Fact]
    public async Task Catalog_RedfishEnabledByEnvironmentStyleOverride_CreatesTheSource()
    {
        var config = AgentConfig.Load(null, new Dictionary<string, string?>
        {
            ["sources:redfish:enabled"] = "true",
            ["sources:redfish:endpoints:0:url"] = "https://idrac.example",
            ["sources:redfish:endpoints:0:certificateFingerprint"] = new string('a', 64),
        });
        var ctx = new HealthAgent.Sources.SourceContext(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Rules, TimeProvider.System);
        var source = Assert.Single(HealthAgent.Sources.SourceCatalog.CreateEnabled(config, ctx).OfType<RedfishSource>());
        Assert.Equal("redfish", source.Name);
        await source.DisposeAsync();
    }

    [Fact]
    public void Validate_EveryProblem_ReportedTogetherWithoutSecrets()
    {
        var o = new RedfishOptions
        {
            Enabled = true,
            Endpoints =
            [
                new() { Name = "a b", Url = "ftp://root:calvin@x", Password = "calvin", PasswordFile = "/nonexistent", CertificateFingerprint = "zz", MaxConcurrency = 0 },
                new() { Name = "bmc", Url = "https://10.0.0.5" },
                new() { Name = "bmc", Url = "https://10.0.0.6", TimeoutSeconds = 0 },
            ],
        };
        var errors = new List<string>();
        o.Validate("sources.redfish", errors);
        var text = string.Join("\n", errors);
        Assert.Contains("endpoints[0].name", text);
        Assert.Contains("endpoints[0].url", text);
        Assert.Contains("password or passwordFile, not both", text);
        Assert.Contains("endpoints[0].username", text);
        Assert.Contains("certificateFingerprint", text);
        Assert.Contains("maxConcurrency", text);
        Assert.Contains("'bmc' is used by two endpoints", text);
        Assert.Contains("endpoints[2].timeoutSeconds", text);
        Assert.DoesNotContain("calvin", text);
    }

    [Fact]
    public void Validate_EnabledWithoutEndpoints_Error()
    {
        var errors = new List<string>();
        new RedfishOptions { Enabled = true }.Validate("sources.redfish", errors);
        Assert.Contains(errors, e => e.Contains("at least one endpoint", StringComparison.Ordinal));
    }
}
