using System.Buffers.Text;
using System.Globalization;
using System.Text;
using HealthAgent.Model;

namespace HealthAgent.Sources.Hwmon;

/// <summary>hwmon channel types we read (Documentation/hwmon/sysfs-interface.rst).</summary>
public enum SensorKind { Temperature, Fan, Voltage, Power, Current }

/// <summary>What one channel type means: file prefix, scale to SI, unit, OpenTelemetry hw.type and derivation table.</summary>
public sealed record SensorKindInfo(SensorKind Kind, string Prefix, double Divisor, string Unit, string HwType, string Derivation);

/// <summary>Pure parsing of hwmon attribute names and values; no I/O.</summary>
public static class HwmonParser
{
    // Documentation/hwmon/sysfs-interface.rst: temp in m°C, fan in rpm, in (voltage) in mV, power in µW, curr in mA.
    // OpenTelemetry has no hw.type for power or current meters: they are published as "enclosure" sensors (README).
    public static readonly IReadOnlyList<SensorKindInfo> Kinds =
    [
        new(SensorKind.Temperature, "temp", 1000, "°C", "temperature", "sensor.temperature"),
        new(SensorKind.Fan, "fan", 1, "rpm", "fan", "sensor.fan"),
        new(SensorKind.Voltage, "in", 1000, "V", "voltage", "sensor.voltage"),
        new(SensorKind.Power, "power", 1_000_000, "W", "enclosure", "sensor.power"),
        new(SensorKind.Current, "curr", 1000, "A", "enclosure", "sensor.current"),
    ];

    public static SensorKindInfo Info(SensorKind k) => Kinds[(int)k];

    /// <summary>Limit attributes and the reading each becomes; all in the channel's unit.</summary>
    public static readonly IReadOnlyList<(string Item, string Reading)> Limits =
        [("max", "max"), ("crit", "crit"), ("min", "min"), ("lcrit", "lcrit")];

    /// <summary>Alarm attributes folded into three boolean readings.</summary>
    public static readonly IReadOnlyList<(string Item, string Reading)> Alarms =
    [
        ("alarm", "alarm"),
        ("crit_alarm", "critAlarm"), ("lcrit_alarm", "critAlarm"), ("emergency_alarm", "critAlarm"),
        ("max_alarm", "limitAlarm"), ("min_alarm", "limitAlarm"),
    ];

    /// <summary>Splits "temp1_input" into (Temperature, 1, "input"). False for anything else (name, uevent, pwm1, …).</summary>
    public static bool TryParseAttribute(string fileName, out SensorKind kind, out int index, out string item)
    {
        kind = default; index = 0; item = "";
        foreach (var k in Kinds)
        {
            if (!fileName.StartsWith(k.Prefix, StringComparison.Ordinal)) continue;
            var rest = fileName.AsSpan(k.Prefix.Length);
            var digits = 0;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits])) digits++;
            if (digits == 0 || digits >= rest.Length - 1 || rest[digits] != '_') continue;
            if (!int.TryParse(rest[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out index)) continue;
            kind = k.Kind;
            item = rest[(digits + 1)..].ToString();
            return true;
        }
        return false;
    }

    /// <summary>A measurement or limit in SI units, or why it is unknown. Never zero for garbage or empty text.</summary>
    public static (double? Value, string? Reason) ParseValue(SensorKind kind, string? text)
    {
        if (text is null) return (null, "not read");
        var t = text.AsSpan().Trim();
        if (t.IsEmpty) return (null, "empty file");
        if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var raw))
            return (null, $"not a number: '{Shorten(text)}'");
        return (raw / Info(kind).Divisor, null);
    }

    /// <summary>The same from a file's bytes, without allocating unless the text is bad.</summary>
    public static (double? Value, string? Reason) ParseValue(SensorKind kind, ReadOnlySpan<byte> text)
    {
        var t = text.Trim(" \t\r\n"u8);
        if (t.IsEmpty) return (null, "empty file");
        if (!Utf8Parser.TryParse(t, out long raw, out var used) || used != t.Length)
            return (null, $"not a number: '{Shorten(Encoding.UTF8.GetString(t[..Math.Min(t.Length, 64)]))}'");
        return (raw / Info(kind).Divisor, null);
    }

    /// <summary>"0"/"1" flags from a file's bytes.</summary>
    public static (bool? Value, string? Reason) ParseFlag(ReadOnlySpan<byte> text)
    {
        var t = text.Trim(" \t\r\n"u8);
        if (t.SequenceEqual("0"u8)) return (false, null);
        if (t.SequenceEqual("1"u8)) return (true, null);
        return (null, t.IsEmpty ? "empty file" : $"not 0 or 1: '{Shorten(Encoding.UTF8.GetString(t[..Math.Min(t.Length, 64)]))}'");
    }

    /// <summary>"0"/"1" flags (alarm, fault, enable).</summary>
    public static (bool? Value, string? Reason) ParseFlag(string? text)
    {
        var t = text.AsSpan().Trim();
        if (t.SequenceEqual("0")) return (false, null);
        if (t.SequenceEqual("1")) return (true, null);
        return (null, t.IsEmpty ? "empty file" : $"not 0 or 1: '{Shorten(text!)}'");
    }

    /// <summary>Channel name as the kernel spells it: "temp1", "in0".</summary>
    public static string ChannelName(SensorKind kind, int index) => Info(kind).Prefix + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>Component id "hwmon:&lt;chip&gt;:&lt;channel&gt;"; the chip part is made safe for MQTT topics.</summary>
    public static string ComponentId(string chipId, SensorKind kind, int index) => $"hwmon:{Safe(chipId)}:{ChannelName(kind, index)}";

    /// <summary>Keeps letters, digits, '.', '-' and '_'; anything else becomes '_'.</summary>
    public static string Safe(string s)
    {
        Span<char> buf = s.Length <= 128 ? stackalloc char[s.Length] : new char[s.Length];
        for (var i = 0; i < s.Length; i++) buf[i] = char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '-' or '_' ? s[i] : '_';
        return new string(buf);
    }

    /// <summary>Reading for one limit file's text: a value in the channel's unit, or unknown with the reason.</summary>
    public static Reading LimitReading(SensorKind kind, string name, string? text, string? readError)
    {
        if (readError is not null) return Reading.Unknown(name, readError, Info(kind).Unit);
        var (v, why) = ParseValue(kind, text);
        return v is { } d ? new Reading(name, d, Info(kind).Unit) : Reading.Unknown(name, why!, Info(kind).Unit);
    }

    /// <summary>Folds several alarm flags into one: true if any is set, false if all readable ones are clear, unknown otherwise.</summary>
    public static bool? FoldAlarm(bool? current, bool? next) =>
        current == true || next == true ? true : current is null && next is null ? null : false;

    internal static string Shorten(string s) => s.Length <= 40 ? s.Trim() : s[..40].Trim() + "…";
}
