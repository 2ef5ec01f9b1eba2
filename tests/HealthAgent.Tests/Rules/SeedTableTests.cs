using HealthAgent.Cli;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Rules;

/// <summary>Each of the seed manual's 33 LED rows, asked the way the manual words it, answers with its own meaning.</summary>
public class SeedTableTests
{
    // family, the LED column exactly as in the manual's Specifications section, the start of its description.
    public static TheoryData<string, string, string> SeedRows => new()
    {
        { "system", "Blue solid", "The system is turned on, system is healthy and system ID mode is not active." },
        { "system", "Blue blinking", "The system ID mode is active." },
        { "system", "Amber solid", "The system is in fail-safe mode." },
        { "system", "Amber blinking", "The system is experiencing a fault." },
        { "quicksync", "Off (default state)", "The iDRAC Quick Sync 2 feature is turned off" },
        { "quicksync", "White solid", "The iDRAC Quick Sync 2 is ready to communicate." },
        { "quicksync", "Blinks white rapidly", "Data transfer activity." },
        { "quicksync", "Blinks white slowly", "Firmware update is in progress." },
        { "quicksync", "Blinks white five times rapidly and then turns off", "The iDRAC Quick Sync 2 feature is disabled." },
        { "quicksync", "Amber solid", "The system is in fail-safe mode." },
        { "quicksync", "Amber blinking", "The iDRAC Quick Sync 2 hardware is not responding properly." },
        { "nic", "Link and activity indicators are off", "The NIC is not connected to the network." },
        { "nic", "Link indicator is green and activity indicator is blinking green", "The NIC is connected to a valid network at its maximum port speed and data is being sent or received." },
        { "nic", "Link indicator is amber and activity indicator is blinking green", "The NIC is connected to a valid network at less than its maximum port speed and data is being sent or received." },
        { "nic", "Link indicator is green and activity indicator is off", "The NIC is connected to a valid network at its maximum port speed and data is not being sent or received." },
        { "nic", "Link indicator is amber and activity indicator is off", "The NIC is connected to a valid network at less than its maximum port speed and data is not being sent or received." },
        { "nic", "Link indicator is blinking green and activity is off", "NIC identify is enabled through the NIC configuration utility." },
        { "psu", "Green", "A valid power source is connected to the PSU and the PSU is operational." },
        { "psu", "Blinking amber", "Indicates a problem with the PSU." },
        { "psu", "Not illuminated", "Power is not connected." },
        { "psu", "Blinking green", "The firmware of the PSU is being updated" },
        { "psu", "blinks green five times at a rate of 4Hz and turns off", "When hot-plugging a PSU, the PSU handle blinks green five times at a rate of 4Hz and turns off." },
        { "power", "Green", "A valid power source is connected to the PSU and the PSU is operational." },
        { "power", "Blinking amber", "Indicates a problem with the PSU." },
        { "power", "Not illuminated", "Power is not connected." },
        { "power", "Blinking green", "When hot-plugging a PSU, the PSU indicator blinks green." },
        { "drive", "Flashes green twice per second", "Identifying drive or preparing for removal." },
        { "drive", "Off", "Drive ready for insertion or removal." },
        { "drive", "Flashes green, amber and then turns off", "Predicted drive failure." },
        { "drive", "Flashes amber four times per second", "Drive has failed." },
        { "drive", "Flashes green slowly", "Drive is rebuilding." },
        { "drive", "Steady green", "Drive is online." },
        { "drive", "Flashes green for 3 s, amber for 3 s, and then turns off after 6 s", "Rebuild stopped." },
    };

    [Theory]
    [MemberData(nameof(SeedRows))]
    public void Explain_SeedRowAsWorded_AnswersItsOwnMeaning(string family, string seen, string meaning)
    {
        var fam = SeedRules.Rules.FindFamily(family)!;
        var match = RuleEngine.Explain(fam, seen);
        Assert.False(match.IsAmbiguous, $"'{seen}' matched {string.Join(", ", match.Candidates.Select(c => c.Id))}");
        Assert.StartsWith(meaning, match.Best!.Verdict.Meaning);
    }

    [Fact]
    public void SeedTables_HaveThirtyThreeRowsInSixFamilies()
    {
        Assert.Equal(["drive", "nic", "power", "psu", "quicksync", "system"], SeedRules.Rules.Families.Select(f => f.Name).Order());
        Assert.Equal(33, SeedRules.Rules.Families.Sum(f => f.Rules.Count));
        Assert.Equal(SeedRows.Count, SeedRules.Rules.Families.Sum(f => f.Rules.Count));
    }

    [Fact]
    public void SeedTables_EveryRowCitesItsTableAndRow()
    {
        foreach (var f in SeedRules.Rules.Families)
        {
            Assert.NotNull(f.Source);
            Assert.Equal(Enumerable.Range(1, f.Rules.Count), f.Rules.Select(r => r.Row!.Value));
            Assert.All(f.Rules, r => Assert.False(string.IsNullOrWhiteSpace(r.Seen)));
        }
    }

    [Fact]
    public void SeedTables_CautionNotesReachTheActions()
    {
        Assert.Contains("Do not disconnect the power cord", SeedRules.Rules.FindRule("psu.firmware-update")!.Verdict.Action);
        Assert.Contains("replace only the PSU with the blinking indicator", SeedRules.Rules.FindRule("psu.mismatch")!.Verdict.Action);
        Assert.Contains("Combining AC and DC PSUs is not supported", SeedRules.Rules.FindRule("power.mismatch")!.Verdict.Action);
    }

