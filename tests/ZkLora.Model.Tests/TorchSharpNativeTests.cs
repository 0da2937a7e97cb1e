using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;
using Xunit;
using ZkLora.Build;

namespace ZkLora.Model.Tests;

/// <summary>The Debian 12 fix for libLibTorchSharp.so, on the real library bytes, and a real TorchSharp load.</summary>
public class TorchSharpNativeTests
{
    private static byte[] Original() => File.ReadAllBytes(TestPaths.TorchSharpNativeSource);

    // Field offsets located with readelf, independently of the patcher:
    // .dynsym entry of _ZSt21ios_base_library_initv and the GLIBCXX_3.4.32 Elf64_Vernaux.
    private static (int StInfo, int VnaFlags) LocateWithReadelf(string path)
    {
        static string Run(string args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("readelf", args) { RedirectStandardOutput = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output;
        }
        string sections = Run("-S -W " + path);
        long SectionOffset(string name)
        {
            var line = sections.Split('\n').Single(l => l.Contains(" " + name + " ", StringComparison.Ordinal));
            var fields = line[(line.IndexOf(']') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return Convert.ToInt64(fields[3], 16); // Name Type Address Off ...
        }
        string syms = Run("--dyn-syms -W " + path);
        var symLine = syms.Split('\n').Single(l => l.Contains("_ZSt21ios_base_library_initv", StringComparison.Ordinal));
        int index = int.Parse(symLine.Split(':')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        string versions = Run("-V -W " + path);
        var auxLine = versions.Split('\n').Single(l => l.Contains("Name: GLIBCXX_3.4.32", StringComparison.Ordinal));
        int auxOffset = Convert.ToInt32(auxLine.Trim().Split(':')[0], 16);
        return ((int)SectionOffset(".dynsym") + index * 24 + 4, (int)SectionOffset(".gnu.version_r") + auxOffset + 4);
    }

    [Fact]
    public void PatchFlipsExactlyTheTwoFieldsAndIsIdempotent()
    {
        var original = Original();
        var (stInfo, vnaFlags) = LocateWithReadelf(TestPaths.TorchSharpNativeSource);
        Assert.Equal(0x12, original[stInfo]);          // GLOBAL FUNC
        Assert.Equal(0x00, original[vnaFlags]);        // no flags

        var image = (byte[])original.Clone();
        Assert.Equal(ElfPatchOutcome.Patched, ElfGlibcxxFix.Patch(image));
        Assert.Equal(0x22, image[stInfo]);             // WEAK FUNC
        Assert.Equal(0x02, image[vnaFlags]);           // VER_FLG_WEAK
        var changed = Enumerable.Range(0, image.Length).Where(i => image[i] != original[i]).ToArray();
        Assert.Equal(new[] { stInfo, vnaFlags }.OrderBy(i => i), changed);

        var again = (byte[])image.Clone();
        Assert.Equal(ElfPatchOutcome.AlreadyPatched, ElfGlibcxxFix.Patch(again));
        Assert.Equal(image, again);
    }

    [Fact]
    public void NuGetCacheCopyIsNeverModified()
    {
        // The build patched the output copy; the cache file must still carry the original fields.
        var (stInfo, vnaFlags) = LocateWithReadelf(TestPaths.TorchSharpNativeSource);
        var original = Original();
        Assert.Equal(0x12, original[stInfo]);
        Assert.Equal(0x00, original[vnaFlags]);
    }

    [Fact]
    public void OutputCopyIsPatchedExactlyWhenTheHostLacksTheVersion()
    {
        string? lib = ElfGlibcxxFix.FindLibStdCxx();
        Assert.NotNull(lib);
        var defined = ElfGlibcxxFix.DefinedVersions(File.ReadAllBytes(lib!));
        Assert.Contains("GLIBCXX_3.4", defined);
        var output = File.ReadAllBytes(TestPaths.TorchSharpNativeOutput);
        var expected = Original();
        if (!defined.Contains(ElfGlibcxxFix.Version)) ElfGlibcxxFix.Patch(expected);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(output));
    }

    [Fact]
    public void RequiredVersionsIncludeTheGcc13One()
    {
        var required = ElfGlibcxxFix.RequiredVersions(Original(), ElfGlibcxxFix.Library);
        Assert.Contains("GLIBCXX_3.4.32", required);
        Assert.Contains("CXXABI_1.3", required);
    }

    [Fact]
    public void RefusesWhenAnotherSymbolNeedsTheVersion()
    {
        // Rebind a second imported symbol to GLIBCXX_3.4.32 in .gnu.version: weakening would hide it.
        var image = Original();
        string path = Path.Combine(Path.GetTempPath(), "zklora-elf-" + Guid.NewGuid().ToString("N") + ".so");
        try
        {
            File.WriteAllBytes(path, image);
            var (stInfo, _) = LocateWithReadelf(path);
            int symIndex = (stInfo - 4 - DynsymOffset(path)) / 24;
            int versym = VersymOffset(path);
            ushort target = BitConverter.ToUInt16(image, versym + symIndex * 2);
            int other = symIndex == 1 ? 2 : 1;
            BitConverter.GetBytes(target).CopyTo(image, versym + other * 2);
            var e = Assert.Throws<ElfPatchException>(() => ElfGlibcxxFix.Patch(image));
            Assert.Contains("other symbols", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int DynsymOffset(string path) => HeaderOffset(path, ".dynsym");
    private static int VersymOffset(string path) => HeaderOffset(path, ".gnu.version");

    private static int HeaderOffset(string path, string name)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("readelf", "-S -W " + path) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var line = p.StandardOutput.ReadToEnd().Split('\n').Single(l => l.Contains(" " + name + " ", StringComparison.Ordinal));
        p.WaitForExit();
        return Convert.ToInt32(line[(line.IndexOf(']') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], 16);
    }

    [Fact]
    public void RejectsNonElfAndTruncatedInput()
    {
        Assert.Throws<ElfPatchException>(() => ElfGlibcxxFix.Patch(new byte[100]));
        Assert.Throws<ElfPatchException>(() => ElfGlibcxxFix.Patch(System.Text.Encoding.ASCII.GetBytes("not an elf file at all, just text")));
        var truncated = Original().AsSpan(0, 4096).ToArray(); // the section headers are at the end
        Assert.Throws<ElfPatchException>(() => ElfGlibcxxFix.Patch(truncated));
        var elf32 = Original();
        elf32[4] = 1; // ELFCLASS32
        Assert.Throws<ElfPatchException>(() => ElfGlibcxxFix.Patch(elf32));
    }

    [Fact]
    public void LibraryWithoutTheRequirementIsLeftAlone()
    {
        // The host's libstdc++ itself requires no GLIBCXX_3.4.32 from libstdc++.
        var lib = File.ReadAllBytes(ElfGlibcxxFix.FindLibStdCxx()!);
        var copy = (byte[])lib.Clone();
        Assert.Equal(ElfPatchOutcome.NotRequired, ElfGlibcxxFix.Patch(copy));
        Assert.Equal(lib, copy);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "link")]
    private static extern int Link(string existing, string newName);

    [Fact]
    public void FileCopyPatchNeverWritesThroughAHardLink()
    {
        using var dir = new TempDir();
        string cacheLike = dir.Combine("cache.so");
        string output = dir.Combine("output.so");
        File.WriteAllBytes(cacheLike, Original());
        Assert.Equal(0, Link(cacheLike, output));

        Assert.Equal(ElfPatchOutcome.Patched, ElfGlibcxxFix.PatchFileCopy(output));
        Assert.Equal(Original(), File.ReadAllBytes(cacheLike));
        var patched = Original();
        ElfGlibcxxFix.Patch(patched);
        Assert.Equal(patched, File.ReadAllBytes(output));
        Assert.Equal(File.GetLastWriteTimeUtc(cacheLike), File.GetLastWriteTimeUtc(output));
        Assert.Equal(ElfPatchOutcome.AlreadyPatched, ElfGlibcxxFix.PatchFileCopy(output));
    }

    [Fact]
    public void TorchSharpLoadsAndMultiplies()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var a = torch.randn(3, 5, dtype: torch.ScalarType.Float64);
        var b = torch.randn(5, 2, dtype: torch.ScalarType.Float64);
        var c = a.matmul(b);
        var av = a.data<double>().ToArray();
        var bv = b.data<double>().ToArray();
        var cv = c.data<double>().ToArray();
        Assert.Equal(new long[] { 3, 2 }, c.shape);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
            {
                double s = 0;
                for (int k = 0; k < 5; k++) s += av[i * 5 + k] * bv[k * 2 + j];
                Assertions.Close(s, cv[i * 2 + j], 1e-12, $"c[{i},{j}]");
            }
        Assert.True(av.Distinct().Count() > 10, "randn produced varied values");
    }
}
