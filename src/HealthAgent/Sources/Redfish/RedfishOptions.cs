using System.Globalization;
using System.Text.RegularExpressions;
using HealthAgent.Config;

namespace HealthAgent.Sources.Redfish;

/// <summary>
/// <c>sources.redfish</c>: BMCs read over DMTF Redfish. Each poll (every <see cref="SourceOptions.IntervalSeconds"/>,
/// bounded by <see cref="SourceOptions.TimeoutSeconds"/>, under the SourceRunner like every source) walks every endpoint.
/// </summary>
public sealed partial class RedfishOptions : SourceOptions
{
    public RedfishOptions()
    {
        Enabled = false;
        IntervalSeconds = 30;
    }

    /// <summary>The BMCs to read.</summary>
    public List<RedfishEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>Components of a walk older than this many seconds become unknown (default: 3 × interval + 60 s).</summary>
    public double? StaleAfterSeconds { get; set; }

    public TimeSpan StaleAfter => TimeSpan.FromSeconds(StaleAfterSeconds ?? IntervalSeconds * 3 + 60);

    /// <summary>
    /// Most members read from one collection (all pages of <c>Members@odata.nextLink</c> together) or one link array
    /// (a Storage's <c>Drives[]</c>). Beyond it the rest is not read and the service component is degraded, naming the
    /// collection — a BMC listing thousands of volumes cannot keep a walk busy for minutes.
    /// </summary>
    public int MaxMembersPerCollection { get; set; } = 512;

    /// <summary>
    /// Most requests one walk of one BMC makes. When reached, the walk stops reading, keeps what it has, and the
    /// service component is degraded, naming where it stopped. The largest tree of the DMTF corpus needs under 300.
    /// </summary>
    public int MaxResourcesPerWalk { get; set; } = 2048;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex NamePattern();

    public override void Validate(string path, ICollection<string> errors)
    {
        base.Validate(path, errors);
        if (StaleAfterSeconds is { } s && s <= IntervalSeconds)
            errors.Add($"{path}.staleAfterSeconds: must be longer than intervalSeconds ({IntervalSeconds}) (is {s})");
        if (MaxMembersPerCollection is < 1 or > 100_000) errors.Add($"{path}.maxMembersPerCollection: must be from 1 to 100000 (is {MaxMembersPerCollection})");
        if (MaxResourcesPerWalk is < 10 or > 1_000_000) errors.Add($"{path}.maxResourcesPerWalk: must be from 10 to 1000000 (is {MaxResourcesPerWalk})");
        if (Enabled && Endpoints.Count == 0) errors.Add($"{path}.endpoints: at least one endpoint is needed when the source is enabled");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Endpoints.Count; i++)
        {
            var e = Endpoints[i];
            var p = $"{path}.endpoints[{i}]";
            if (string.IsNullOrWhiteSpace(e.Name) || !NamePattern().IsMatch(e.Name))
                errors.Add($"{p}.name: 1–64 letters, digits, '_', '.', '-' (it becomes part of component ids) (is '{e.Name}')");
            else if (!names.Add(e.Name)) errors.Add($"{p}.name: '{e.Name}' is used by two endpoints");
            if (!Uri.TryCreate(e.Url, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttps && u.Scheme != Uri.UriSchemeHttp))
                errors.Add($"{p}.url: must be an absolute https:// (or http:// for simulators) URL (is '{RedfishClient.Redact(e.Url)}')");
            if (e.Password is not null && e.PasswordFile is not null) errors.Add($"{p}: give password or passwordFile, not both");
            if ((e.Password is not null || e.PasswordFile is not null) && string.IsNullOrEmpty(e.Username))
                errors.Add($"{p}.username: a password needs a username");
            if (e.PasswordFile is not null && !File.Exists(e.PasswordFile)) errors.Add($"{p}.passwordFile: file '{e.PasswordFile}' does not exist");
            if (e.CaFile is not null && !File.Exists(e.CaFile)) errors.Add($"{p}.caFile: file '{e.CaFile}' does not exist");
            if (e.CertificateFingerprint is not null && RedfishEndpointOptions.NormalizeFingerprint(e.CertificateFingerprint) is null)
                errors.Add($"{p}.certificateFingerprint: must be a SHA-256 fingerprint, 64 hex digits (colons allowed)");
            if (e.TimeoutSeconds is < 0.1 or > 600) errors.Add($"{p}.timeoutSeconds: must be from 0.1 to 600 (is {e.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)})");
            if (e.MaxConcurrency is < 1 or > 32) errors.Add($"{p}.maxConcurrency: must be from 1 to 32 (is {e.MaxConcurrency})");
        }
    }
}

/// <summary>One BMC. The URL is the service's base (<c>https://idrac.example</c>); <c>/redfish/v1</c> is appended.</summary>
public sealed class RedfishEndpointOptions
{
    /// <summary>Short name used in component ids: <c>redfish:&lt;name&gt;:psu:PSU.Slot.1</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>Base URL. https by default; http:// is allowed for simulators. User info in the URL is used as credentials and never logged.</summary>
    public string Url { get; set; } = "";

    /// <summary>BMC user name (read-only role is enough; identify needs ConfigureComponents).</summary>
    public string? Username { get; set; }

    /// <summary>Password in the configuration; prefer <see cref="PasswordFile"/>.</summary>
    public string? Password { get; set; }

    /// <summary>File whose first line is the password (keep it mode 0600).</summary>
    public string? PasswordFile { get; set; }

    /// <summary>PEM file of the CA (or the BMC's own self-signed certificate) to trust for this endpoint.</summary>
    public string? CaFile { get; set; }

    /// <summary>SHA-256 fingerprint of the BMC's certificate (64 hex digits, colons allowed): pins a self-signed certificate.</summary>
    public string? CertificateFingerprint { get; set; }

    /// <summary>Seconds one request may take.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Requests in flight at once to this BMC (BMCs are small computers).</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Use a Redfish session (POST SessionService/Sessions, X-Auth-Token, DELETE on shutdown) instead of Basic auth.</summary>
    public bool SessionAuth { get; set; }

    /// <summary>
    /// Use Redfish <c>$expand</c> when the service root advertises it: collections (and the few resources whose
    /// subordinates are read) come in one answer instead of one GET each. False walks one resource at a time.
    /// </summary>
    public bool Expand { get; set; } = true;

    internal static string? NormalizeFingerprint(string text)
    {
        var hex = text.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        return hex.Length == 64 && hex.All(Uri.IsHexDigit) ? hex : null;
    }
}
