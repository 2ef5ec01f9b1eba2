using System.Net;
using HealthAgent.Config;

namespace HealthAgent.Web;

/// <summary>
/// The System Health Monitoring web view (agent.json key <c>web</c>). Users sign in with a name and password
/// (hashes made by <c>healthagent passwd</c>); roles and the "Access System Health Monitoring" privilege follow the
/// seed's user-account rules.
/// </summary>
public sealed class WebOptions : IValidatable
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Whether the agent serves the web view. Needs at least one user.</summary>
    public bool Enabled { get; set; }

    /// <summary>Listen addresses, e.g. ["http://127.0.0.1:8080"] (default). Port 0 picks a free port.
    /// Anything but loopback (127.0.0.1, ::1, localhost) needs <see cref="AllowRemote"/>.</summary>
    public string[]? Urls { get; set; }

    /// <summary>Allow listening on non-loopback addresses (0.0.0.0, a LAN address). Use with an HTTPS certificate:
    /// passwords and session cookies otherwise cross the network in clear text.</summary>
    public bool AllowRemote { get; set; }

    /// <summary>Who may sign in: [{ "name", "passwordHash", "role", "systemHealthMonitoring"? }].</summary>
    public WebUser[]? Users { get; set; }

    /// <summary>Groups: [{ "name", "role", "members": [user names], "systemHealthMonitoring"? }]. A member gets the
    /// highest role of itself and its groups, and the union of their privileges.</summary>
    public WebGroup[]? Groups { get; set; }

    /// <summary>Minutes a session lives without a request (sliding); it then expires and the user signs in again.</summary>
    public double SessionMinutes { get; set; } = 30;

    /// <summary>Failed sign-ins allowed per user name, and per client address, within <see cref="LoginWindowMinutes"/>.</summary>
    public int MaxFailedLoginsPerUser { get; set; } = 5;

    /// <summary>Failed sign-ins allowed per client address within <see cref="LoginWindowMinutes"/>.</summary>
    public int MaxFailedLoginsPerAddress { get; set; } = 20;

    /// <summary>The window over which failed sign-ins are counted; further attempts get 429 until it passes.</summary>
    public double LoginWindowMinutes { get; set; } = 5;

    /// <summary>Optional HTTPS certificate (PKCS#12 file and its password) for https:// URLs.</summary>
    public WebCertificate? Certificate { get; set; }

    public IReadOnlyList<string> EffectiveUrls => Urls is { Length: > 0 } u ? u : [DefaultUrl];
    public TimeSpan SessionLifetime => TimeSpan.FromMinutes(SessionMinutes);
    public TimeSpan LoginWindow => TimeSpan.FromMinutes(LoginWindowMinutes);

    public void Validate(string path, ICollection<string> errors)
    {
        var p = path.Length == 0 ? "web" : path;
        foreach (var url in EffectiveUrls)
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var u)
                || u.Scheme is not ("http" or "https") || u.AbsolutePath != "/")
            {
                errors.Add($"{p}.urls: '{url}' is not an http:// or https:// address with a port, e.g. {DefaultUrl}");
                continue;
            }
            if (!IsLoopback(u.Host) && !AllowRemote)
                errors.Add($"{p}.urls: '{url}' listens beyond this machine; set {p}.allowRemote: true to allow it (and use https)");
            if (u.Scheme == "https" && Certificate is null)
                errors.Add($"{p}.urls: '{url}' is https but {p}.certificate is not set");
        }
        if (SessionMinutes is < 1 or > 7 * 24 * 60) errors.Add($"{p}.sessionMinutes: must be from 1 to 10080 (is {SessionMinutes})");
        if (MaxFailedLoginsPerUser < 1) errors.Add($"{p}.maxFailedLoginsPerUser: must be at least 1");
        if (MaxFailedLoginsPerAddress < 1) errors.Add($"{p}.maxFailedLoginsPerAddress: must be at least 1");
        if (LoginWindowMinutes is <= 0 or > 1440) errors.Add($"{p}.loginWindowMinutes: must be above 0 and at most 1440");
        if (Certificate is { } c)
        {
            if (string.IsNullOrWhiteSpace(c.Path)) errors.Add($"{p}.certificate.path: must name a PKCS#12 (.pfx) file");
            else if (!File.Exists(c.Path)) errors.Add($"{p}.certificate.path: file '{c.Path}' not found");
        }

        var users = Users ?? [];
        if (Enabled && users.Length == 0)
            errors.Add($"{p}.users: at least one user is needed when the web view is enabled (make a passwordHash with `healthagent passwd`)");
        for (var i = 0; i < users.Length; i++)
        {
            var u = users[i];
            var up = $"{p}.users[{i}]";
            if (string.IsNullOrWhiteSpace(u.Name)) errors.Add($"{up}.name: must not be empty");
            if (!Auth.PasswordHasher.IsWellFormed(u.PasswordHash))
                errors.Add($"{up}.passwordHash: not a hash made by `healthagent passwd` (pbkdf2-sha256$iterations$salt$hash)"); // never echo the value
            CheckRole(u.Role, u.SystemHealthMonitoring, up, errors);
        }
        foreach (var dup in users.GroupBy(u => u.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            errors.Add($"{p}.users: user '{dup.Key}' is listed {dup.Count()} times");

        var groups = Groups ?? [];
        for (var i = 0; i < groups.Length; i++)
        {
            var g = groups[i];
            var gp = $"{p}.groups[{i}]";
            if (string.IsNullOrWhiteSpace(g.Name)) errors.Add($"{gp}.name: must not be empty");
            CheckRole(g.Role, g.SystemHealthMonitoring, gp, errors);
            foreach (var m in g.Members ?? [])
                if (!users.Any(u => string.Equals(u.Name, m, StringComparison.OrdinalIgnoreCase)))
                    errors.Add($"{gp}.members: '{m}' is not a user in {p}.users");
        }
    }

    private static void CheckRole(string? role, bool? shm, string path, ICollection<string> errors)
    {
        if (!Auth.Roles.TryParse(role, out var r))
            errors.Add($"{path}.role: '{role}' is not a role (administrator, operator, viewer)");
        else if (shm == true && r == Auth.Role.Viewer)
            errors.Add($"{path}.systemHealthMonitoring: the privilege exists for operators only (a viewer sees the overall status)");
    }

    internal static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>A user who may sign in to the web view.</summary>
public sealed class WebUser
{
    /// <summary>Sign-in name (case-insensitive).</summary>
    public string Name { get; set; } = "";

    /// <summary>Output of <c>healthagent passwd</c>: <c>pbkdf2-sha256$iterations$salt$hash</c>. Never the password itself.</summary>
    public string PasswordHash { get; set; } = "";

    /// <summary>administrator, operator or viewer.</summary>
    public string Role { get; set; } = "viewer";

    /// <summary>Operators have "Access System Health Monitoring" unless this is false (the privilege is withheld).</summary>
    public bool? SystemHealthMonitoring { get; set; }
}

/// <summary>A group of users sharing a role.</summary>
public sealed class WebGroup
{
    public string Name { get; set; } = "";

    /// <summary>administrator, operator or viewer.</summary>
    public string Role { get; set; } = "viewer";

    /// <summary>User names (from <c>web.users</c>) in this group.</summary>
    public string[]? Members { get; set; }

    /// <summary>Operator groups grant "Access System Health Monitoring" unless this is false.</summary>
    public bool? SystemHealthMonitoring { get; set; }
}

/// <summary>An HTTPS certificate: a PKCS#12 file and its password.</summary>
public sealed class WebCertificate
{
    public string Path { get; set; } = "";
    public string? Password { get; set; }
}
