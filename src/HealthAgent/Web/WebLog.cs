using Microsoft.Extensions.Logging;

namespace HealthAgent.Web;

/// <summary>Web view log messages. Passwords and hashes never appear; user names and client addresses do.</summary>
internal static partial class WebLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Signed in: {User} ({Role}) from {Address}")]
    public static partial void SignedIn(ILogger logger, string user, string role, string address);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Sign-in failed for {User} from {Address}")]
    public static partial void SignInFailed(ILogger logger, string user, string address);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Sign-in refused (too many failures) for {User} from {Address}; retry after {Seconds:0} s")]
    public static partial void RateLimited(ILogger logger, string user, string address, double seconds);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "Rules reloaded by {User}: version {Version}")]
    public static partial void RulesReloaded(ILogger logger, string user, string version);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "Rules reload by {User} failed with {Count} error(s); the previous rules stay in force")]
    public static partial void RulesReloadFailed(ILogger logger, string user, int count);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "Event {EventId} acknowledged by {User}")]
    public static partial void Acknowledged(ILogger logger, Guid eventId, string user);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Information, Message = "Identify {On} for {Component} by {User}")]
    public static partial void Identify(ILogger logger, bool on, string component, string user);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Warning, Message = "Live stream ended with an error")]
    public static partial void StreamFailed(ILogger logger, Exception e);
}
