using HealthAgent.Config;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Otlp;
using OpenTelemetry.Exporter;

namespace HealthAgent.Tests.Publishing.Otlp;

public sealed class OtlpPublisherOptionsTests
{
    private static string RepoAgentJson()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HealthAgent.sln"))) return Path.Combine(dir.FullName, "agent.json");
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static List<string> Errors(OtlpPublisherOptions o)
    {
        var errors = new List<string>();
        o.Validate("publishers.otlp", errors);
        return errors;
    }

    [Fact]
    public void AgentJson_Shipped_BindsOtlpDisabledWithoutErrors()
    {
        var config = AgentConfig.Load(RepoAgentJson());

        var otlp = Assert.IsType<OtlpPublisherOptions>(config.Publishers["otlp"]);
        Assert.False(otlp.Enabled);
        Assert.Equal(60, otlp.ExportIntervalSeconds);
        Assert.Empty(otlp.Headers);
    }

    [Fact]
    public void AgentJson_EnvironmentOverrides_BindEndpointProtocolAndHeaders()
    {
        var config = AgentConfig.Load(RepoAgentJson(), new Dictionary<string, string?>
        {
            ["publishers:otlp:enabled"] = "true",
            ["publishers:otlp:endpoint"] = "http://collector:4318",
            ["publishers:otlp:protocol"] = "http/protobuf",
            ["publishers:otlp:headers:x-api-key"] = "k-1",
        });

        var otlp = Assert.IsType<OtlpPublisherOptions>(config.Publishers["otlp"]);

        Assert.True(otlp.Enabled);
        Assert.Equal("http://collector:4318", otlp.Endpoint);
        Assert.Equal("k-1", otlp.Headers["x-api-key"]);
    }

    [Fact]
    public void AgentJson_UnknownOtlpKey_IsAnError()
    {
        var e = Assert.Throws<ConfigException>(() => AgentConfig.Load(RepoAgentJson(), new Dictionary<string, string?> { ["publishers:otlp:compresion"] = "gzip" }));

        Assert.Contains(e.Errors, e => e.StartsWith("publishers.otlp.compresion: unknown key", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BadValues_NameEachProblem()
    {
        var errors = Errors(new OtlpPublisherOptions
        {
            Endpoint = "collector:4317", Protocol = "http/json", ExportIntervalSeconds = 0, TimeoutSeconds = -1,
            Headers = new() { ["bad name"] = "v", ["x-ok"] = "a,b" },
        });

        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("publishers.otlp.headers.x-ok: the value must not contain ','", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.otlp.endpoint:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.otlp.protocol:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.otlp.exportIntervalSeconds:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("publishers.otlp.timeoutSeconds:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'bad name' is not a valid header name", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_EndpointWithCredentials_IsRedactedInTheError()
    {
        var errors = Errors(new OtlpPublisherOptions { Endpoint = "ftp://user:secret@collector:4317" });

        var e = Assert.Single(errors);
        Assert.DoesNotContain("secret", e, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("grpc", OtlpExportProtocol.Grpc)]
    [InlineData("http/protobuf", OtlpExportProtocol.HttpProtobuf)]
    [InlineData(" GRPC ", OtlpExportProtocol.Grpc)]
    [InlineData("http/json", null)]
    public void ParseProtocol_Text_MapsToExporterProtocol(string text, OtlpExportProtocol? expected) =>
        Assert.Equal(expected, OtlpPublisherOptions.ParseProtocol(text));
}
