using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using HealthAgent.Sources;

namespace HealthAgent.Tests.Sources;

public class NameGlobTests
{
    [Theory]
    [InlineData("eth0", "eth*", true)]
    [InlineData("eth0", "eth?", true)]
    [InlineData("eth10", "eth?", false)]
    [InlineData("veth1a2b", "veth*", true)]
    [InlineData("docker0", "veth*", false)]
    [InlineData("nvme0n1", "*n1", true)]
    [InlineData("nvme0n1p1", "*n1", false)]
    [InlineData("coretemp.0", "coretemp.*", true)]
    [InlineData("coretempX0", "coretemp.*", false)] // '.' is literal, not a regex dot
    [InlineData("md127", "md*7", true)]
    [InlineData("", "*", true)]
    [InlineData("", "", true)]
    [InlineData("a", "", false)]
    [InlineData("Eth0", "eth*", false)] // case-sensitive like kernel names
    [InlineData("abcabd", "*ab?", true)]
    [InlineData("aaa", "a*a*a", true)]
    [InlineData("aa", "a*a*a", false)]
    public void Matches_ShellGlob(string name, string pattern, bool expected) =>
        Assert.Equal(expected, NameGlob.Matches(name, pattern));

    [Fact]
    public void Property_AgreesWithTheRegexTranslation()
    {
        // small alphabets so stars and question marks meet real overlaps
        var names = Gen.ArrayOf(Gen.Elements('a', 'b', '.')).Select(c => new string(c));
        var patterns = Gen.ArrayOf(Gen.Elements('a', 'b', '.', '*', '?')).Select(c => new string(c));
        var prop = Prop.ForAll(names.ToArbitrary(), patterns.ToArbitrary(), (name, pattern) =>
            NameGlob.Matches(name, pattern) ==
            Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.Singleline));
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(3000), prop);
    }
}
