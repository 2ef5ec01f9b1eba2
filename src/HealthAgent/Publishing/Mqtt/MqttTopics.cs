using System.Text;

namespace HealthAgent.Publishing.Mqtt;

/// <summary>
/// The topic tree under <c>&lt;prefix&gt;/&lt;agentId&gt;/</c>: status, health, info, state/&lt;hwType&gt;/&lt;id&gt;,
/// part/&lt;partId&gt;, event/&lt;hwType&gt;/&lt;id&gt;, cmd/&lt;verb&gt;, reply/&lt;verb&gt;. Ids are made topic-safe.
/// </summary>
public sealed class MqttTopics(string prefix, string agentId)
{
    public string Root { get; } = prefix.TrimEnd('/') + "/" + Safe(agentId);

    public string Status => Root + "/status";
    public string Health => Root + "/health";
    public string Info => Root + "/info";
    public string CmdFilter => Root + "/cmd/+";
    public string CmdPrefix => Root + "/cmd/";
    public string State(string hwType, string componentId) => $"{Root}/state/{Safe(hwType)}/{Safe(componentId)}";
    /// <summary>A physical part's retained topic (several sources' components fused: rules/parts).</summary>
    public string Part(string partId) => $"{Root}/part/{Safe(partId)}";
    public string Event(string hwType, string componentId) => $"{Root}/event/{Safe(hwType)}/{Safe(componentId)}";
    public string Reply(string verb) => $"{Root}/reply/{Safe(verb)}";

    /// <summary>
    /// One topic level from an id: '/', '+', '#', whitespace, control characters and NUL become '_' (a level
    /// must not contain wildcards [MQTT-4.7.1-1], and '/' would split it); empty becomes "_".
    /// </summary>
    public static string Safe(string id)
    {
        if (id.Length == 0) return "_";
        var sb = new StringBuilder(id.Length);
        foreach (var ch in id) sb.Append(ch is '/' or '+' or '#' || char.IsWhiteSpace(ch) || char.IsControl(ch) ? '_' : ch);
        return sb.ToString();
    }

    /// <summary>An id for Home Assistant object ids and unique ids: [A-Za-z0-9_-] only.</summary>
    public static string ObjectId(string id)
    {
        var sb = new StringBuilder(id.Length);
        foreach (var ch in id) sb.Append(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_');
        return sb.ToString();
    }
}
