using System.Globalization;
using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Smart;

/// <summary>One device from <c>smartctl --scan-open --json</c>: name, -d type (sat, nvme, megaraid,N, sat+megaraid,N) and any open error.</summary>
public sealed record SmartDevice(string Name, string? Type, string? Protocol = null, string? OpenError = null)
{
    /// <summary>Stable component id: "smart:sda", "smart:bus-0-megaraid-0", "smart:sda-sat-megaraid-3".</summary>
    public string Id => "smart:" + SmartParser.Slug(Name.StartsWith("/dev/", StringComparison.Ordinal) ? Name[5..] : Name)
        + (Type is { } t && t.Contains(',') ? "-" + SmartParser.Slug(t) : "");
}

/// <summary>One device's report: readings, or why there are none.</summary>
/// <param name="Standby">The disk was asleep and smartctl did not wake it (--nocheck=standby, exit bit 1).</param>
/// <param name="Fatal">Set when the output has no usable data (not JSON, device open failed, command line rejected).</param>
public sealed record SmartReport(int ExitStatus, bool Standby, string? Fatal, string? Model, string? Serial, IReadOnlyList<Reading> Readings, IReadOnlyList<string> Messages);

/// <summary>Pure parsing of smartctl's JSON output (smartmontools ≥ 7, <c>--json</c>); no I/O.</summary>
public static class SmartParser
{
    // smartctl(8) EXIT STATUS is a bitmask.
    public const int BitCommandLine = 1 << 0;   // command line did not parse
    public const int BitOpenFailed = 1 << 1;    // device open failed, or (with --nocheck) the device is in a low-power mode
    public const int BitCommandFailed = 1 << 2; // some SMART or other ATA command failed, or a checksum error in a SMART data structure
    public const int BitFailing = 1 << 3;       // SMART status check returned "DISK FAILING"
    public const int BitPrefailNow = 1 << 4;    // prefail attributes <= threshold
    public const int BitUsageOrPrefailPast = 1 << 5; // usage or prefail attributes were <= threshold in the past
    public const int BitErrorLog = 1 << 6;      // the device error log contains records of errors
    public const int BitSelfTestLog = 1 << 7;   // the self-test log contains records of errors

