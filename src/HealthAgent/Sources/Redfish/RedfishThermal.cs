using System.Text.Json;
using HealthAgent.Model;

namespace HealthAgent.Sources.Redfish;

// Thermal and sensors: ThermalSubsystem (Fans, ThermalMetrics), the chassis' Sensors collection (temperature, fan,
// voltage, power, current … with Thresholds) and the deprecated Chassis.Thermal (Temperatures[], Fans[]).

public static partial class RedfishParser
{
    /// <summary>An element of the deprecated Thermal.Temperatures[] (ReadingCelsius, Upper/LowerThreshold{NonCritical,Critical,Fatal}).</summary>
    public static Observation LegacyTemperature(string endpoint, string[] chassisId, string path, JsonElement j)
    {
        var id = MemberOf(chassisId, path, j);
        var r = new Readings(j).Status().Number("readingCelsius", "Cel", "ReadingCelsius")
            .Number("upperCaution", "Cel", "UpperThresholdNonCritical").Number("upperCritical", "Cel", "UpperThresholdCritical")
            .Number("upperFatal", "Cel", "UpperThresholdFatal").Number("lowerCaution", "Cel", "LowerThresholdNonCritical")
            .Number("lowerCritical", "Cel", "LowerThresholdCritical").Number("lowerFatal", "Cel", "LowerThresholdFatal").SaneThresholds().Where(path);
        return new Observation(TempRef(endpoint, chassisId, id, j), r.List);
    }

    /// <summary>A Sensor with ReadingType Temperature (ThermalMetrics → DataSourceUri, or the chassis' Sensors): Reading and Thresholds.*.Reading.</summary>
    public static Observation SensorTemperature(string endpoint, string[] chassisId, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var r = Thresholds(new Readings(j).Status().Number("readingCelsius", "Cel", "Reading"), "Cel").SaneThresholds().Where(path);
        return new Observation(TempRef(endpoint, chassisId, id, j), r.List);
    }

    private static Readings Thresholds(Readings r, string? unit) =>
        r.Number("upperCaution", unit, "Thresholds", "UpperCaution", "Reading").Number("upperCritical", unit, "Thresholds", "UpperCritical", "Reading")
         .Number("upperFatal", unit, "Thresholds", "UpperFatal", "Reading").Number("lowerCaution", unit, "Thresholds", "LowerCaution", "Reading")
         .Number("lowerCritical", unit, "Thresholds", "LowerCritical", "Reading").Number("lowerFatal", unit, "Thresholds", "LowerFatal", "Reading");

    private static ComponentRef TempRef(string endpoint, string[] chassisId, string[] id, JsonElement j) =>
        new(Id(endpoint, "temp", id), "temperature", Str(j, "Name") ?? id[^1], Id(endpoint, "chassis", chassisId), null, "redfish.temperature");

    /// <summary>The id of an array member of a deprecated resource (…/Thermal#/Fans/0): its MemberId, scoped by chassis.</summary>
    private static string[] MemberOf(string[] chassisId, string path, JsonElement j) =>
        path.Contains('#', StringComparison.Ordinal) ? [.. chassisId, Str(j, "MemberId") ?? LastSegment(path)] : ScopedId(path);

    /// <summary>An element of the deprecated Thermal.Fans[] (Reading + ReadingUnits RPM|Percent, LowerThreshold*).</summary>
    public static Observation LegacyFan(string endpoint, string[] chassisId, string path, JsonElement j)
    {
        var id = MemberOf(chassisId, path, j);
        var r = new Readings(j).Status().Number("reading", Str(j, "ReadingUnits") is "Percent" ? "%" : "rpm", "Reading")
            .Text("units", "ReadingUnits").Number("lowerCaution", null, "LowerThresholdNonCritical")
            .Number("lowerCritical", null, "LowerThresholdCritical").Number("lowerFatal", null, "LowerThresholdFatal").SaneThresholds().Where(path);
        return new Observation(FanRef(endpoint, chassisId, id, Str(j, "FanName") ?? Str(j, "Name")), r.List);
    }

