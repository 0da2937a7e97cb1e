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

    // Known answers for TorchSharp 0.107.0's libLibTorchSharp.so, located independently with GNU readelf
    // by tests/vectors/libtorchsharp_elf_offsets.sh: the .dynsym st_info byte of
    // _ZSt21ios_base_library_initv (symbol 482) and the vna_flags of the GLIBCXX_3.4.32 Elf64_Vernaux.
    private const string OriginalSha256 = "cf33b1b0bb6bbb9754a768fb5c5d04d9f498603be50e73f55621a0b40ee608b8";
    private const int StInfo = 26052;
    private const int VnaFlags = 260660;
    private const int DynsymOffset = 14480;
    private const int VersymOffset = 253870;
    private const int SymbolIndex = 482;

    [Fact]
    public void CacheFileIsTheKnownRelease()
    {
        Assert.Equal(OriginalSha256, Convert.ToHexStringLower(SHA256.HashData(Original())));
        Assert.Equal(DynsymOffset + 24 * SymbolIndex + 4, StInfo);
    }

    [Fact]
    public void PatchFlipsExactlyTheTwoFieldsAndIsIdempotent()
    {
        var original = Original();
        int stInfo = StInfo, vnaFlags = VnaFlags;
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
        var original = Original();
        Assert.Equal(OriginalSha256, Convert.ToHexStringLower(SHA256.HashData(original)));
        Assert.Equal(0x12, original[StInfo]);
        Assert.Equal(0x00, original[VnaFlags]);
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
        ushort target = BitConverter.ToUInt16(image, VersymOffset + SymbolIndex * 2);
        Assert.Equal(18, target & 0x7fff); // GLIBCXX_3.4.32 is version index 18 in this file
        BitConverter.GetBytes(target).CopyTo(image, VersymOffset + 1 * 2);
        var e = Assert.Throws<ElfPatchException>(() => ElfGlibcxxFix.Patch(image));
        Assert.Contains("other symbols", e.Message);
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
