using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Sources.FrontPanel;

/// <summary>A message from the front-panel controller (or, for <see cref="PanelSync"/>, to it).</summary>
public abstract record PanelMessage;

/// <summary><c>LED &lt;family&gt; &lt;index&gt; &lt;state&gt;</c>: what one indicator shows now.</summary>
public sealed record PanelLed(string Family, string Index, IndicatorState State) : PanelMessage;

/// <summary><c>HB &lt;seq&gt;</c>: the controller is alive.</summary>
public sealed record PanelHeartbeat(long Seq) : PanelMessage;

/// <summary><c>SYNC</c>: host → panel, "send every LED line now".</summary>
public sealed record PanelSync : PanelMessage;

/// <summary>Why a line was dropped.</summary>
public enum PanelLineError { BadChecksum, Malformed, UnknownFamily, BadState }

/// <summary>The outcome of parsing one line: a message, or an error with the reason.</summary>
public sealed record PanelParse(PanelMessage? Message, PanelLineError? Error, string? Detail)
{
    public static PanelParse Fail(PanelLineError e, string detail) => new(null, e, detail);
}

/// <summary>
/// The front-panel line protocol (README.md in this folder), pure: no I/O.
/// <code>
/// line     = payload "*" checksum "\n"        ; "\r" before "\n" is ignored
/// payload  = "LED" SP family SP index SP state  |  "HB" SP seq  |  "SYNC"
/// checksum = 2 hex digits, XOR of every byte of payload (as NMEA 0183)
/// </code>
/// </summary>
public static partial class FrontPanelParser
{
    /// <summary>Lines longer than this are dropped whole (a stuck or babbling controller must not grow memory).</summary>
    public const int MaxLineLength = 200;

    /// <summary>XOR of the payload's bytes, the checksum every line carries.</summary>
    public static byte Checksum(string payload)
    {
        byte cs = 0;
        foreach (var ch in payload) cs ^= (byte)ch;
        return cs;
    }

    /// <summary>A complete line for a payload: <c>payload*CS\n</c>.</summary>
    public static string Frame(string payload) =>
        payload + "*" + Checksum(payload).ToString("X2", CultureInfo.InvariantCulture) + "\n";

    public static string FormatLed(string family, string index, IndicatorState state) => Frame($"LED {family} {index} {state}");
    public static string FormatHeartbeat(long seq) => Frame("HB " + seq.ToString(CultureInfo.InvariantCulture));
    public static readonly string SyncLine = Frame("SYNC");

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,16}$")]
    private static partial Regex IndexPattern();

    /// <summary>Parses one line (without its newline). LED state words are read with <see cref="LedText.ParseIndicator"/> for the family's LEDs.</summary>
    public static PanelParse Parse(string line, RuleSet rules)
    {
        var star = line.LastIndexOf('*');
        if (star < 0 || star != line.Length - 3) return PanelParse.Fail(PanelLineError.Malformed, "no '*XX' checksum at the end");
        var payload = line[..star];
        if (!byte.TryParse(line.AsSpan(star + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cs))
            return PanelParse.Fail(PanelLineError.Malformed, $"checksum '{line[(star + 1)..]}' is not two hex digits");
        var want = Checksum(payload);
        if (cs != want) return PanelParse.Fail(PanelLineError.BadChecksum, $"checksum {cs:X2}, payload gives {want:X2}");

        var parts = payload.Split(' ', 4, StringSplitOptions.None);
        switch (parts[0])
        {
            case "HB":
                if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
                    return new PanelParse(new PanelHeartbeat(seq), null, null);
                return PanelParse.Fail(PanelLineError.Malformed, "HB needs one decimal sequence number");
            case "SYNC":
                return parts.Length == 1 ? new PanelParse(new PanelSync(), null, null) : PanelParse.Fail(PanelLineError.Malformed, "SYNC takes no arguments");
            case "LED":
                if (parts.Length != 4 || parts[3].Trim().Length == 0) return PanelParse.Fail(PanelLineError.Malformed, "LED needs a family, an index and a state");
                var family = rules.FindFamily(parts[1]);
                if (family is null) return PanelParse.Fail(PanelLineError.UnknownFamily, $"unknown indicator family '{parts[1]}'");
                if (!IndexPattern().IsMatch(parts[2])) return PanelParse.Fail(PanelLineError.Malformed, $"index '{parts[2]}' must be 1–16 of A-Z a-z 0-9 _ . -");
                try
                {
                    return new PanelParse(new PanelLed(family.Name, parts[2], LedText.ParseIndicator(parts[3], family.Leds)), null, null);
                }
                catch (LedTextException e)
                {
                    return PanelParse.Fail(PanelLineError.BadState, $"{family.Name} {parts[2]}: {e.Message}");
                }
            default:
                return PanelParse.Fail(PanelLineError.Malformed, $"unknown message '{(parts[0].Length > 16 ? parts[0][..16] + "…" : parts[0])}'");
        }
    }
}

/// <summary>
/// Cuts a byte stream into lines: keeps printable ASCII, drops other bytes (line noise, a baud mismatch) and
/// counts them, drops lines over <see cref="FrontPanelParser.MaxLineLength"/>, and keeps a half line until the
/// rest arrives. Not thread-safe; one reader owns it.
/// </summary>
public sealed class LineFramer
{
    private readonly StringBuilder _line = new();
    private bool _overlong;

    public long NoiseBytes { get; private set; }
    public long OverlongLines { get; private set; }

    /// <summary>Feeds bytes and returns the complete lines they finish.</summary>
    public List<string> Feed(ReadOnlySpan<byte> data)
    {
        var lines = new List<string>();
        foreach (var b in data)
        {
            if (b == (byte)'\n')
            {
                if (_overlong) OverlongLines++;
                else if (_line.Length > 0) lines.Add(_line.ToString());
                _line.Clear();
                _overlong = false;
            }
            else if (b == (byte)'\r') { }
            else if (b < 0x20 || b > 0x7E) NoiseBytes++;
            else if (_overlong) { }
            else if (_line.Length >= FrontPanelParser.MaxLineLength) { _overlong = true; _line.Clear(); }
            else _line.Append((char)b);
        }
        return lines;
    }

    /// <summary>Forgets a half line (after a reconnect its rest will never come).</summary>
    public void Reset()
    {
        _line.Clear();
        _overlong = false;
    }
}
