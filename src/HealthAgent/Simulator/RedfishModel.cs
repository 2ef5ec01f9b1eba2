using System.Globalization;
using System.Text.Json.Nodes;

namespace HealthAgent.Simulator;

/// <summary>
/// Renders the appliance as Redfish resources (DMTF schema property names, 2025 releases) keyed by their
/// @odata.id: an iDRAC-style BMC with both the current schemas (PowerSubsystem, ThermalSubsystem, Sensors,
/// NetworkAdapters/Ports) and the deprecated ones (Power with Redundancy, Thermal) side by side.
/// </summary>
public static class RedfishModel
{
    public const string Root = "/redfish/v1";
    public const string System = Root + "/Systems/1", Chassis = Root + "/Chassis/1", Manager = Root + "/Managers/iDRAC";
    public const string Storage = System + "/Storage/RAID1", Volume = Storage + "/Volumes/1", SseUri = Root + "/SSE";

    public static string PsuPath(int i) => $"{Chassis}/PowerSubsystem/PowerSupplies/PSU{i}";
    public static string DrivePath(int i) => $"{Storage}/Drives/Disk.Bay.{i}";
    public static string PortPath(int i) => $"{Chassis}/NetworkAdapters/NIC1/Ports/{i}";
    public static string EthernetPath(int i) => $"{System}/EthernetInterfaces/NIC.Integrated.1-{i}-1";
    public static string NetworkPortPath(int i) => $"{Chassis}/NetworkAdapters/NIC1/NetworkPorts/{i}";
    public static string FanPath(int i) => $"{Chassis}/ThermalSubsystem/Fans/Fan{i}";

