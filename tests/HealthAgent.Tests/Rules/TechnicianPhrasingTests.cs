using HealthAgent.Cli;
using HealthAgent.Model;
using HealthAgent.Rules;

namespace HealthAgent.Tests.Rules;

/// <summary>
/// `explain` as technicians say it on the phone: whole sentences with the indicator anywhere, multi-word names,
/// NIC link/activity wording, colour sequences, synonyms. Each phrasing must land on exactly the rows listed.
/// </summary>
public class TechnicianPhrasingTests
{
    // sentence, the rule id(s) it must match (several when the words cannot tell them apart)
    public static TheoryData<string, string> Phrasings => new()
    {
        // drive
        { "the disk light is blinking orange fast", "drive.failed" },
        { "hard drive flashing amber 4 times a second", "drive.failed" },
        { "disk 3 is blinking amber", "drive.failed" },
        { "the drive in bay 2 is flickering orange", "drive.failed" },
        { "disk drive light blinking yellow rapidly", "drive.failed" },
        { "what does it mean when the disk light is flickering amber?", "drive.failed" },
        { "the drive light is amber", "drive.failed" },
        { "hdd light solid green", "drive.online" },
        { "the disk light is steady green", "drive.online" },
        { "SSD LED is green", "drive.online" },
        { "drive light is off", "drive.off" },
        { "no lights on the hard drive", "drive.off" },
        { "the disk is dark", "drive.off" },
        { "hard drive green then amber then off", "drive.predicted-failure" },
        { "drive green amber off", "drive.predicted-failure" },
        { "green amber off", "drive.predicted-failure" },
        { "disk flashes green, amber and then turns off", "drive.predicted-failure" },
        { "the disk light goes green, then amber, then goes out", "drive.predicted-failure" },
        { "hard disk flashes green then amber", "drive.predicted-failure" },
        { "drive blinks green for 3 seconds then amber for 3 seconds then off", "drive.rebuild-stopped" },
        { "hard drive: green 3 s, amber 3 s, off", "drive.rebuild-stopped" },
        { "the drive's light flashes green for three seconds, amber for three seconds, then goes dark", "drive.rebuild-stopped" },
        { "disk light flashing green slowly", "drive.rebuilding" },
        { "the drive is blinking green slowly", "drive.rebuilding" },
        { "drive blinks green once a second", "drive.rebuilding" },
        { "drive blinks green twice a second", "drive.identify" },
        { "the disk light flashes green 2 times per second", "drive.identify" },
        { "drive light blinking green", "drive.identify drive.rebuilding" },
        { "the drive light is flickering", "drive.failed drive.identify drive.rebuilding" },
        // psu
        { "power supply blinking amber", "psu.problem" },
        { "the PSU light is flashing orange", "psu.problem" },
        { "PSU 2 is blinking amber", "psu.problem" },
        { "the psu light goes on and off amber", "psu.problem" },
        { "power supply light is solid green", "psu.operational" },
        { "the power supply is green", "psu.operational" },
        { "psu light is on", "psu.operational" },
        { "power supply is dark", "psu.no-power" },
        { "no lights on the power supply", "psu.no-power" },
        { "the psu isn't lit", "psu.no-power" },
        { "power supply blinks green five times then goes off", "psu.mismatch" },
        { "psu handle flashes green 5 times at 4 hz and turns off", "psu.mismatch" },
        { "power supply flashing green", "psu.firmware-update" },
        { "the PSU handle is flickering green", "psu.firmware-update" },
        // power
        { "power light blinking amber", "power.problem" },
        { "the power LED is green", "power.operational" },
        { "power light is off", "power.no-power" },
        { "system power light blinking green", "power.mismatch" },
        { "the power light on the hard drive is blinking amber", "power.problem" },
        { "the light on PSU 1 is steady green", "psu.operational" },
        { "the power indicator is not illuminated", "power.no-power" },
        // nic
        { "nic light amber", "nic.reduced-speed-active nic.reduced-speed-idle" },
        { "activity light blinking, link green", "nic.max-speed-active" },
        { "link light green and activity light flickering", "nic.max-speed-active" },
        { "the network port's link light is amber and activity is blinking", "nic.reduced-speed-active" },
        { "link amber, activity off", "nic.reduced-speed-idle" },
        { "no lights on the network port", "nic.not-connected" },
        { "both NIC lights are off", "nic.not-connected" },
        { "ethernet port link light is blinking green and activity is off", "nic.identify" },
        { "nic link green activity off", "nic.max-speed-idle" },
        { "network port: link solid green, activity light flashing green", "nic.max-speed-active" },
        { "lan port link orange, activity flickering", "nic.reduced-speed-active" },
        { "the link light is off", "nic.not-connected" },
        { "nic is dark", "nic.not-connected" },
        // system
        { "system health light is solid blue", "system.healthy" },
        { "the id button is blinking blue", "system.id-mode" },
        { "health light amber", "system.fail-safe" },
        { "the system health LED is flashing orange", "system.fault" },
        { "system light blue", "system.healthy" },
        { "the ID light flashes blue", "system.id-mode" },
        // quicksync
        { "quick sync light is white and steady", "quicksync.ready" },
        { "iDRAC Quick Sync 2 blinking white rapidly", "quicksync.transfer" },
        { "quick sync blinks white slowly", "quicksync.firmware-update" },
        { "quick sync flashes white five times fast then turns off", "quicksync.disabled" },
        { "the quick sync light is off", "quicksync.off" },
        { "quicksync amber", "quicksync.fail-safe" },
        { "quick sync blinking orange", "quicksync.not-responding" },
        { "wireless light solid white", "quicksync.ready" },
    };

