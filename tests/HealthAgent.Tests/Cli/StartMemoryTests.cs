using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using HealthAgent.Cli;

namespace HealthAgent.Tests.Cli;

public sealed class StartMemoryTests
{
    [Theory]
    [InlineData("55d0c4a27000-55d0c54f9000 r-xp 00027000 fe:00 11837449                   /opt/healthagent/healthagent", 0x55d0c4a27000UL, 0xad2000UL)]
    [InlineData("7f0a7bc00000-7f0a7bc26000 r--p 00000000 fe:00 332096 /usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0a7bc00000UL, 0x26000UL)]
    [InlineData("7f0a7bc00000-7f0a7bc26000 r-xp 00000000 fe:00 332096 /opt/healthagent/healthagent (deleted)", 0x7f0a7bc00000UL, 0x26000UL)]
    public void ReadOnlyFileMapping_CodeOrReadOnlyDataOfAFile_IsItsRange(string line, ulong start, ulong length) =>
        Assert.Equal((start, length), StartMemory.ReadOnlyFileMapping(line));

    [Theory]
    [InlineData("55d0c6552000-55d0c65a3000 rw-p 0158d000 fe:00 11837449 /opt/healthagent/healthagent")] // data: changed copies
    [InlineData("55d0c65a3000-55d0c6c06000 rw-p 00000000 00:00 0 ")]                                     // anonymous
    [InlineData("55d0c6c06000-55d0c6cf0000 r--p 00000000 00:00 0")]                                      // anonymous, read-only
    [InlineData("558423288000-558423372000 rw-p 00000000 00:00 0                          [heap]")]
    [InlineData("7ffeabb32000-7ffeabb53000 r--p 00000000 00:00 0 [vvar]")]
    [InlineData("7f9b10000000-7f9b10200000 r-xp 00000000 00:01 4242 /memfd:doublemapper (deleted)")]      // shared memory: would go to swap
    [InlineData("7f9b10000000-7f9b10200000 r--s 00000000 00:05 7 /dev/shm/x")]
    [InlineData("7f9b10000000-7f9b10200000 ---p 00000000 fe:00 332096 /usr/lib/x86_64-linux-gnu/libc.so.6")] // guard, not readable
    [InlineData("not a maps line")]
    public void ReadOnlyFileMapping_AnythingElse_IsNull(string line) => Assert.Null(StartMemory.ReadOnlyFileMapping(line));

    [Fact]
    public void PageOutReadOnlyFileMappings_ThisProcess_AdvisesItsFilesAndKeepsRunning()
    {
        var advised = StartMemory.PageOutReadOnlyFileMappings("/proc/self/maps");

        Assert.True(advised > 0, "no read-only file mapping was advised");
        // the code paged out is faulted back in when it runs: this call runs it again
        Assert.True(StartMemory.PageOutReadOnlyFileMappings("/proc/self/maps") > 0);
    }

    [Fact]
    public void PageOutReadOnlyFileMappings_NoMapsFile_AdvisesNothing() =>
        Assert.Equal(0, StartMemory.PageOutReadOnlyFileMappings(Path.Combine(Path.GetTempPath(), "no-such-dir", "maps")));

    [Fact]
    public void PageOutReadOnlyFileMappings_AFileReadWhole_KeepsOnlyThePagesReadAgain()
    {
        // A read-only mapping read whole, as the start reads the executable: after the page-out the file's pages are
        // gone from the page cache too, and reading one page brings back that page, not the 64 KiB fault-around or
        // the read-around window of its neighbours (mincore(2) reports what the page cache holds of a mapping).
        const int pages = 1024;
        var path = Path.Combine(AppContext.BaseDirectory, $"pageout-{Guid.NewGuid():N}.bin");
        try
        {
            using (var f = new FileStream(path, FileMode.CreateNew))
            {
                f.Write(new byte[pages * Environment.SystemPageSize].Select((_, i) => (byte)i).ToArray());
                f.Flush(flushToDisk: true); // clean pages: only those can be dropped
            }
            using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            var p = view.SafeMemoryMappedViewHandle.DangerousGetHandle() + (nint)view.PointerOffset;
            var page = Environment.SystemPageSize;
            var sum = 0;
            for (var i = 0; i < pages; i++) sum += view.ReadByte((long)i * page);
            Assert.Equal(pages, Resident(p, pages));

            Assert.True(StartMemory.PageOutReadOnlyFileMappings("/proc/self/maps") > 0);
            sum += view.ReadByte(500L * page);

            var resident = Resident(p, pages);
            Assert.True(resident <= 4, $"{resident} of {pages} pages still resident after the page-out and one read (sum {sum})");
        }
        finally { File.Delete(path); }
    }

    private static int Resident(nint start, int pages)
    {
        var vec = new byte[pages];
        Assert.Equal(0, MInCore(start, (nuint)(pages * Environment.SystemPageSize), vec));
        return vec.Count(b => (b & 1) != 0);
    }

    [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static extern int MInCore(nint address, nuint length, byte[] vec);
}
