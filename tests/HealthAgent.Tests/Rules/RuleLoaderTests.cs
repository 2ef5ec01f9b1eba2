using HealthAgent.Cli;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Rules;

/// <summary>Each kind of broken rule file is refused with its file:line and a message naming the problem.</summary>
public class RuleLoaderTests
{
    private const string Header = """
        family: psu
        title: PSU
        hwType: power_supply
        leds: [status]
        rules:
        """;

    private static string Row(string id, string led, string extra = "") => $"""
          - id: {id}
            led: {led}
            state: ok
            severity: ok
            code: psu.ok
            meaning: fine
            action: none{extra}
        """;

    private static IReadOnlyList<RuleError> Errors(params (string Name, string Text)[] files)
    {
        var (rules, errors) = RuleLoader.Load(files);
        Assert.Null(rules);
        Assert.NotEmpty(errors);
        return errors;
    }

    [Fact]
    public void Load_UnknownKey_ReportsFileLineAndKey()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green", "\n    colour: green"))));
        Assert.Equal("psu.yaml:13:5", e.Location.ToString());
        Assert.Contains("unknown key 'colour'", e.Message);
    }

    [Fact]
    public void Load_DuplicateRuleIdAcrossFiles_ReportsSecondPlace()
    {
        var other = Header.Replace("family: psu", "family: power").Replace("title: PSU", "title: Power") + "\n" + Row("psu.a", "solid amber");
        var errors = Errors(("a.yaml", Header + "\n" + Row("psu.a", "solid green")), ("b.yaml", other));
        Assert.Contains(errors, e => e.Location.File == "b.yaml" && e.Location.Line == 6 && e.Message.Contains("duplicate rule id 'psu.a'"));
    }

    [Fact]
    public void Load_RowWithoutActionOrAdvice_Reported()
    {
        var row = Row("psu.a", "solid green").Replace("\n    action: none", "");
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + row)));
        Assert.Contains("needs 'action' (the manual's wording) or 'advice' (ours)", e.Message);
    }

    [Fact]
    public void Load_AdviceOverSixtyWords_Reported()
    {
        var advice = string.Join(' ', Enumerable.Repeat("word", 61));
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green", "\n    advice: " + advice))));
        Assert.Contains("advice has 61 words; keep it to 60", e.Message);
        Assert.Equal(13, e.Location.Line);
    }

    [Fact]
    public void Load_AdviceAndAction_ActionIsAdviceThenManual()
    {
        var (rules, errors) = RuleLoader.Load([("psu.yaml", Header + "\n" + Row("psu.a", "solid green", "\n    advice: Do this."))]);
        Assert.Empty(errors);
        var r = rules!.FindRule("psu.a")!;
        Assert.Equal("Do this. none", r.Verdict.Action);
        Assert.Equal("Do this.", r.Advice);
        Assert.Equal("none", r.ManualAction);
    }

    [Fact]
    public void Load_TwoRowsSameLedState_ReportsConflict()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green") + "\n" + Row("psu.b", "steady green"))));
        Assert.Equal(13, e.Location.Line);
        Assert.Contains("same LED state 'solid green' as rule 'psu.a'", e.Message);
    }

    [Fact]
    public void Load_UnknownSeverity_ListsAllowedWords()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green").Replace("severity: ok", "severity: fatal"))));
        Assert.Equal(9, e.Location.Line);
        Assert.Contains("unknown severity 'fatal'", e.Message);
        Assert.Contains("warning", e.Message);
    }

    [Fact]
    public void Load_UnknownState_ListsAllowedWords()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green").Replace("state: ok", "state: broken"))));
        Assert.Equal(8, e.Location.Line);
        Assert.Contains("unknown state 'broken'", e.Message);
        Assert.Contains("predicted_failure", e.Message);
    }

    [Fact]
    public void Load_UnparsableLed_NamesTheWord()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "blinking purple"))));
        Assert.Equal("psu.yaml:7:10", e.Location.ToString());
        Assert.Contains("'purple'", e.Message);
    }

    [Fact]
    public void Load_UnknownHwType_Reported()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header.Replace("power_supply", "toaster") + "\n" + Row("psu.a", "solid green"))));
        Assert.Equal(3, e.Location.Line);
        Assert.Contains("unknown hwType 'toaster'", e.Message);
    }

    [Fact]
    public void Load_MissingRequiredKey_Reported()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green").Replace("    meaning: fine\n", ""))));
        Assert.Equal(6, e.Location.Line);
        Assert.Contains("missing required key 'meaning'", e.Message);
    }

    [Fact]
    public void Load_BadCode_Reported()
    {
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green").Replace("code: psu.ok", "code: PSU OK"))));
        Assert.Equal(10, e.Location.Line);
        Assert.Contains("dotted lowercase", e.Message);
    }

    [Fact]
    public void Load_YamlSyntaxError_ReportsPosition()
    {
        var e = Assert.Single(Errors(("psu.yaml", "family: psu\nrules: [unclosed\n")));
        Assert.Equal("psu.yaml", e.Location.File);
        Assert.True(e.Location.Line >= 2);
        Assert.Contains("YAML syntax", e.Message);
    }

    [Fact]
    public void Load_ManyErrors_AllListed()
    {
        var text = Header + "\n" + Row("psu.a", "blinking purple").Replace("severity: ok", "severity: fatal") + "\n" + Row("nic.b", "solid green", "\n    extra: 1");
        var errors = Errors(("psu.yaml", text));
        Assert.True(errors.Count >= 4, string.Join("\n", errors));
    }

    [Fact]
    public void Load_LedStateMissingAnLedOfTheFamily_Reported()
    {
        var nic = """
            family: nic
            title: NIC
            hwType: network
            leds: [link, activity]
            rules:
              - id: nic.a
                led: link solid green
                state: ok
                severity: ok
                code: nic.ok
                meaning: fine
                action: none
            """;
        var e = Assert.Single(Errors(("nic.yaml", nic)));
        Assert.Equal(7, e.Location.Line);
        Assert.Contains("every LED of the family", e.Message);
    }

    [Fact]
    public void Load_DerivationOnUndeclaredInput_Reported()
    {
        var d = """
            derivation: psu.test
            family: psu
            inputs: { online: bool }
            leds:
              status:
                - { id: psu.test.on, when: { onlnie: true }, led: solid green }
            """;
        var errors = Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green")), ("d.yaml", d));
        var e = Assert.Single(errors);
        Assert.Equal("d.yaml", e.Location.File);
        Assert.Equal(6, e.Location.Line);
        Assert.Contains("'onlnie'", e.Message);
    }

    [Fact]
    public void Load_DerivationForUnknownLed_Reported()
    {
        var d = """
            derivation: psu.test
            family: psu
            inputs: { online: bool }
            leds:
              handle:
                - { id: psu.test.on, when: { online: true }, led: solid green }
            """;
        var e = Assert.Single(Errors(("psu.yaml", Header + "\n" + Row("psu.a", "solid green")), ("d.yaml", d)));
        Assert.Contains("LED 'handle'", e.Message);
    }

    [Fact]
    public void RulesCheck_RepositoryRules_ExitZero()
    {
        var output = new StringWriter();
        Assert.Equal(0, RulesCommand.Check(SeedRules.Directory, output, new StringWriter()));
        Assert.Contains("OK", output.ToString());
    }

    [Fact]
    public void RulesCheck_BrokenDirectory_ExitNonZeroWithFileLine()
    {
        var dir = Directory.CreateTempSubdirectory("rules-broken-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "psu.yaml"), Header + "\n" + Row("psu.a", "solid green", "\n    colour: green"));
            var error = new StringWriter();
            Assert.NotEqual(0, RulesCommand.Check(dir.FullName, new StringWriter(), error));
            Assert.Contains("psu.yaml:13:5: unknown key 'colour'", error.ToString());
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Fingerprint_IsFnv1a64OverUtf8_FirstTwelveHexDigits()
    {
        Assert.Equal("cbf29ce48422", RuleLoader.Fingerprint([]));          // the FNV-1a 64 offset basis
        Assert.Equal("af63dc4c8601", RuleLoader.Fingerprint(["a"]));       // published test vector 0xaf63dc4c8601ec8c
        Assert.Equal(RuleLoader.Fingerprint(["ab"]), RuleLoader.Fingerprint(["a", "b"])); // parts are concatenated
        Assert.NotEqual(RuleLoader.Fingerprint(["psu.yaml\0solid amber"]), RuleLoader.Fingerprint(["psu.yaml\0solid green"]));
        Assert.Equal(RuleLoader.Fingerprint(["é"]), RuleLoader.Fingerprint(["\u00e9"])); // UTF-8 bytes, not UTF-16 units
    }

    [Fact]
    public void Version_DependsOnTheTablesOnly_NotWhereTheyLive()
    {
        // an installed copy of the shipped tables (/etc/healthagent/rules) reads as the same version as the embedded set
        var embedded = RuleLoader.LoadEmbedded().Rules!.Version;
        Assert.Equal(embedded, RuleLoader.LoadDirectory(SeedRules.Directory).Rules!.Version);
        var copy = Directory.CreateTempSubdirectory("ha-rules-copy");
        try
        {
            foreach (var f in Directory.EnumerateFiles(SeedRules.Directory, "*.yaml", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy.FullName, Path.GetRelativePath(SeedRules.Directory, f));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(f, target);
            }
            Assert.Equal(embedded, RuleLoader.LoadDirectory(copy.FullName).Rules!.Version);
            File.AppendAllText(Path.Combine(copy.FullName, "indicators", "psu.yaml"), "\n# edited\n");
            Assert.NotEqual(embedded, RuleLoader.LoadDirectory(copy.FullName).Rules!.Version);
        }
        finally { copy.Delete(true); }
    }
}
