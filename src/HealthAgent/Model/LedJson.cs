using System.Text.Json.Nodes;

namespace HealthAgent.Model;

/// <summary>
/// The JSON form of LED states, for publishing: <c>{"pattern":"blinking","color":"amber","rate":{"kind":"hz","hz":4}}</c>;
/// sequences add <c>"steps":[…]</c> and <c>"end":"off"|"hold"|"repeat"</c>. Every object also carries its canonical <c>text</c>.
/// </summary>
public static class LedJson
{
    public static JsonObject State(LedState s)
    {
        var o = new JsonObject
        {
            ["text"] = s.ToString(),
            ["pattern"] = Word(s.Pattern),
            ["color"] = s.Color is { } c ? LedText.ColorName(c) : null,
            ["rate"] = s.Rate is { } r ? Rate(r) : null,
        };
        if (!s.IsSimple)
        {
            o["steps"] = new JsonArray(s.Steps.Select(st => (JsonNode)Step(st)).ToArray());
            o["end"] = s.End switch { SequenceEnd.Off => "off", SequenceEnd.Repeat => "repeat", _ => "hold" };
        }
        return o;
    }

    public static JsonObject Step(LedStep st) => new()
    {
        ["pattern"] = Word(st.Pattern),
        ["color"] = st.Color is { } c ? LedText.ColorName(c) : null,
        ["rate"] = st.Rate is { } r ? Rate(r) : null,
        ["count"] = st.Count,
        ["seconds"] = st.Seconds,
    };

    /// <summary>An indicator: <c>{"text":"link solid green; activity off","leds":{"link":{…},"activity":{…}}}</c>; an unknown LED is null.</summary>
    public static JsonObject Indicator(IndicatorState i)
    {
        var leds = new JsonObject();
        for (var k = 0; k < i.LedNames.Count; k++) leds[i.LedNames[k]] = i.States[k] is { } s ? State(s) : null;
        return new JsonObject { ["text"] = i.ToString(), ["leds"] = leds };
    }

    /// <summary>Rates carry the frequency to draw at: named rates their nominal Hz.</summary>
    public static JsonObject Rate(BlinkRate r) => new()
    {
        ["kind"] = r.Kind switch { RateKind.Slow => "slow", RateKind.Fast => "fast", _ => "hz" },
        ["hz"] = r.Hz,
    };

    private static string Word(LedPattern p) => p switch
    {
        LedPattern.Off => "off", LedPattern.Solid => "solid", LedPattern.Blinking => "blinking", _ => "sequence",
    };
}