    /// <summary>ThermalSubsystem/Fans/{id} (Fan schema: SpeedPercent.Reading / SpeedRPM, Status) with thresholds from its speed sensor when linked.</summary>
    public static Observation Fan(string endpoint, string[] chassisId, string path, JsonElement j, JsonElement? sensor)
    {
        var id = ScopedId(path);
        var r = new Readings(j).Status();
        var rpm = Num(j, "SpeedPercent", "SpeedRPM");
        var pct = Num(j, "SpeedPercent", "Reading");
        // Thresholds on the sensor are in the sensor's unit; use the reading of that unit.
        var sensorUnits = sensor is { } s0 ? Str(s0, "ReadingUnits") : null;
        var useRpm = sensorUnits is "RPM" || (sensorUnits is null && pct is null && rpm is not null);
        r.Value("reading", useRpm ? rpm : pct, useRpm ? Missing(j, ["SpeedPercent", "SpeedRPM"]) : Missing(j, ["SpeedPercent", "Reading"]), useRpm ? "rpm" : "%");
        r.Value("units", useRpm ? "RPM" : "Percent");
        if (sensor is { } s)
        {
            var sr = new Readings(s).Number("lowerCaution", null, "Thresholds", "LowerCaution", "Reading")
                .Number("lowerCritical", null, "Thresholds", "LowerCritical", "Reading").Number("lowerFatal", null, "Thresholds", "LowerFatal", "Reading").SaneThresholds();
            r.List.AddRange(sr.List);
        }
        else
        {
            r.Value("lowerCaution", null, "no speed sensor linked").Value("lowerCritical", null, "no speed sensor linked").Value("lowerFatal", null, "no speed sensor linked");
        }
        r.Where(path);
        return new Observation(FanRef(endpoint, chassisId, id, Str(j, "Name")), r.List);
    }

    /// <summary>A fan-speed Sensor of a chassis that lists no Fan resources (sensor-only chassis): a fan with its thresholds.</summary>
    public static Observation SensorFan(string endpoint, string[] chassisId, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var rpm = Str(j, "ReadingUnits") is "RPM" or "{rev}/min" || Str(j, "ReadingType") is "Rotational";
        var r = new Readings(j).Status().Number("reading", rpm ? "rpm" : "%", "Reading").Value("units", rpm ? "RPM" : "Percent")
            .Number("lowerCaution", null, "Thresholds", "LowerCaution", "Reading").Number("lowerCritical", null, "Thresholds", "LowerCritical", "Reading")
            .Number("lowerFatal", null, "Thresholds", "LowerFatal", "Reading").SaneThresholds().Where(path);
        return new Observation(FanRef(endpoint, chassisId, id, Str(j, "Name")), r.List);
    }

    private static ComponentRef FanRef(string endpoint, string[] chassisId, string[] id, string? name) =>
        new(Id(endpoint, "fan", id), "fan", name ?? id[^1], Id(endpoint, "chassis", chassisId), null, "redfish.fan");

    /// <summary>What a Sensor measures: Temperature, Fan, or another ReadingType (Voltage, Power, Current, …); null for energy counters.</summary>
    public static string? SensorKind(JsonElement j)
    {
        var type = Str(j, "ReadingType");
        var units = Str(j, "ReadingUnits");
        if (type is "Temperature" || units is "Cel") return "Temperature";
        if (type is "Rotational" || units is "RPM" || (type is "Percent" && Str(j, "PhysicalContext") is "Fan")) return "Fan";
        // Energy counters only grow; they have no health of their own.
        if (type is "EnergykWh" or "EnergyJoules" or "EnergyWh") return null;
        return type ?? units ?? "Sensor";
    }

    /// <summary>Any other Sensor (Voltage, Power, Current, Frequency, Humidity, LiquidFlow …): Reading against its Thresholds, and Status.</summary>
    public static Observation Sensor(string endpoint, string[] chassisId, string path, JsonElement j)
    {
        var id = ScopedId(path);
        var unit = Str(j, "ReadingUnits");
        var r = Thresholds(new Readings(j).Status().Number("reading", unit, "Reading").Text("readingType", "ReadingType"), unit).SaneThresholds().Where(path);
        var hwType = Str(j, "ReadingType") is "Voltage" ? "voltage" : "enclosure";
        var c = new ComponentRef(Id(endpoint, "sensor", id), hwType, Str(j, "Name") ?? id[^1], Id(endpoint, "chassis", chassisId), null, "redfish.sensor");
        return new Observation(c, r.List);
    }
}

public sealed partial class RedfishSource
{
    private static readonly string[] SensorType = ["Sensor"];

