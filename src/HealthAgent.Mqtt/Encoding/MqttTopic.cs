namespace HealthAgent.Mqtt;

/// <summary>Topic name and topic filter rules (MQTT 5.0 section 4.7).</summary>
public static class MqttTopic
{
    /// <summary>A topic name: at least one character [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2], no U+0000 [MQTT-4.7.3-2].</summary>
    public static bool IsValidTopicName(string topic) =>
        topic.Length > 0 && topic.AsSpan().IndexOfAny('+', '#', '\0') < 0;

    /// <summary>
    /// A topic filter: non-empty; `#` only as the last level and alone in it [MQTT-4.7.1-1]; `+` occupies a whole level
    /// [MQTT-4.7.1-2]; no U+0000.
    /// </summary>
    public static bool IsValidTopicFilter(string filter)
    {
        if (filter.Length == 0 || filter.Contains('\0')) return false;
        for (var i = 0; i < filter.Length; i++)
        {
            var c = filter[i];
            var levelStart = i == 0 || filter[i - 1] == '/';
            var levelEnd = i == filter.Length - 1 || filter[i + 1] == '/';
            if (c == '#' && (!levelStart || i != filter.Length - 1)) return false;
            if (c == '+' && (!levelStart || !levelEnd)) return false;
        }
        return true;
    }

    /// <summary>Whether <paramref name="topic"/> matches <paramref name="filter"/>; `$` topics need a literal first level [MQTT-4.7.2-1].</summary>
    public static bool Matches(string filter, string topic)
    {
        if (topic.StartsWith('$') && (filter.StartsWith('+') || filter.StartsWith('#'))) return false;
        var f = filter.Split('/');
        var t = topic.Split('/');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == "#") return true;
            if (i >= t.Length) return false;
            if (f[i] != "+" && f[i] != t[i]) return false;
        }
        return f.Length == t.Length;
    }
}
