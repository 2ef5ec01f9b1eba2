using HealthAgent.Model;
using HealthAgent.Publishing.Otlp;

namespace HealthAgent.Tests.Publishing.Otlp;

public sealed class HwMetricsTests
{
    private static readonly ComponentRef Sensor = new("hwmon:nct6779:in1", "power_supply", "Vcore");
    private static readonly ComponentRef Psu = new("psu:1", "power_supply", "PSU 1");

    [Theory]
    [InlineData("input", 45.0, "°C", "hw.temperature", 45.0, null)]
    [InlineData("temp1_input", 45000.0, "m°C", "hw.temperature", 45.0, null)]
    [InlineData("ReadingCelsius", 30.0, "Cel", "hw.temperature", 30.0, null)]
    [InlineData("crit", 95.0, "°C", "hw.temperature.limit", 95.0, "high.critical")]
    [InlineData("tempMax", 80.0, "°C", "hw.temperature.limit", 80.0, "high.degraded")]
    [InlineData("lcrit", 5.0, "°C", "hw.temperature.limit", 5.0, "low.critical")]
    [InlineData("UpperThresholdCritical", 90.0, "Cel", "hw.temperature.limit", 90.0, "high.critical")]
    [InlineData("LowerCaution", 10.0, "Cel", "hw.temperature.limit", 10.0, "low.degraded")]
    [InlineData("fan1_input", 1200.0, "rpm", "hw.fan.speed", 1200.0, null)]
    [InlineData("fan1_min", 300.0, "RPM", "hw.fan.speed.limit", 300.0, "low.degraded")]
    [InlineData("in1_input", 1250.0, "mV", "hw.voltage", 1.25, null)]
    [InlineData("in1_max", 1.5, "V", "hw.voltage.limit", 1.5, "high.degraded")]
    [InlineData("carrier", true, null, "hw.network.up", 1.0, null)]
    [InlineData("carrier", false, null, "hw.network.up", 0.0, null)]
    [InlineData("speedMbps", 2500.0, "Mbps", "hw.network.bandwidth.limit", 312_500_000.0, null)]
    [InlineData("currentSpeedGbps", 25.0, "Gbps", "hw.network.bandwidth.limit", 3_125_000_000.0, null)]
    [InlineData("maxSpeedMbps", 10000.0, "Mbps", "hw.network.bandwidth.max", 1_250_000_000.0, null)]
    [InlineData("percentageUsed", 20.0, "%", "hw.physical_disk.endurance_utilization", 0.8, null)]
    [InlineData("PredictedMediaLifeLeftPercent", 90.0, "%", "hw.physical_disk.endurance_utilization", 0.9, null)]
    [InlineData("media_errors", 4.0, null, "hw.errors", 4.0, null)]
    [InlineData("crcErrorCount", 1.0, null, "hw.errors", 1.0, null)]
    [InlineData("lifeLeftPercent", 75.0, "%", "hw.physical_disk.endurance_utilization", 0.75, null)]
    [InlineData("reallocatedSectors", 8.0, null, "hw.physical_disk.smart", 8.0, null)]
    [InlineData("rxBytes", 1e9, "By", "hw.network.io", 1e9, null)]
    [InlineData("linkStatus", "LinkUp", null, "hw.network.up", 1.0, null)]
    [InlineData("linkStatus", "NoLink", null, "hw.network.up", 0.0, null)]
    [InlineData("capacityWatts", 750.0, "W", "hw.power_supply.limit", 750.0, "max")]
    [InlineData("readingCelsius", 41.0, "Cel", "hw.temperature", 41.0, null)]
    [InlineData("upperFatal", 100.0, "Cel", "hw.temperature.limit", 100.0, "high.critical")]
    public void Classify_KnownReading_MapsToMetricWithUnitConversion(string name, object value, string? unit, string metric, double expected, string? limitType)
    {
        var p = HwMetrics.Classify(Sensor, new Reading(name, value, unit));

        Assert.NotNull(p);
        Assert.Equal(metric, p.Value.Metric);
        Assert.Equal(expected, p.Value.Value, 6);
        Assert.Equal(limitType, p.Value.Extra.FirstOrDefault(e => e.Key == "hw.limit_type").Value as string);
    }

    [Fact]
    public void Classify_PowerCapacity_IsPowerSupplyLimitOnlyForPowerSupplies()
    {
        var reading = new Reading("powerCapacityWatts", 750.0, "W");

        var p = HwMetrics.Classify(Psu, reading);

        Assert.Equal("hw.power_supply.limit", p!.Value.Metric);
        Assert.Equal("max", p.Value.Extra.Single().Value);
        Assert.Null(HwMetrics.Classify(Sensor with { HwType = "enclosure" }, reading));
    }

    [Fact]
    public void Classify_ErrorFlag_IsNotAnErrorCount() =>
        Assert.Null(HwMetrics.Classify(Sensor, new Reading("selfTestErrors", true)));

    [Fact]
    public void Classify_LinkTraining_IsUnknown() =>
        Assert.Null(HwMetrics.Classify(Sensor, new Reading("linkStatus", "Training")));

    [Theory]
    [InlineData(null, "°C")]           // unknown reading
    [InlineData("ok", null)]           // text
    [InlineData(double.NaN, "°C")]     // not a number
    [InlineData(3.0, "furlongs")]      // unit we do not know
    [InlineData(3.0, null)]            // no unit, no known name
    public void Classify_UnexportableReading_IsNull(object? value, string? unit) =>
        Assert.Null(HwMetrics.Classify(Sensor, new Reading("input", value, unit)));

    [Fact]
    public void Classify_SmartAttribute_CarriesAttributeName()
    {
        var p = HwMetrics.Classify(new ComponentRef("drive:0", "physical_disk", "Drive 0"), new Reading("smart.Reallocated_Sector_Ct", 100.0));

        Assert.Equal("hw.physical_disk.smart", p!.Value.Metric);
        Assert.Equal(new KeyValuePair<string, object?>("hw.physical_disk.smart_attribute", "Reallocated_Sector_Ct"), p.Value.Extra.Single());
    }

    [Theory]
    [InlineData(HwState.Ok, "ok")]
    [InlineData(HwState.Degraded, "degraded")]
    [InlineData(HwState.Failed, "failed")]
    [InlineData(HwState.PredictedFailure, "predicted_failure")]
    [InlineData(HwState.NeedsCleaning, "needs_cleaning")]
    [InlineData(HwState.Identifying, "ok")]
    [InlineData(HwState.Updating, "ok")]
    [InlineData(HwState.Standby, "ok")]
    public void StatusOneHot_KnownState_ExactlyOneOfFiveIsOne(HwState state, string expected)
    {
        var points = HwMetrics.StatusOneHot(Psu, state).ToList();

        Assert.Equal(5, points.Count);
        var hot = Assert.Single(points, p => p.Value == 1);
        Assert.Contains(new KeyValuePair<string, object?>("hw.state", expected), hot.Tags);
        Assert.Equal(4, points.Count(p => p.Value == 0));
    }

    [Fact]
    public void StatusOneHot_Unknown_EmitsNothing() => Assert.Empty(HwMetrics.StatusOneHot(Psu, HwState.Unknown));

    [Fact]
    public void All_MetricNames_AreUnique() =>
        Assert.Equal(HwMetrics.All.Count, HwMetrics.All.Select(d => d.Name).Distinct().Count());
}
