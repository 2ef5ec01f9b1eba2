namespace HealthAgent.Web.Auth;

/// <summary>The seed's roles, ordered: a user in groups gets the highest of its own and its groups' roles.</summary>
public enum Role { Viewer = 0, Operator = 1, Administrator = 2 }

public static class Roles
{
    public static string Name(Role r) => r switch { Role.Administrator => "administrator", Role.Operator => "operator", _ => "viewer" };

    public static bool TryParse(string? text, out Role role)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "administrator": role = Role.Administrator; return true;
            case "operator": role = Role.Operator; return true;
            case "viewer": role = Role.Viewer; return true;
            default: role = Role.Viewer; return false;
        }
    }
}

/// <summary>
/// Who is signed in and what they may do. Seed ("User or group privileges"): Administrator has full access;
/// Operator gets "Access System Health Monitoring" (withholdable per user or group); Viewer sees the overall status.
/// </summary>
public sealed record Principal(string Name, Role Role, bool SystemHealthMonitoring)
{
    /// <summary>Full view: components, history, acknowledge, identify.</summary>
    public bool CanMonitor => Role == Role.Administrator || (Role == Role.Operator && SystemHealthMonitoring);
    /// <summary>System configuration (rule reload) is the administrator's.</summary>
    public bool CanConfigure => Role == Role.Administrator;

    public IReadOnlyList<string> Privileges =>
        [.. CanMonitor ? new[] { "systemHealthMonitoring" } : [], .. CanConfigure ? new[] { "configuration" } : []];
}

/// <summary>Resolves a user name into a <see cref="Principal"/> from web.users and web.groups.</summary>
public static class AccessPolicy
{
    public static Principal? Resolve(WebOptions options, string userName)
    {
        var user = (options.Users ?? []).FirstOrDefault(u => string.Equals(u.Name, userName, StringComparison.OrdinalIgnoreCase));
        if (user is null) return null;
        Roles.TryParse(user.Role, out var role);
        // Union of privileges: each operator principal (the user or one of its groups) grants the privilege unless it withholds it.
        var shm = role == Role.Operator && user.SystemHealthMonitoring != false;
        foreach (var g in (options.Groups ?? []).Where(g => (g.Members ?? []).Contains(user.Name, StringComparer.OrdinalIgnoreCase)))
        {
            Roles.TryParse(g.Role, out var gr);
            if (gr > role) role = gr;
            shm |= gr == Role.Operator && g.SystemHealthMonitoring != false;
        }
        return new Principal(user.Name, role, shm || role == Role.Administrator);
    }
}