    [Fact]
    public void EmbeddedRules_EqualTheRepositoryRules()
    {
        var (embedded, errors) = RuleLoader.LoadEmbedded();
        Assert.Empty(errors);
        Assert.Equal(
            SeedRules.Rules.Families.SelectMany(f => f.Rules).Select(r => r.Id + "=" + r.Led),
            embedded!.Families.SelectMany(f => f.Rules).Select(r => r.Id + "=" + r.Led));
    }

    // The way people say it on the phone to the NOC, and the rule it must land on.
    public static TheoryData<string, string, string> Phrasings => new()
    {
        { "psu", "blinking amber", "psu.problem" },
        { "psu", "the PSU handle is flashing orange", "psu.problem" },
        { "psu-handle", "amber, blinking", "psu.problem" },
        { "power-supply", "solid green", "psu.operational" },
        { "psu", "it's dark", "psu.no-power" },
        { "psu", "unlit", "psu.no-power" },
        { "psu", "green flashing", "psu.firmware-update" },
        { "psu", "blinks green 5 times at 4 Hz, then turns off", "psu.mismatch" },
        { "psu", "blinking green 4hz x5, then off", "psu.mismatch" },
        { "drive", "flashes amber four times per second", "drive.failed" },
        { "disk", "orange blinking 4 times a second", "drive.failed" },
        { "drive", "slow green flashing", "drive.rebuilding" },
        { "hdd", "green, blinking slowly", "drive.rebuilding" },
        { "drive", "green blinking twice a second", "drive.identify" },
        { "drive", "steady green", "drive.online" },
        { "drive", "green on", "drive.online" },
        { "drive", "flashes green then amber and turns off", "drive.predicted-failure" },
        { "drive", "flashing green for 3 seconds, then amber for 3 seconds, then off", "drive.rebuild-stopped" },
        { "nic", "link amber, activity blinking green", "nic.reduced-speed-active" },
        { "network", "link green; activity off", "nic.max-speed-idle" },
        { "nic", "both off", "nic.not-connected" },
        { "nic", "link light is flashing green and the activity light is off", "nic.identify" },
        { "system", "blue, steady", "system.healthy" },
        { "health", "orange flashing", "system.fault" },
        { "system-id", "blinking blue", "system.id-mode" },
        { "quicksync", "white, rapidly blinking", "quicksync.transfer" },
        { "quick-sync", "white blinks slow", "quicksync.firmware-update" },
        { "qs", "blinks white 5 times fast then goes off", "quicksync.disabled" },
        { "pwr", "not lit", "power.no-power" },
        { "power", "flashing green", "power.mismatch" },
    };

    [Theory]
    [MemberData(nameof(Phrasings))]
    public void Explain_EverydayPhrasing_FindsTheRow(string family, string seen, string ruleId)
    {
        var match = RuleEngine.Explain(SeedRules.Rules.FindFamily(family)!, seen);
        Assert.Equal(ruleId, Assert.Single(match.Candidates).Id);
    }

    [Fact]
    public void Explain_RateLeftOpen_ListsEveryCandidate()
    {
        var match = RuleEngine.Explain(SeedRules.Rules.FindFamily("drive")!, "blinking green");
        Assert.Equal(["drive.identify", "drive.rebuilding"], match.Candidates.Select(r => r.Id).Order());
    }

    [Fact]
    public void ExplainCommand_UnknownState_ExitsThreeListingKnownStates()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = ExplainCommand.Run(null, "quicksync", "solid green", false, output, error);
        Assert.Equal(ExplainCommand.NoMatch, code);
        Assert.Contains("blinking white fast x5, then off", error.ToString());
        Assert.Contains("solid white", error.ToString());
    }

    [Fact]
    public void ExplainCommand_Json_HasTheDocumentedFields()
    {
        var output = new StringWriter();
        var code = ExplainCommand.Run(null, "drive", "flashes amber four times per second", true, output, new StringWriter());
        Assert.Equal(0, code);
        var o = System.Text.Json.Nodes.JsonNode.Parse(output.ToString())!.AsObject();
        Assert.Equal("drive", (string?)o["family"]);
        Assert.Equal("blinking amber 4hz", (string?)o["led"]);
        Assert.Equal("critical", (string?)o["severity"]);
        Assert.Equal("failed", (string?)o["state"]);
        Assert.Equal("drive.failed", (string?)o["code"]);
        Assert.Equal("Drive has failed.", (string?)o["meaning"]);
        Assert.False(string.IsNullOrEmpty((string?)o["action"]));
        Assert.Equal("drive.failed", (string?)o["ruleId"]);
        Assert.Equal(4.0, (double)o["ledJson"]!["leds"]!["status"]!["rate"]!["hz"]!);
    }

    [Fact]
    public void ExplainCommand_UnknownWord_ExitsTwoNamingTheWord()
    {
        var error = new StringWriter();
        Assert.Equal(ExplainCommand.BadInput, ExplainCommand.Run(null, "psu", "blinking purple", false, new StringWriter(), error));
        Assert.Contains("'purple'", error.ToString());
    }

    [Fact]
    public void ExplainCommand_UnknownFamily_ListsFamilies()
    {
        var error = new StringWriter();
        Assert.Equal(ExplainCommand.BadInput, ExplainCommand.Run(null, "toaster", null, false, new StringWriter(), error));
        Assert.Contains("quicksync", error.ToString());
    }

    [Fact]
    public void ExplainCommand_FamilyAlone_PrintsWholeTable()
    {
        var output = new StringWriter();
        Assert.Equal(0, ExplainCommand.Run(null, "drive", null, true, output, new StringWriter()));
        var rules = System.Text.Json.Nodes.JsonNode.Parse(output.ToString())!["rules"]!.AsArray();
        Assert.Equal(7, rules.Count);
    }
}