    private static string N(int i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every resource, by path. Collections list their members; the service answers GETs from this map.</summary>
    public static SortedDictionary<string, JsonObject> Render(Appliance a)
    {
        var r = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        void Add(string path, string type, string id, string name, JsonObject body)
        {
            var o = new JsonObject { ["@odata.id"] = path, ["@odata.type"] = type, ["Id"] = id, ["Name"] = name };
            foreach (var (k, v) in body.ToList()) { body.Remove(k); o[k] = v; }
            r[path] = o;
        }
        void Collection(string path, string type, string name, IEnumerable<string> members)
        {
            var list = members.ToList();
            r[path] = new JsonObject
            {
                ["@odata.id"] = path, ["@odata.type"] = $"#{type}.{type}", ["Name"] = name,
                ["Members"] = Links(list), ["Members@odata.count"] = list.Count,
            };
        }

        var psus = Enumerable.Range(1, Appliance.PsuCount).ToList();
        var drives = Enumerable.Range(0, Appliance.DriveCount).ToList();
        var ports = Enumerable.Range(1, Appliance.NicCount).ToList();
        var fans = Enumerable.Range(1, Appliance.FanCount).ToList();

        // ---- health roll-ups ------------------------------------------------------------------------------
        var componentHealth = new List<string?>();
        componentHealth.AddRange(psus.Select(i => PsuStatus(a, i)["Health"]?.GetValue<string>()));
        componentHealth.AddRange(drives.Select(i => DriveStatus(a, i)["Health"]?.GetValue<string>()));
        componentHealth.AddRange(fans.Select(a.FanHealth));
        componentHealth.AddRange(Appliance.Temperatures.Select(a.TemperatureHealth));
        var rollup = Worst(componentHealth);
        var systemHealth = a.Word("system") == "healthy" ? "OK" : "Critical";
        var identify = a.Flag("system.identify");

        // ---- service root, systems, chassis, managers -----------------------------------------------------
        Add(Root, "#ServiceRoot.v1_17_0.ServiceRoot", "RootService", "Root Service", new JsonObject
        {
            ["RedfishVersion"] = "1.20.0",
            ["Product"] = "HealthAgent simulated appliance (iDRAC-style)",
            ["Vendor"] = "HealthAgent",
            ["ProtocolFeaturesSupported"] = ProtocolFeatures(a.Flag("bmc.expand")),
            ["Systems"] = Link(Root + "/Systems"),
            ["Chassis"] = Link(Root + "/Chassis"),
            ["Managers"] = Link(Root + "/Managers"),
            ["EventService"] = Link(Root + "/EventService"),
            ["SessionService"] = Link(Root + "/SessionService"),
            ["Links"] = new JsonObject { ["Sessions"] = Link(Root + "/SessionService/Sessions") },
        });
        Collection(Root + "/Systems", "ComputerSystemCollection", "Computer System Collection", [System]);
        Add(System, "#ComputerSystem.v1_22_0.ComputerSystem", "1", "Recorder", new JsonObject
        {
            ["Manufacturer"] = "Dell Inc.", ["Model"] = "PowerEdge R660xs (simulated)", ["SerialNumber"] = "SIM0001",
            ["SystemType"] = "Physical", ["PowerState"] = "On",
            ["Status"] = Status(a.Word("system") == "failsafe" ? "StandbyOffline" : "Enabled", systemHealth, Worst([systemHealth, rollup])),
            ["IndicatorLED"] = identify ? "Blinking" : "Off",
            ["LocationIndicatorActive"] = identify,
            ["Storage"] = Link(System + "/Storage"),
            ["EthernetInterfaces"] = Link(System + "/EthernetInterfaces"),
            ["Links"] = new JsonObject { ["Chassis"] = Links([Chassis]), ["ManagedBy"] = Links([Manager]) },
            // iDRAC roll-ups (Dell OEM extension of ComputerSystem)
            ["Oem"] = new JsonObject
            {
                ["Dell"] = new JsonObject
                {
                    ["DellSystem"] = new JsonObject
                    {
                        ["@odata.type"] = "#DellSystem.v1_4_0.DellSystem",
                        ["PSRollupStatus"] = Worst(psus.Select(i => PsuStatus(a, i)["Health"]?.GetValue<string>())),
                        ["StorageRollupStatus"] = Worst(drives.Select(i => DriveStatus(a, i)["Health"]?.GetValue<string>())),
                        ["FanRollupStatus"] = Worst(fans.Select(a.FanHealth)),
                        ["TempRollupStatus"] = Worst(Appliance.Temperatures.Select(a.TemperatureHealth)),
                    },
                },
            },
        });
        Collection(System + "/EthernetInterfaces", "EthernetInterfaceCollection", "Ethernet Interface Collection", ports.Select(EthernetPath));
        foreach (var i in ports)
        {
            var s = a.Word($"nic{i}");
            var body = new JsonObject
            {
                ["MACAddress"] = $"B0:7B:25:5E:00:0{i}", ["InterfaceEnabled"] = true,
                ["LinkStatus"] = s == "down" ? "LinkDown" : "LinkUp",
                ["Status"] = Status("Enabled", s == "up" ? "OK" : "Warning"),
                ["Links"] = new JsonObject { ["NetworkDeviceFunctions"] = new JsonArray(), ["Ports"] = Links([PortPath(i)]) },
            };
            if (s != "down") body["SpeedMbps"] = s == "downshift" ? 1000 : 10000;
            Add(EthernetPath(i), "#EthernetInterface.v1_12_0.EthernetInterface", $"NIC.Integrated.1-{i}-1", $"NIC 1 Port {i}", body);
        }
        Collection(Root + "/Chassis", "ChassisCollection", "Chassis Collection", [Chassis]);
        Add(Chassis, "#Chassis.v1_25_0.Chassis", "1", "Recorder chassis", new JsonObject
        {
            ["ChassisType"] = "RackMount", ["Manufacturer"] = "Dell Inc.", ["Model"] = "PowerEdge R660xs (simulated)", ["PowerState"] = "On",
            ["Status"] = Status("Enabled", rollup, rollup),
            ["IndicatorLED"] = identify ? "Blinking" : "Off",
            ["LocationIndicatorActive"] = identify,
            ["PowerSubsystem"] = Link(Chassis + "/PowerSubsystem"),
            ["ThermalSubsystem"] = Link(Chassis + "/ThermalSubsystem"),
            ["Power"] = Link(Chassis + "/Power"),
            ["Thermal"] = Link(Chassis + "/Thermal"),
            ["Sensors"] = Link(Chassis + "/Sensors"),
            ["NetworkAdapters"] = Link(Chassis + "/NetworkAdapters"),
            ["Links"] = new JsonObject { ["ComputerSystems"] = Links([System]), ["ManagedBy"] = Links([Manager]) },
        });
        Collection(Root + "/Managers", "ManagerCollection", "Manager Collection", [Manager]);
        Add(Manager, "#Manager.v1_19_0.Manager", "iDRAC", "iDRAC (simulated)", new JsonObject
        {
            ["ManagerType"] = "BMC", ["Model"] = "iDRAC9 (simulated)", ["FirmwareVersion"] = "7.10.50.00",
            ["Status"] = Status("Enabled", a.Word("bmc") == "ok" ? "OK" : "Warning"),
            ["Links"] = new JsonObject { ["ManagerForServers"] = Links([System]), ["ManagerForChassis"] = Links([Chassis]) },
        });
        Add(Root + "/EventService", "#EventService.v1_10_0.EventService", "EventService", "Event Service", new JsonObject
        {
            ["ServiceEnabled"] = true, ["ServerSentEventUri"] = SseUri, ["EventFormatTypes"] = new JsonArray("Event"),
            ["Status"] = Status("Enabled", "OK"),
        });
        Add(Root + "/SessionService", "#SessionService.v1_1_9.SessionService", "SessionService", "Session Service", new JsonObject
        {
            ["ServiceEnabled"] = true, ["SessionTimeout"] = 1800, ["Sessions"] = Link(Root + "/SessionService/Sessions"),
        });

        // ---- power: PowerSubsystem (current) and Power (deprecated) -----------------------------------------
        var psuOk = psus.Count(i => a.Word($"psu{i}") is "ok" or "updating");
        var redundancyHealth = psuOk >= Appliance.PsuCount ? "OK" : "Critical";
        Add(Chassis + "/PowerSubsystem", "#PowerSubsystem.v1_1_2.PowerSubsystem", "PowerSubsystem", "Power Subsystem", new JsonObject
        {
            ["CapacityWatts"] = 800,
            ["Status"] = Status("Enabled", redundancyHealth),
            ["PowerSupplies"] = Link(Chassis + "/PowerSubsystem/PowerSupplies"),
            ["PowerSupplyRedundancy"] = new JsonArray(new JsonObject
            {
                ["RedundancyType"] = "Failover", ["MaxSupportedInGroup"] = 2, ["MinNeededInGroup"] = 1,
                ["RedundancyGroup"] = Links(psus.Select(PsuPath)),
                ["Status"] = Status("Enabled", redundancyHealth),
            }),
        });
        Collection(Chassis + "/PowerSubsystem/PowerSupplies", "PowerSupplyCollection", "Power Supply Collection", psus.Select(PsuPath));
        foreach (var i in psus)
        {
            var s = a.Word($"psu{i}");
            var body = new JsonObject
            {
                ["Status"] = PsuStatus(a, i),
                ["PowerSupplyType"] = "AC",
                ["Manufacturer"] = "Dell", ["Model"] = s == "mismatch" ? "PWR SPLY,1100W,RDNT" : "PWR SPLY,800W,RDNT",
                ["FirmwareVersion"] = s == "updating" ? "00.1D.7D (updating)" : "00.1D.7D",
                ["LocationIndicatorActive"] = false,
            };
            if (s != "absent")
            {
                body["LineInputStatus"] = s == "unplugged" ? "LossOfInput" : "Normal";
                body["PowerCapacityWatts"] = s == "mismatch" ? 1100 : 800;
                // No DMTF property for a mismatch (REFERENCE.md): HPE's Oem.Hpe.Mismatched, and the differing capacity.
                body["Oem"] = new JsonObject { ["Hpe"] = new JsonObject { ["@odata.type"] = "#HpeServerPowerSupply.v2_0_0.HpeServerPowerSupply", ["Mismatched"] = s == "mismatch" } };
            }
            Add(PsuPath(i), "#PowerSupply.v1_6_0.PowerSupply", $"PSU{i}", $"PSU {i}", body);
        }
        Add(Chassis + "/Power", "#Power.v1_7_3.Power", "Power", "Power", new JsonObject
        {
            ["PowerSupplies"] = new JsonArray(psus.Select(i =>
            {
                var s = a.Word($"psu{i}");
                var o = new JsonObject
                {
                    ["@odata.id"] = $"{Chassis}/Power#/PowerSupplies/{i - 1}", ["MemberId"] = N(i - 1), ["Name"] = $"PSU {i}",
                    ["Status"] = PsuStatus(a, i), ["PowerSupplyType"] = "AC", ["FirmwareVersion"] = "00.1D.7D",
                };
                if (s != "absent")
                {
                    o["LineInputVoltage"] = s == "unplugged" ? 0 : 230;
                    o["PowerCapacityWatts"] = s == "mismatch" ? 1100 : 800;
                    o["LastPowerOutputWatts"] = s is "ok" or "mismatch" or "updating" ? 180 : 0;
                }
                return (JsonNode)o;
            }).ToArray()),
            ["Redundancy"] = new JsonArray(new JsonObject
            {
                ["@odata.id"] = $"{Chassis}/Power#/Redundancy/0", ["MemberId"] = "0", ["Name"] = "PSU Redundancy",
                ["Mode"] = "N+m", ["MaxNumSupported"] = 2, ["MinNumNeeded"] = 1,
                ["RedundancySet"] = Links(psus.Select(i => $"{Chassis}/Power#/PowerSupplies/{i - 1}")),
                ["Status"] = Status("Enabled", redundancyHealth),
            }),
        });

        // ---- thermal: ThermalSubsystem + Sensors (current) and Thermal (deprecated) -----------------------
        Add(Chassis + "/ThermalSubsystem", "#ThermalSubsystem.v1_3_2.ThermalSubsystem", "ThermalSubsystem", "Thermal Subsystem", new JsonObject
        {
            ["Status"] = Status("Enabled", Worst(fans.Select(a.FanHealth).Concat(Appliance.Temperatures.Select(a.TemperatureHealth)))),
            ["Fans"] = Link(Chassis + "/ThermalSubsystem/Fans"),
            ["ThermalMetrics"] = Link(Chassis + "/ThermalSubsystem/ThermalMetrics"),
        });
        Collection(Chassis + "/ThermalSubsystem/Fans", "FanCollection", "Fan Collection", fans.Select(FanPath));
        foreach (var i in fans)
        {
            var rpm = a.Number($"fan{i}");
            Add(FanPath(i), "#Fan.v1_5_2.Fan", $"Fan{i}", $"System Board Fan {i}", new JsonObject
            {
                ["Status"] = Status("Enabled", a.FanHealth(i)),
                ["PhysicalContext"] = "SystemBoard",
                ["SpeedPercent"] = new JsonObject { ["DataSourceUri"] = $"{Chassis}/Sensors/Fan{i}", ["Reading"] = Math.Round(rpm / 180.0, 1), ["SpeedRPM"] = rpm },
            });
        }
        Add(Chassis + "/ThermalSubsystem/ThermalMetrics", "#ThermalMetrics.v1_3_2.ThermalMetrics", "ThermalMetrics", "Thermal Metrics", new JsonObject
        {
            ["TemperatureSummaryCelsius"] = new JsonObject { ["Intake"] = new JsonObject { ["DataSourceUri"] = $"{Chassis}/Sensors/Temp.inlet", ["Reading"] = a.Number("temp.inlet") } },
            ["TemperatureReadingsCelsius"] = new JsonArray(Appliance.Temperatures.Select(t => (JsonNode)new JsonObject
            {
                ["DataSourceUri"] = $"{Chassis}/Sensors/Temp.{t}", ["DeviceName"] = TempName(t), ["PhysicalContext"] = TempContext(t), ["Reading"] = a.Number("temp." + t),
            }).ToArray()),
        });
        var sensors = Appliance.Temperatures.Select(t => $"{Chassis}/Sensors/Temp.{t}").Concat(fans.Select(i => $"{Chassis}/Sensors/Fan{i}")).ToList();
        Collection(Chassis + "/Sensors", "SensorCollection", "Sensor Collection", sensors);
        foreach (var t in Appliance.Temperatures)
        {
            var (caution, critical, fatal) = Appliance.TemperatureLimits(t);
            Add($"{Chassis}/Sensors/Temp.{t}", "#Sensor.v1_10_0.Sensor", $"Temp.{t}", TempName(t), new JsonObject
            {
                ["ReadingType"] = "Temperature", ["ReadingUnits"] = "Cel", ["Reading"] = a.Number("temp." + t), ["PhysicalContext"] = TempContext(t),
                ["Status"] = Status("Enabled", a.TemperatureHealth(t)),
                ["Thresholds"] = new JsonObject
                {
                    ["UpperCaution"] = new JsonObject { ["Reading"] = caution },
                    ["UpperCritical"] = new JsonObject { ["Reading"] = critical },
                    ["UpperFatal"] = new JsonObject { ["Reading"] = fatal },
                },
            });
        }
        foreach (var i in fans)
            Add($"{Chassis}/Sensors/Fan{i}", "#Sensor.v1_10_0.Sensor", $"Fan{i}", $"System Board Fan {i}", new JsonObject
            {
                ["ReadingType"] = "Rotational", ["ReadingUnits"] = "RPM", ["Reading"] = a.Number($"fan{i}"), ["PhysicalContext"] = "Fan",
                ["Status"] = Status("Enabled", a.FanHealth(i)),
                ["Thresholds"] = new JsonObject
                {
                    ["LowerCaution"] = new JsonObject { ["Reading"] = Appliance.FanCautionRpm },
                    ["LowerCritical"] = new JsonObject { ["Reading"] = Appliance.FanCriticalRpm },
                },
            });
        Add(Chassis + "/Thermal", "#Thermal.v1_7_3.Thermal", "Thermal", "Thermal", new JsonObject
        {
            ["Temperatures"] = new JsonArray(Appliance.Temperatures.Select((t, k) =>
            {
                var (caution, critical, fatal) = Appliance.TemperatureLimits(t);
                return (JsonNode)new JsonObject
                {
                    ["@odata.id"] = $"{Chassis}/Thermal#/Temperatures/{k}", ["MemberId"] = N(k), ["Name"] = TempName(t),
                    ["ReadingCelsius"] = a.Number("temp." + t), ["PhysicalContext"] = TempContext(t),
                    ["UpperThresholdNonCritical"] = caution, ["UpperThresholdCritical"] = critical, ["UpperThresholdFatal"] = fatal,
                    ["Status"] = Status("Enabled", a.TemperatureHealth(t)),
                };
            }).ToArray()),
            ["Fans"] = new JsonArray(fans.Select(i => (JsonNode)new JsonObject
            {
                ["@odata.id"] = $"{Chassis}/Thermal#/Fans/{i - 1}", ["MemberId"] = N(i - 1), ["Name"] = $"System Board Fan {i}",
                ["Reading"] = a.Number($"fan{i}"), ["ReadingUnits"] = "RPM", ["PhysicalContext"] = "SystemBoard",
                ["LowerThresholdNonCritical"] = Appliance.FanCautionRpm, ["LowerThresholdCritical"] = Appliance.FanCriticalRpm,
                ["Status"] = Status("Enabled", a.FanHealth(i)),
            }).ToArray()),
        });

        // ---- network: NetworkAdapters/NIC1/Ports ---------------------------------------------------------
        Collection(Chassis + "/NetworkAdapters", "NetworkAdapterCollection", "Network Adapter Collection", [Chassis + "/NetworkAdapters/NIC1"]);
        Add(Chassis + "/NetworkAdapters/NIC1", "#NetworkAdapter.v1_11_0.NetworkAdapter", "NIC1", "Broadcom 57414 10GbE (simulated)", new JsonObject
        {
            ["Manufacturer"] = "Broadcom", ["Model"] = "BCM57414",
            ["Status"] = Status("Enabled", Worst(ports.Select(i => a.Word($"nic{i}") == "up" ? "OK" : "Warning"))),
            ["Ports"] = Link(Chassis + "/NetworkAdapters/NIC1/Ports"),
            ["NetworkPorts"] = Link(Chassis + "/NetworkAdapters/NIC1/NetworkPorts"),
        });
        // The deprecated NetworkPort schema (older iDRAC firmware): LinkStatus Up/Down, speeds in Mb/s.
        Collection(Chassis + "/NetworkAdapters/NIC1/NetworkPorts", "NetworkPortCollection", "Network Port Collection", ports.Select(NetworkPortPath));
        foreach (var i in ports)
        {
            var s = a.Word($"nic{i}");
            Add(NetworkPortPath(i), "#NetworkPort.v1_4_1.NetworkPort", N(i), $"NIC 1 Port {i}", new JsonObject
            {
                ["PhysicalPortNumber"] = N(i),
                ["LinkStatus"] = s == "down" ? "Down" : "Up",
                ["CurrentLinkSpeedMbps"] = s switch { "down" => 0, "downshift" => 1000, _ => 10000 },
                ["SupportedLinkCapabilities"] = new JsonArray(new JsonObject { ["LinkNetworkTechnology"] = "Ethernet", ["LinkSpeedMbps"] = 10000 }),
                ["Status"] = Status("Enabled", s == "up" ? "OK" : "Warning"),
            });
        }
        Collection(Chassis + "/NetworkAdapters/NIC1/Ports", "PortCollection", "Port Collection", ports.Select(PortPath));
        foreach (var i in ports)
        {
            var s = a.Word($"nic{i}");
            var body = new JsonObject
            {
                ["PortId"] = N(i), ["PortProtocol"] = "Ethernet", ["PortType"] = "BidirectionalPort", ["PortMedium"] = "Electrical",
                ["LinkStatus"] = s == "down" ? "LinkDown" : "LinkUp",
                ["LinkState"] = "Enabled",
                ["MaxSpeedGbps"] = 10,
                ["LinkConfiguration"] = new JsonArray(new JsonObject { ["CapableLinkSpeedGbps"] = new JsonArray(1, 10), ["AutoSpeedNegotiationEnabled"] = true }),
                ["LocationIndicatorActive"] = false,
                ["Status"] = Status("Enabled", s == "up" ? "OK" : "Warning"),
            };
            if (s != "down") body["CurrentSpeedGbps"] = s == "downshift" ? 1 : 10;
            Add(PortPath(i), "#Port.v1_11_0.Port", N(i), $"NIC 1 Port {i}", body);
        }

        // ---- storage: RAID1 controller, four drives, one RAID 5 volume -----------------------------------
        Collection(System + "/Storage", "StorageCollection", "Storage Collection", [Storage]);
        var volumeHealth = Worst(drives.Select(i => a.Word($"drive{i}") is "online" or "identify" or "predicted" ? "OK" : a.Word($"drive{i}") == "rebuilding" ? "Warning" : "Critical"));
        var degraded = drives.Count(i => a.Word($"drive{i}") is not ("online" or "identify" or "predicted"));
        var rebuilding = drives.Where(i => a.Word($"drive{i}") == "rebuilding").ToList();
        Add(Storage, "#Storage.v1_15_0.Storage", "RAID1", "PERC H755 (simulated)", new JsonObject
        {
            ["Status"] = Status("Enabled", "OK", Worst(drives.Select(i => DriveStatus(a, i)["Health"]?.GetValue<string>()))),
            ["Drives"] = Links(drives.Select(DrivePath)), ["Drives@odata.count"] = drives.Count,
            ["Volumes"] = Link(Storage + "/Volumes"),
            ["StorageControllers"] = new JsonArray(new JsonObject
            {
                ["@odata.id"] = Storage + "#/StorageControllers/0", ["MemberId"] = "0", ["Name"] = "PERC H755", ["Status"] = Status("Enabled", "OK"),
                ["SupportedRAIDTypes"] = new JsonArray("RAID0", "RAID1", "RAID5", "RAID6", "RAID10"),
            }),
        });
        Collection(Storage + "/Volumes", "VolumeCollection", "Volume Collection", [Volume]);
        Add(Volume, "#Volume.v1_10_0.Volume", "1", "Recordings (RAID 5)", new JsonObject
        {
            ["RAIDType"] = "RAID5", ["CapacityBytes"] = 3L * 4_000_787_030_016L,
            ["Status"] = Status(degraded == 0 ? "Enabled" : degraded > 1 ? "UnavailableOffline" : "Degraded", degraded > 1 ? "Critical" : volumeHealth),
            ["Operations"] = new JsonArray(rebuilding.Select(i => (JsonNode)new JsonObject
            {
                ["Operation"] = "Rebuild", ["OperationName"] = "Rebuild", ["PercentageComplete"] = (int)a.Number($"drive{i}.rebuild"),
            }).ToArray()),
            ["Links"] = new JsonObject { ["Drives"] = Links(drives.Where(i => a.Word($"drive{i}") != "absent").Select(DrivePath)) },
        });
        foreach (var i in drives)
        {
            var s = a.Word($"drive{i}");
            var body = new JsonObject
            {
                ["Status"] = DriveStatus(a, i),
                ["LocationIndicatorActive"] = s == "identify",
                ["IndicatorLED"] = s == "identify" ? "Blinking" : "Off",
            };
            if (s != "absent")
            {
                body["Manufacturer"] = "SEAGATE";
                body["Model"] = "ST4000NM024B";
                body["SerialNumber"] = $"ZC1SIM{i:D3}";
                body["MediaType"] = "HDD";
                body["Protocol"] = "SAS";
                body["CapacityBytes"] = 4_000_787_030_016L;
                body["StatusIndicator"] = s switch
                {
                    "rebuilding" => "Rebuild", "failed" => "Fail", "predicted" => "PredictiveFailureAnalysis",
                    "rebuild-stopped" => "InACriticalArray", _ => "OK",
                };
                body["FailurePredicted"] = s == "predicted";
                body["PredictedMediaLifeLeftPercent"] = s == "predicted" ? 3 : 97;
                // A rebuild shows as an operation with its progress; "rebuild stopped" has no DMTF value: the
                // operation is gone while the drive and the volume are still not OK (REFERENCE.md).
                body["Operations"] = new JsonArray(s == "rebuilding"
                    ? [new JsonObject { ["Operation"] = "Rebuild", ["OperationName"] = "Rebuild", ["PercentageComplete"] = (int)a.Number($"drive{i}.rebuild") }]
                    : []);
                body["Links"] = new JsonObject { ["Volumes"] = Links([Volume]) };
            }
            Add(DrivePath(i), "#Drive.v1_20_0.Drive", $"Disk.Bay.{i}", $"Physical Disk {i}", body);
        }
        return r;
    }

    public static JsonObject PsuStatus(Appliance a, int i) => a.Word($"psu{i}") switch
    {
        "absent" => new JsonObject { ["State"] = "Absent" },
        "fault" => Status("Enabled", "Critical"),
        "unplugged" => Status("Enabled", "Critical"),
        "mismatch" => Status("Enabled", "Warning"),
        "updating" => Status("Updating", "OK"),
        _ => Status("Enabled", "OK"),
    };

    public static JsonObject DriveStatus(Appliance a, int i) => a.Word($"drive{i}") switch
    {
        "absent" => new JsonObject { ["State"] = "Absent" },
        "failed" => Status("Disabled", "Critical"),
        "predicted" => Status("Enabled", "Warning"),
        "rebuilding" => Status("Updating", "Warning"),
        "rebuild-stopped" => Status("Enabled", "Critical"),
        _ => Status("Enabled", "OK"),
    };

    private static string TempName(string t) => t == "inlet" ? "System Board Inlet Temp" : $"CPU{t[^1]} Temp";
    private static string TempContext(string t) => t == "inlet" ? "Intake" : "CPU";

    public static JsonObject Status(string state, string health, string? rollup = null)
    {
        var o = new JsonObject { ["State"] = state, ["Health"] = health };
        if (rollup is not null) o["HealthRollup"] = rollup;
        return o;
    }

    private static string Worst(IEnumerable<string?> healths)
    {
        var worst = "OK";
        foreach (var h in healths)
            if (h == "Critical" || (h == "Warning" && worst == "OK")) worst = h;
        return worst;
    }

    public static JsonObject Link(string path) => new() { ["@odata.id"] = path };

    /// <summary>$levels the service expands at most; iDRAC9 advertises 1 (and HPE iLO 5 too).</summary>
    public const int ExpandMaxLevels = 1;

    /// <summary>
    /// ServiceRoot.ProtocolFeaturesSupported: with $expand, what an iDRAC9 advertises (every option, $levels up to 1);
    /// without it, no ExpandQuery object, and the service answers 501 to $expand.
    /// </summary>
    public static JsonObject ProtocolFeatures(bool expand)
    {
        var f = new JsonObject { ["FilterQuery"] = false, ["SelectQuery"] = false, ["OnlyMemberQuery"] = false, ["ExcerptQuery"] = false };
        if (expand)
            f["ExpandQuery"] = new JsonObject { ["ExpandAll"] = true, ["Levels"] = true, ["Links"] = true, ["NoLinks"] = true, ["MaxLevels"] = ExpandMaxLevels };
        return f;
    }
    public static JsonArray Links(IEnumerable<string> paths) => new(paths.Select(p => (JsonNode)Link(p)).ToArray());
}