    [Theory]
    [MemberData(nameof(Phrasings))]
    public void ExplainSentence_TechnicianPhrasing_FindsItsRows(string sentence, string ruleIds)
    {
        var answer = RuleEngine.ExplainSentence(SeedRules.Rules, sentence);
        Assert.True(answer.Error is null, $"'{sentence}': {answer.Error}");
        Assert.NotNull(answer.Match);
        Assert.Equal(ruleIds.Split(' ').Order(), answer.Match.Candidates.Select(r => r.Id).Order());
    }

    /// <summary>The repository's agent.json (its rules/): not whatever /etc/healthagent holds on this machine.</summary>
    private static string RepoConfig => Path.Combine(SeedRules.RepoRoot, "agent.json");

    [Fact]
    public void Phrasings_AreAtLeastSixty() => Assert.True(Phrasings.Count >= 60, $"{Phrasings.Count} phrasings");

    [Theory]
    [InlineData("blinking amber", "fits the")]                         // psu, power, drive, system, quicksync all have it
    [InlineData("the toaster is blinking amber", "say which indicator")]
    [InlineData("sparkles purple", "say which indicator")]
    [InlineData("the power supply and the hard drive blink amber", "names")] // two indicators, neither is "the light"
    public void ExplainSentence_NoOrTwoFamilies_SaysWhichToName(string sentence, string expected)
    {
        var answer = RuleEngine.ExplainSentence(SeedRules.Rules, sentence);
        Assert.Null(answer.Match);
        Assert.Contains(expected, answer.Error);
    }

    [Fact]
    public void ExplainSentence_UnknownWord_NamesIt()
    {
        var answer = RuleEngine.ExplainSentence(SeedRules.Rules, "the disk light is wobbling amber");
        Assert.Equal("drive", answer.Family!.Name);
        Assert.Contains("'wobbling'", answer.Error);
    }

    [Theory]
    [InlineData("drive")]
    [InlineData("power supply")]
    [InlineData("the hard drive light")]
    [InlineData("network port")]
    public void ExplainSentence_FamilyAlone_AsksForTheTable(string sentence) =>
        Assert.True(RuleEngine.ExplainSentence(SeedRules.Rules, sentence).FamilyOnly);