    /// <summary>Parses --scan-open output. A device with open_error is kept (reported as an error by the source).</summary>
    public static (List<SmartDevice> Devices, string? Error) ParseScan(string stdout)
    {
        var devices = new List<SmartDevice>();
        try
        {
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (devices, "smartctl --scan-open output is not a JSON object");
            if (VersionError(root) is { } ve) return (devices, ve);
            if (root.TryGetProperty("devices", out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var d in list.EnumerateArray())
                    if (Str(d, "name") is { } name)
                        devices.Add(new SmartDevice(name, Str(d, "type"), Str(d, "protocol"), Str(d, "open_error")));
            return (devices, null);
        }
        catch (InvalidOperationException e) { return (devices, "smartctl --scan-open output has an unexpected shape: " + e.Message); }
        catch (JsonException e) { return (devices, "smartctl --scan-open output is not JSON (smartmontools ≥ 7 is needed): " + e.Message); }
    }

    private static string? VersionError(JsonElement root) =>
        root.TryGetProperty("smartctl", out var sc) && sc.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.Array
            && v.GetArrayLength() > 0 && v[0].TryGetInt32(out var major) && major < 7
            ? $"smartctl {major}.x is too old: smartmontools ≥ 7 is needed for --json" : null;

    /// <summary>
    /// Parses one device's output. Emits (README lists them): passed, failing, prefailNow, prefailPast, errorLogErrors,
    /// selfTestErrors, failedAttributes, temperature, powerOnHours, reallocatedSectors, pendingSectors,
    /// offlineUncorrectable, nvmeCriticalWarning (+ nvmeSpareLow, nvmeTemperatureWarning, nvmeReliabilityDegraded,
    /// nvmeReadOnly, nvmeVolatileBackupFailed), availableSpare, availableSpareThreshold, percentageUsed, mediaErrors,
    /// exitStatus, standby.
    /// </summary>
    public static SmartReport ParseDevice(string stdout, int processExitCode)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stdout); }
        catch (JsonException)
        {
            return new SmartReport(processExitCode, false, $"smartctl output is not JSON (exit status {processExitCode}): '{Short(stdout)}'", null, null, [], []);
        }
        using (doc)
        {
            // A JSON value of an unexpected kind (e.g. "smart_status": 1) makes JsonElement throw: report it, never crash.
            try { return ParseRoot(doc.RootElement, processExitCode); }
            catch (InvalidOperationException e) { return new SmartReport(processExitCode, false, "smartctl output has an unexpected shape: " + e.Message, null, null, [], []); }
        }
    }

    private static SmartReport ParseRoot(JsonElement root, int processExitCode)
    {
        {
            if (root.ValueKind != JsonValueKind.Object)
                return new SmartReport(processExitCode, false, "smartctl output is not a JSON object", null, null, [], []);
            var exit = processExitCode;
            var messages = new List<string>();
            if (root.TryGetProperty("smartctl", out var sc))
            {
                if (sc.TryGetProperty("exit_status", out var es) && es.TryGetInt32(out var e)) exit = e;
                if (sc.TryGetProperty("messages", out var ms) && ms.ValueKind == JsonValueKind.Array)
                    foreach (var m in ms.EnumerateArray())
                        if (Str(m, "string") is { } text) messages.Add(text);
            }
            var model = Str(root, "model_name") ?? Str(root, "scsi_model_name");
            var serial = Str(root, "serial_number");
            if (VersionError(root) is { } ve) return new SmartReport(exit, false, ve, model, serial, [], messages);
            if ((exit & BitCommandLine) != 0)
                return new SmartReport(exit, false, "smartctl rejected its command line: " + Join(messages), model, serial, [], messages);
            if ((exit & BitOpenFailed) != 0)
            {
                // With --nocheck=standby smartctl exits with bit 1 and "Device is in STANDBY mode, exit(2)": asleep, not woken.
                var standby = messages.Any(m => m.Contains("STANDBY", StringComparison.OrdinalIgnoreCase) || m.Contains("SLEEP", StringComparison.OrdinalIgnoreCase)
                    || m.Contains("IDLE", StringComparison.OrdinalIgnoreCase) || m.Contains("low-power", StringComparison.OrdinalIgnoreCase));
                if (standby) return new SmartReport(exit, true, null, model, serial, [new Reading("standby", true), new Reading("exitStatus", (double)exit)], messages);
                return new SmartReport(exit, false, "device open failed: " + Join(messages), model, serial, [], messages);
            }

            var r = new List<Reading>(24);
            bool? passed = root.TryGetProperty("smart_status", out var ss) && ss.TryGetProperty("passed", out var p) && p.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? p.GetBoolean() : null;
            r.Add(passed is { } pv ? new Reading("passed", pv) : Reading.Unknown("passed", "smartctl reported no SMART health status"));
            r.Add(new Reading("failing", passed == false || (exit & BitFailing) != 0));

            var failedNow = new List<string>();
            var failedPast = false;
            if (root.TryGetProperty("ata_smart_attributes", out var attrs) && attrs.TryGetProperty("table", out var table) && table.ValueKind == JsonValueKind.Array)
            {
                foreach (var a in table.EnumerateArray())
                {
                    var when = Str(a, "when_failed");
                    if (when == "now") failedNow.Add($"{Str(a, "name") ?? "?"}({Int(a, "id")?.ToString(CultureInfo.InvariantCulture) ?? "?"})");
                    else if (when == "past") failedPast = true;
                    var raw = a.TryGetProperty("raw", out var rw) ? Int64(rw, "value") : null;
                    switch (Int(a, "id"))
                    {
                        case 5 when raw is { } v5: r.Add(new Reading("reallocatedSectors", (double)v5)); break;
                        case 197 when raw is { } v197: r.Add(new Reading("pendingSectors", (double)v197)); break;
                        case 198 when raw is { } v198: r.Add(new Reading("offlineUncorrectable", (double)v198)); break;
                    }
                }
            }
            r.Add(new Reading("prefailNow", (exit & BitPrefailNow) != 0 || failedNow.Count > 0));
            if (failedNow.Count > 0) r.Add(new Reading("failedAttributes", string.Join(", ", failedNow)));
            r.Add(new Reading("prefailPast", (exit & BitUsageOrPrefailPast) != 0 || failedPast));
            r.Add(new Reading("errorLogErrors", (exit & BitErrorLog) != 0));
            r.Add(new Reading("selfTestErrors", (exit & BitSelfTestLog) != 0));

            if (root.TryGetProperty("nvme_smart_health_information_log", out var nv) && nv.ValueKind == JsonValueKind.Object)
            {
                if (Int(nv, "critical_warning") is { } cw)
                {
                    // NVMe base spec, SMART / Health log byte 0: bit0 spare below threshold, bit1 temperature, bit2 reliability
                    // degraded, bit3 media read-only, bit4 volatile memory backup failed.
                    r.Add(new Reading("nvmeCriticalWarning", (double)cw));
                    r.Add(new Reading("nvmeSpareLow", (cw & 1) != 0));
                    r.Add(new Reading("nvmeTemperatureWarning", (cw & 2) != 0));
                    r.Add(new Reading("nvmeReliabilityDegraded", (cw & 4) != 0));
                    r.Add(new Reading("nvmeReadOnly", (cw & 8) != 0));
                    r.Add(new Reading("nvmeVolatileBackupFailed", (cw & 16) != 0));
                }
                if (Int(nv, "available_spare") is { } sp) r.Add(new Reading("availableSpare", (double)sp, "%"));
                if (Int(nv, "available_spare_threshold") is { } spt) r.Add(new Reading("availableSpareThreshold", (double)spt, "%"));
                if (Int(nv, "percentage_used") is { } pu) r.Add(new Reading("percentageUsed", (double)pu, "%"));
                if (Int64(nv, "media_errors") is { } me) r.Add(new Reading("mediaErrors", (double)me));
            }
            if (root.TryGetProperty("temperature", out var t) && Int(t, "current") is { } tc) r.Add(new Reading("temperature", (double)tc, "°C"));
            if (root.TryGetProperty("power_on_time", out var pot) && Int64(pot, "hours") is { } h) r.Add(new Reading("powerOnHours", (double)h, "h"));
            r.Add(new Reading("standby", false));
            r.Add(new Reading("exitStatus", (double)exit));
            if ((exit & BitCommandFailed) != 0) messages.Insert(0, "smartctl: some command failed or a SMART structure had a checksum error (exit bit 2); readings may be partial");
            return new SmartReport(exit, false, null, model, serial, r, messages);
        }
    }

    /// <summary>Lower-case letters and digits; runs of anything else become one '-'.</summary>
    public static string Slug(string s)
    {
        var b = new System.Text.StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (char.IsAsciiLetterOrDigit(c)) b.Append(char.ToLowerInvariant(c));
            else if (b.Length > 0 && b[^1] != '-') b.Append('-');
        }
        return b.ToString().Trim('-');
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static long? Int64(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i) ? i : null;

    private static string Join(List<string> messages) => messages.Count == 0 ? "(smartctl gave no message)" : string.Join("; ", messages);

    private static string Short(string s)
    {
        var t = s.Trim().Replace('\n', ' ');
        return t.Length <= 80 ? t : t[..80] + "…";
    }
}
