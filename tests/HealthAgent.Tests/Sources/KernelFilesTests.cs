using HealthAgent.Sources;
using static HealthAgent.Tests.Sources.SourceTestKit;

namespace HealthAgent.Tests.Sources;

public class KernelFilesTests
{
    [Fact]
    public async Task RunAsync_ManyHungFiles_AbandonedReadsBoundedRestStillRead()
    {
        using var t = Copy();
        var fifos = Enumerable.Range(0, 6).Select(i => t[$"hung{i}"]).ToList();
        fifos.ForEach(MkFifo);
        File.WriteAllText(t["ok"], "42\n");
        var files = new KernelFiles(TimeSpan.FromMilliseconds(100), maxAbandoned: 3);
        try
        {
            var results = await files.RunAsync(s => fifos.Append(t["ok"]).Select(p => s.Read(p)).ToList(), default);
            Assert.Equal(3, files.Abandoned);
            Assert.All(results.Take(3), r => Assert.Contains("hung in the kernel", r.Error));
            Assert.All(results.Skip(3).Take(3), r => Assert.Contains("not reading more", r.Error));
            Assert.Contains("not reading more", results[^1].Error); // at the bound nothing more is read, so no thread more can hang
        }
        finally { fifos.ForEach(ReleaseFifo); }
        for (var i = 0; i < 100 && files.Abandoned > 0; i++) await Task.Delay(20);
        Assert.Equal(0, files.Abandoned);
        Assert.Empty(files.HungPaths);
        fifos.ForEach(File.Delete);
        Assert.Equal("42", (await files.RunAsync(s => s.Read(t["ok"]), default)).Text); // reading again once they returned
    }

    [Fact]
    public async Task Read_KernelErrors_NamedNotThrown()
    {
        using var t = Copy();
        Directory.CreateDirectory(t["dir"]);
        File.CreateSymbolicLink(t["dangling"], t["nowhere"]);
        var files = new KernelFiles(TimeSpan.FromSeconds(1));
        var r = await files.RunAsync(s => new[] { s.Read(t["dir"]), s.Read(t["dangling"]), s.Read(t["missing"]) }, default);
        Assert.Equal("is a directory, not a file", r[0].Error);
        Assert.Equal("missing", r[1].Error);
        Assert.Equal("missing", r[2].Error);
    }
}