    [Fact]
    public void ExplainCommand_SentenceAsSeveralWords_Answers()
    {
        var output = new StringWriter();
        var code = ExplainCommand.Run(RepoConfig, ["the", "disk", "light", "is", "blinking", "orange", "fast"], true, false, output, new StringWriter());
        Assert.Equal(0, code);
        Assert.Contains("\"ruleId\":\"drive.failed\"", output.ToString());
    }

    [Fact]
    public void ExplainCommand_DefaultView_ShortAction_LongShowsTheManual()
    {
        var shortOut = new StringWriter();
        Assert.Equal(0, ExplainCommand.Run(RepoConfig, ["power supply blinks green five times then goes off"], false, false, shortOut, new StringWriter()));
        var longOut = new StringWriter();
        Assert.Equal(0, ExplainCommand.Run(RepoConfig, ["power supply blinks green five times then goes off"], false, true, longOut, new StringWriter()));
        // The answer is a Spectre panel: text wraps inside its borders.
        static string Flat(StringWriter w) => System.Text.RegularExpressions.Regex.Replace(w.ToString().Replace('│', ' '), @"\s+", " ");
        Assert.Contains("Replace only the PSU", Flat(shortOut));
        Assert.Contains("--long", Flat(shortOut));
        Assert.DoesNotContain("Titanium", Flat(shortOut));
        Assert.Contains("Titanium", Flat(longOut));
        Assert.Contains("our advice", Flat(longOut));
    }

    [Fact]
    public void ActionFor_EverySeedRow_DefaultViewAtMostSixtyWords_LongIsWhole()
    {
        foreach (var r in SeedRules.Rules.Families.SelectMany(f => f.Rules))
        {
            var shortText = ExplainCommand.ActionFor(r, longText: false, out _);
            Assert.True(ActionText.Words(shortText) <= 60, $"{r.Id}: {ActionText.Words(shortText)} words");
            Assert.True(shortText.Length > 0, r.Id);
            Assert.Equal(r.Verdict.Action, ExplainCommand.ActionFor(r, longText: true, out var truncated));
            Assert.False(truncated);
        }
        Assert.True(ActionText.Words(SeedRules.Rules.FindRule("psu.mismatch")!.Verdict.Action) > 150, "the mismatch CAUTION is kept whole for --long");
    }

    [Fact]
    public void SeedRows_NoActionStartsWithTheTableGivesNoAction_AdviceIsMarkedOurs()
    {
        foreach (var r in SeedRules.Rules.Families.SelectMany(f => f.Rules))
        {
            Assert.DoesNotContain("table gives no action", r.Verdict.Action, StringComparison.OrdinalIgnoreCase);
            Assert.True(r.Advice is not null || r.ManualAction is not null, r.Id);
        }
        // The NIC table has no action column: every row's action is ours. The system table's "-" row too.
        Assert.All(SeedRules.Rules.FindFamily("nic")!.Rules, r => Assert.Null(r.ManualAction));
        Assert.Null(SeedRules.Rules.FindRule("system.fail-safe")!.ManualAction);
        Assert.Equal("Check the system event log for the specific error message.", SeedRules.Rules.FindRule("system.fault")!.ManualAction);
    }

    [Theory]
    [InlineData("Hello there. This is fine.", 60, 200, "Hello there. This is fine.", false)]
    [InlineData("One two three. Four five six. Seven.", 6, 200, "One two three. Four five six.", true)]
    [InlineData("One two three four five six seven.", 4, 200, "One two three…", true)]
    [InlineData("Use e.g. a new cable. Then wait.", 5, 200, "Use e.g. a new cable.", true)]
    [InlineData("Short one. A much longer second sentence here.", 60, 20, "Short one.", true)]
    public void ActionText_Shorten_KeepsWholeSentences(string text, int words, int chars, string expected, bool truncated)
    {
        Assert.Equal(expected, ActionText.Shorten(text, words, chars, out var t));
        Assert.Equal(truncated, t);
    }
}
