using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace HealthAgent.Web.Auth;

/// <summary>A signed-in session: who, its CSRF token, and when it expires (sliding).</summary>
public sealed class Session(string id, Principal principal, string csrfToken, DateTimeOffset expires)
{
    public string Id { get; } = id;
    public Principal Principal { get; } = principal;
    public string CsrfToken { get; } = csrfToken;
    public DateTimeOffset Expires { get; internal set; } = expires;

    /// <summary>Constant-time comparison of a presented CSRF token.</summary>
    public bool CsrfMatches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(CsrfToken));
}

/// <summary>In-memory sessions keyed by a random 256-bit id; expired ones are removed when touched or swept.</summary>
public sealed class SessionStore(TimeSpan lifetime, TimeProvider time)
{
    /// <summary>More sessions than this and the oldest-expiring are dropped (bounded memory).</summary>
    public const int MaxSessions = 10_000;
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public int Count => _sessions.Count;

    public Session Create(Principal principal)
    {
        Sweep();
        if (_sessions.Count >= MaxSessions)
            foreach (var old in _sessions.Values.OrderBy(s => s.Expires).Take(_sessions.Count - MaxSessions + 1))
                _sessions.TryRemove(old.Id, out _);
        var s = new Session(Token(), principal, Token(), time.GetUtcNow() + lifetime);
        _sessions[s.Id] = s;
        return s;
    }

    /// <summary>The live session for a cookie value, its expiry extended; null when unknown or expired.</summary>
    public Session? Touch(string? id)
    {
        if (string.IsNullOrEmpty(id) || !_sessions.TryGetValue(id, out var s)) return null;
        var now = time.GetUtcNow();
        if (s.Expires <= now) { _sessions.TryRemove(id, out _); return null; }
        s.Expires = now + lifetime;
        return s;
    }

    /// <summary>Whether the session is still alive, without extending it (long-lived streams check this).</summary>
    public bool IsAlive(Session s) => s.Expires > time.GetUtcNow() && _sessions.ContainsKey(s.Id);

    public void Remove(string id) => _sessions.TryRemove(id, out _);

    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var s in _sessions.Values.Where(s => s.Expires <= now)) _sessions.TryRemove(s.Id, out _);
    }

    private static string Token() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