    private async Task WalkThermalAsync(Walk w, JsonElement ch, string[] chassisId)
    {
        var ep = w.E.Name;
        var sensorsPath = RedfishParser.Link(ch, "Sensors");
        // With $expand, the chassis' Sensors collection with every sensor inline replaces one GET per fan speed sensor,
        // per temperature and per sensor of the collection (all are Sensor resources).
        var sensorsInline = w.ExpandQuery is not null && sensorsPath is not null ? w.Expanded(sensorsPath) : Task.FromResult<JsonElement?>(null);
        var fans = 0;
        if (RedfishParser.Link(ch, "ThermalSubsystem") is { } subPath)
        {
            if (await w.GetWithSubordinates(subPath, ["ThermalSubsystem"]).ConfigureAwait(false) is { } sub)
            {
                var fanPaths = await w.MembersOf(RedfishParser.Link(sub, "Fans")).ConfigureAwait(false);
                fans = fanPaths.Count;
                var fanTasks = fanPaths.Select(async fp =>
                {
                    if (!w.Claim(fp)) return;
                    var stub = RedfishParser.Fan(ep, chassisId, fp, Empty, null).Component;
                    if (await w.Get(fp, stub, ["Fan"]).ConfigureAwait(false) is not { } fan) return;
                    var sensorPath = RedfishParser.Str(fan, "SpeedPercent", "DataSourceUri");
                    await sensorsInline.ConfigureAwait(false);
                    // The fan's speed sensor belongs to the fan: claimed, so the Sensors collection does not list it again.
                    var sensor = sensorPath is not null && w.Claim(sensorPath) ? await w.Get(sensorPath, null, SensorType).ConfigureAwait(false) : null;
                    var o = RedfishParser.Fan(ep, chassisId, fp, fan, sensor);
                    w.Add(o);
                    w.Read(fp, new Reader([o.Component], j => [RedfishParser.Fan(ep, chassisId, fp, j, sensor)]));
                });
                var temps = Task.Run(async () =>
                {
                    if (await w.Get(RedfishParser.Link(sub, "ThermalMetrics"), null, ["ThermalMetrics"]).ConfigureAwait(false) is not { } metrics) return;
                    if (!metrics.TryGetProperty("TemperatureReadingsCelsius", out var arr) || arr.ValueKind != JsonValueKind.Array) return;
                    await sensorsInline.ConfigureAwait(false);
                    await Task.WhenAll(arr.EnumerateArray().Select(x => RedfishParser.Str(x, "DataSourceUri")).OfType<string>().Distinct().Select(async sp =>
                    {
                        await w.Component(sp, j => RedfishParser.SensorTemperature(ep, chassisId, sp, j), SensorType).ConfigureAwait(false);
                    })).ConfigureAwait(false);
                });
                await Task.WhenAll(fanTasks.Append(temps)).ConfigureAwait(false);
            }
        }
        else if (RedfishParser.Link(ch, "Thermal") is { } thermalPath && await w.Get(thermalPath, null, ["Thermal"]).ConfigureAwait(false) is { } thermal)
        {
            // Temperatures come from the Sensors collection when the chassis has one (the same sensors, newer schema),
            // so that one sensor is never two components.
            var withTemps = sensorsPath is null;
            IReadOnlyList<Observation> Parse(JsonElement t)
            {
                var list = new List<Observation>();
                var ids = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (array, make) in new (string, Func<string, string[], string, JsonElement, Observation>)[]
                         { ("Temperatures", RedfishParser.LegacyTemperature), ("Fans", RedfishParser.LegacyFan) })
                {
                    if (array == "Temperatures" && !withTemps) continue;
                    if (!t.TryGetProperty(array, out var arr) || arr.ValueKind != JsonValueKind.Array) continue;
                    var i = 0;
                    foreach (var x in arr.EnumerateArray())
                    {
                        var path = RedfishParser.Link(x) ?? $"{thermalPath}#/{array}/{i}";
                        i++;
                        if (x.ValueKind != JsonValueKind.Object) continue;
                        var o = make(ep, chassisId, path, x);
                        if (ids.Add(o.Component.Id)) list.Add(o);
                    }
                }
                return list;
            }
            var obs = Parse(thermal);
            fans = obs.Count(o => o.Component.HwType == "fan");
            w.Add(obs);
            w.Read(thermalPath, new Reader(obs.Select(o => o.Component).ToList(), Parse));
        }
        await sensorsInline.ConfigureAwait(false);
        if (sensorsPath is not null) await WalkSensorsAsync(w, sensorsPath, chassisId, fans > 0).ConfigureAwait(false);
    }

    /// <summary>
    /// The chassis' Sensors collection (Sensor schema), after the fans and ThermalMetrics claimed theirs: temperatures,
    /// fan speeds (only when the chassis lists no Fan resources — else they are those fans' own sensors), and every
    /// other reading with Status or Thresholds (voltage, power, current …). Energy counters are not health.
    /// </summary>
    private async Task WalkSensorsAsync(Walk w, string sensorsPath, string[] chassisId, bool hasFans)
    {
        var ep = w.E.Name;
        await Task.WhenAll((await w.MembersOf(sensorsPath).ConfigureAwait(false)).Select(async sp =>
        {
            if (!w.Claim(sp)) return;
            if (await w.Get(sp, RedfishParser.Sensor(ep, chassisId, sp, Empty).Component, SensorType).ConfigureAwait(false) is not { } j) return;
            Func<JsonElement, Observation>? parse = RedfishParser.SensorKind(j) switch
            {
                "Temperature" => x => RedfishParser.SensorTemperature(ep, chassisId, sp, x),
                "Fan" when !hasFans => x => RedfishParser.SensorFan(ep, chassisId, sp, x),
                "Fan" or null => null,
                _ => x => RedfishParser.Sensor(ep, chassisId, sp, x),
            };
            if (parse is null) return;
            var o = parse(j);
            w.Add(o);
            w.Read(sp, new Reader([o.Component], x => [parse(x)]));
        })).ConfigureAwait(false);
    }
}
