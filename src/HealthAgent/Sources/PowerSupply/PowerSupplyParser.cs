using System.Globalization;
using HealthAgent.Model;

namespace HealthAgent.Sources.PowerSupply;

/// <summary>What kind of power_supply a device is: an adapter feeding the system (Mains, USB…), or a battery/UPS.</summary>
public enum SupplyKind { Adapter, Battery, Skip }

/// <summary>Pure mapping of /sys/class/power_supply/&lt;name&gt;/ attributes (Documentation/ABI/testing/sysfs-class-power) to readings.</summary>
public static class PowerSupplyParser
{
    /// <summary>Attributes read from each device.</summary>
    public static readonly IReadOnlyList<string> Attributes = ["type", "scope", "online", "present", "status", "health", "capacity", "capacity_level", "model_name", "manufacturer"];

    /// <summary>type → kind. Mains and the USB/wireless chargers are adapters; Battery and UPS are batteries.</summary>
    public static SupplyKind KindOf(string? type, string? scope)
    {
        // scope "Device": the battery of a peripheral (wireless mouse, keyboard), not the system's power.
        if (string.Equals(scope, "Device", StringComparison.OrdinalIgnoreCase)) return SupplyKind.Skip;
        return type switch
        {
            "Battery" or "UPS" => SupplyKind.Battery,
            "Mains" or "Wireless" => SupplyKind.Adapter,
            { } t when t.StartsWith("USB", StringComparison.Ordinal) => SupplyKind.Adapter,
            _ => SupplyKind.Skip,
        };
    }

    /// <summary>
    /// Readings from the attribute texts (null = file absent; an error text = unreadable). Emits: type, online,
    /// present, status, health, capacity (%), capacityLevel; absent attributes are left out.
    /// </summary>
    public static List<Reading> Readings(IReadOnlyDictionary<string, FileRead> attrs)
    {
        var r = new List<Reading>(8);
        AddString(r, attrs, "type", "type");
        AddBool(r, attrs, "online", "online");
        AddBool(r, attrs, "present", "present");
        AddString(r, attrs, "status", "status");
        AddString(r, attrs, "health", "health");
        if (attrs.TryGetValue("capacity", out var cap))
        {
            if (cap.Error is { } e) r.Add(Reading.Unknown("capacity", e, "%"));
            else if (int.TryParse(cap.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c <= 100) r.Add(new Reading("capacity", (double)c, "%"));
            else r.Add(Reading.Unknown("capacity", $"not a percentage: '{Short(cap.Text)}'", "%"));
        }
        AddString(r, attrs, "capacity_level", "capacityLevel");
        return r;
    }

    private static void AddString(List<Reading> r, IReadOnlyDictionary<string, FileRead> attrs, string file, string name)
    {
        if (!attrs.TryGetValue(file, out var f)) return;
        if (f.Error is { } e) r.Add(Reading.Unknown(name, e));
        else if (string.IsNullOrWhiteSpace(f.Text) || f.Text.Any(char.IsControl)) r.Add(Reading.Unknown(name, $"not a word: '{Short(f.Text)}'"));
        else r.Add(new Reading(name, f.Text.Trim()));
    }

    private static void AddBool(List<Reading> r, IReadOnlyDictionary<string, FileRead> attrs, string file, string name)
    {
        if (!attrs.TryGetValue(file, out var f)) return;
        // online: 0 offline, 1 online (fixed), 2 online (programmable) — sysfs-class-power.
        if (f.Error is { } e) r.Add(Reading.Unknown(name, e));
        else if (f.Text is "0") r.Add(new Reading(name, false));
        else if (f.Text is "1" or "2") r.Add(new Reading(name, true));
        else r.Add(Reading.Unknown(name, $"not 0, 1 or 2: '{Short(f.Text)}'"));
    }

    private static string Short(string? s) => s is null ? "" : s.Length <= 40 ? s : s[..40] + "…";
}
