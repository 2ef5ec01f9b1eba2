namespace HealthAgent.Web.Auth;

/// <summary>
/// Counts failed sign-ins per user name and per client address over a sliding window; when either count reaches its
/// limit further attempts are refused (HTTP 429) until the oldest failure leaves the window. Bounded: at most
/// <see cref="MaxKeys"/> keys are tracked, the stalest dropped first.
/// </summary>
public sealed class LoginRateLimiter(int perUser, int perAddress, TimeSpan window, TimeProvider time)
{
    public const int MaxKeys = 10_000;
    private readonly Dictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    /// <summary>Zero when an attempt may go ahead, otherwise how long to wait.</summary>
    public TimeSpan RetryAfter(string user, string address)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            return Max(Wait(UserKey(user), perUser, now), Wait(AddressKey(address), perAddress, now));
        }
    }

    public void Failed(string user, string address)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            Add(UserKey(user), now);
            Add(AddressKey(address), now);
        }
    }

    /// <summary>A successful sign-in clears the user's failures (not the address's).</summary>
    public void Succeeded(string user)
    {
        lock (_lock) { _failures.Remove(UserKey(user)); }
    }

    private TimeSpan Wait(string key, int limit, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var q)) return TimeSpan.Zero;
        while (q.Count > 0 && q.Peek() + window <= now) q.Dequeue();
        if (q.Count == 0) { _failures.Remove(key); return TimeSpan.Zero; }
        return q.Count >= limit ? q.Peek() + window - now : TimeSpan.Zero;
    }

    private void Add(string key, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var q))
        {
            if (_failures.Count >= MaxKeys)
            {
                var stalest = _failures.MinBy(kv => kv.Value.Count > 0 ? kv.Value.Last() : DateTimeOffset.MinValue).Key;
                _failures.Remove(stalest);
            }
            _failures[key] = q = new Queue<DateTimeOffset>();
        }
        q.Enqueue(now);
        while (q.Count > Math.Max(perUser, perAddress)) q.Dequeue();
    }

    private static string UserKey(string user) => "u:" + user.Trim().ToLowerInvariant();
    private static string AddressKey(string address) => "a:" + address;
    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
