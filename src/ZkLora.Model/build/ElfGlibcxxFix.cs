// The TorchSharp 0.107 native shim (libLibTorchSharp.so) is built with GCC 13 and so records a
// dependency on GLIBCXX_3.4.32, a version Debian 12's libstdc++ (GCC 12, up to 3.4.30) does not
// define. The only symbol it takes from that version is std::ios_base_library_init(), which GCC
// 13's <iostream> merely references to pin the library version; nothing calls it. Making that one
// symbol reference WEAK and marking the version requirement VER_FLG_WEAK lets the dynamic loader
// accept the older libstdc++ without changing any behaviour.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (see
// ZkLora.TorchSharpNative.targets; it targets netstandard2.0, so only plain byte[] code here) and
// into the test project (with ZKLORA_ELF_PATCH_NO_TASK defined, which drops the MSBuild task class).
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ZkLora.Build
{
    /// <summary>What <see cref="ElfGlibcxxFix.Patch"/> did to an image.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>Both fields were changed.</summary>
        Patched,
        /// <summary>The image already carried both edits; nothing was changed.</summary>
        AlreadyPatched,
        /// <summary>The image does not require GLIBCXX_3.4.32 at all; nothing to do.</summary>
        NotRequired,
    }

    /// <summary>The ELF image does not have the structure the fix expects.</summary>
    public sealed class ElfPatchException : Exception
    {
        /// <summary>Creates the exception with a message naming what was not found.</summary>
        public ElfPatchException(string message) : base(message) { }
    }

    /// <summary>Reads the parts of a little-endian ELF64 shared object that the fix needs.</summary>
    internal sealed class Elf64Image
    {
        internal const uint ShtStrtab = 3;
        internal const uint ShtDynsym = 11;
        internal const uint ShtGnuVerdef = 0x6ffffffd;
        internal const uint ShtGnuVerneed = 0x6ffffffe;
        internal const uint ShtGnuVersym = 0x6fffffff;

        internal sealed class Section
        {
            public uint Type;
            public ulong Offset;
            public ulong Size;
            public uint Link;
            public uint Info;
            public ulong EntSize;
        }

        private readonly byte[] _b;
        internal readonly List<Section> Sections = new List<Section>();

        internal Elf64Image(byte[] image, string what)
        {
            _b = image;
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
                throw new ElfPatchException(what + " is not an ELF file.");
            if (image[4] != 2) throw new ElfPatchException(what + " is not a 64-bit ELF file (EI_CLASS != ELFCLASS64).");
            if (image[5] != 1) throw new ElfPatchException(what + " is not a little-endian ELF file (EI_DATA != ELFDATA2LSB).");
            ulong shoff = U64(0x28);
            int shentsize = U16(0x3A);
            ulong shnum = U16(0x3C);
            if (shoff == 0) throw new ElfPatchException(what + " has no section header table.");
            if (shentsize != 64) throw new ElfPatchException(what + " has section headers of " + shentsize + " bytes, expected 64.");
            CheckRange(shoff, 64, what + ": section header table");
            if (shnum == 0) shnum = U64(checked((int)shoff) + 32); // extended numbering: count in section 0's sh_size
            if (shnum > (ulong)image.Length / 64) throw new ElfPatchException(what + ": implausible section count " + shnum + ".");
            CheckRange(shoff, checked(shnum * 64), what + ": section header table");
            for (ulong i = 0; i < shnum; i++)
            {
                int h = checked((int)(shoff + i * 64));
                var s = new Section
                {
                    Type = U32(h + 4),
                    Offset = U64(h + 24),
                    Size = U64(h + 32),
                    Link = U32(h + 40),
                    Info = U32(h + 44),
                    EntSize = U64(h + 56),
                };
                if (s.Type != 8 /* SHT_NOBITS */ && s.Type != 0) CheckRange(s.Offset, s.Size, what + ": section " + i);
                Sections.Add(s);
            }
            // Section names (e_shstrndx) are not needed: sections are found by type and linked by sh_link.
        }

        internal byte[] Bytes => _b;

        internal void CheckRange(ulong offset, ulong length, string what)
        {
            if (offset > (ulong)_b.Length || length > (ulong)_b.Length - offset)
                throw new ElfPatchException(what + " lies outside the file.");
        }

        internal ushort U16(int o) => (ushort)(_b[o] | (_b[o + 1] << 8));
        internal uint U32(int o) => (uint)(_b[o] | (_b[o + 1] << 8) | (_b[o + 2] << 16) | (_b[o + 3] << 24));
        internal ulong U64(int o) => U32(o) | ((ulong)U32(o + 4) << 32);
        internal void W16(int o, ushort v) { _b[o] = (byte)v; _b[o + 1] = (byte)(v >> 8); }

        internal Section? Single(uint type, string what)
        {
            Section? found = null;
            foreach (var s in Sections)
            {
                if (s.Type != type) continue;
                if (found != null) throw new ElfPatchException(what + ": more than one section of type 0x" + type.ToString("x") + ".");
                found = s;
            }
            return found;
        }

        internal Section Linked(Section s, uint expectedType, string what)
        {
            if (s.Link == 0 || s.Link >= Sections.Count) throw new ElfPatchException(what + ": sh_link " + s.Link + " does not name a section.");
            var t = Sections[(int)s.Link];
            if (t.Type != expectedType) throw new ElfPatchException(what + ": sh_link points to a section of type 0x" + t.Type.ToString("x") + ", expected 0x" + expectedType.ToString("x") + ".");
            return t;
        }

        /// <summary>The NUL-terminated string at <paramref name="index"/> in string table <paramref name="strtab"/>.</summary>
        internal string Str(Section strtab, uint index, string what)
        {
            if (index >= strtab.Size) throw new ElfPatchException(what + ": string index " + index + " is outside the string table.");
            int start = checked((int)(strtab.Offset + index));
            int end = checked((int)(strtab.Offset + strtab.Size));
            int i = start;
            while (i < end && _b[i] != 0) i++;
            if (i == end) throw new ElfPatchException(what + ": unterminated string in the string table.");
            return Encoding.ASCII.GetString(_b, start, i - start);
        }
    }

    /// <summary>The GLIBCXX_3.4.32 fix for libLibTorchSharp.so and the host checks that decide when it applies.</summary>
    public static class ElfGlibcxxFix
    {
        /// <summary>The only symbol libLibTorchSharp.so takes from GLIBCXX_3.4.32.</summary>
        public const string Symbol = "_ZSt21ios_base_library_initv";
        /// <summary>The symbol version Debian 12's libstdc++ lacks.</summary>
        public const string Version = "GLIBCXX_3.4.32";
        /// <summary>The library that defines <see cref="Version"/>.</summary>
        public const string Library = "libstdc++.so.6";

        private const byte StbGlobal = 1;
        private const byte StbWeak = 2;
        private const ushort VerFlgWeak = 0x2;

        /// <summary>
        /// Applies the fix to an ELF image in memory: <see cref="Symbol"/>'s binding GLOBAL to WEAK in
        /// <c>.dynsym</c>, and VER_FLG_WEAK on the <see cref="Version"/> requirement in <c>.gnu.version_r</c>.
        /// Idempotent. Throws <see cref="ElfPatchException"/> if the structures are not as expected, or if
        /// any other symbol needs <see cref="Version"/> (weakening would then hide a real dependency).
        /// </summary>
        public static ElfPatchOutcome Patch(byte[] image)
        {
            const string what = "libLibTorchSharp.so";
            var elf = new Elf64Image(image, what);

            var verneed = elf.Single(Elf64Image.ShtGnuVerneed, what)
                ?? throw new ElfPatchException(what + " has no .gnu.version_r (SHT_GNU_verneed) section.");
            var verStr = elf.Linked(verneed, Elf64Image.ShtStrtab, what + " .gnu.version_r");

            // Walk the Elf64_Verneed list (sh_info entries) to the GLIBCXX_3.4.32 Elf64_Vernaux of libstdc++.
            int auxOffset = -1;
            ushort versionIndex = 0;
            int needOffset = checked((int)verneed.Offset);
            int needEnd = checked((int)(verneed.Offset + verneed.Size));
            for (uint n = 0; n < verneed.Info; n++)
            {
                if (needOffset < (int)verneed.Offset || needOffset + 16 > needEnd) throw new ElfPatchException(what + ": Elf64_Verneed entry outside .gnu.version_r.");
                ushort cnt = elf.U16(needOffset + 2);
                string file = elf.Str(verStr, elf.U32(needOffset + 4), what + " vn_file");
                uint aux = elf.U32(needOffset + 8);
                uint next = elf.U32(needOffset + 12);
                int a = checked(needOffset + (int)aux);
                for (int k = 0; k < cnt; k++)
                {
                    if (a < (int)verneed.Offset || a + 16 > needEnd) throw new ElfPatchException(what + ": Elf64_Vernaux entry outside .gnu.version_r.");
                    string name = elf.Str(verStr, elf.U32(a + 8), what + " vna_name");
                    if (file == Library && name == Version)
                    {
                        if (auxOffset >= 0) throw new ElfPatchException(what + " requires " + Version + " twice.");
                        auxOffset = a;
                        versionIndex = (ushort)(elf.U16(a + 6) & 0x7fff);
                    }
                    a = checked(a + (int)elf.U32(a + 12));
                }
                if (next == 0) break;
                needOffset = checked(needOffset + (int)next);
            }
            if (auxOffset < 0) return ElfPatchOutcome.NotRequired;

            var dynsym = elf.Single(Elf64Image.ShtDynsym, what)
                ?? throw new ElfPatchException(what + " has no .dynsym section.");
            if (dynsym.EntSize != 24) throw new ElfPatchException(what + ": .dynsym entries are " + dynsym.EntSize + " bytes, expected 24.");
            var dynStr = elf.Linked(dynsym, Elf64Image.ShtStrtab, what + " .dynsym");
            var versym = elf.Single(Elf64Image.ShtGnuVersym, what)
                ?? throw new ElfPatchException(what + " has no .gnu.version (SHT_GNU_versym) section.");
            ulong symCount = dynsym.Size / 24;
            if (versym.Size < symCount * 2) throw new ElfPatchException(what + ": .gnu.version is shorter than .dynsym.");

            int symOffset = -1;
            var others = new List<string>();
            for (ulong i = 1; i < symCount; i++)
            {
                int s = checked((int)(dynsym.Offset + i * 24));
                ushort ver = (ushort)(elf.U16(checked((int)(versym.Offset + i * 2))) & 0x7fff);
                string name = elf.Str(dynStr, elf.U32(s), what + " st_name");
                if (name == Symbol)
                {
                    if (symOffset >= 0) throw new ElfPatchException(what + " has " + Symbol + " twice in .dynsym.");
                    if (elf.U16(s + 6) != 0) throw new ElfPatchException(what + " defines " + Symbol + " instead of importing it.");
                    if (ver != versionIndex) throw new ElfPatchException(what + ": " + Symbol + " is not bound to " + Version + ".");
                    symOffset = s;
                }
                else if (ver == versionIndex)
                {
                    others.Add(name);
                }
            }
            if (symOffset < 0) throw new ElfPatchException(what + " requires " + Version + " but has no " + Symbol + " in .dynsym.");
            if (others.Count > 0)
                throw new ElfPatchException(what + " needs other symbols from " + Version + " (" + string.Join(", ", others) +
                    "); weakening the version would hide them, so this host needs a newer libstdc++ (GCC 13 or later).");

            byte info = image[symOffset + 4];
            byte bind = (byte)(info >> 4);
            ushort flags = elf.U16(auxOffset + 4);
            if (bind != StbGlobal && bind != StbWeak) throw new ElfPatchException(what + ": " + Symbol + " has binding " + bind + ", expected GLOBAL or WEAK.");
            if (bind == StbWeak && (flags & VerFlgWeak) != 0) return ElfPatchOutcome.AlreadyPatched;

            image[symOffset + 4] = (byte)((StbWeak << 4) | (info & 0xf));
            elf.W16(auxOffset + 4, (ushort)(flags | VerFlgWeak));
            return ElfPatchOutcome.Patched;
        }

        /// <summary>The versions of <paramref name="library"/> that an ELF image requires (its <c>.gnu.version_r</c>).</summary>
        public static IReadOnlyList<string> RequiredVersions(byte[] image, string library)
        {
            var elf = new Elf64Image(image, "ELF image");
            var result = new List<string>();
            var verneed = elf.Single(Elf64Image.ShtGnuVerneed, "ELF image");
            if (verneed == null) return result;
            var str = elf.Linked(verneed, Elf64Image.ShtStrtab, ".gnu.version_r");
            int end = checked((int)(verneed.Offset + verneed.Size));
            int n = checked((int)verneed.Offset);
            for (uint i = 0; i < verneed.Info; i++)
            {
                if (n + 16 > end) throw new ElfPatchException("Elf64_Verneed entry outside .gnu.version_r.");
                string file = elf.Str(str, elf.U32(n + 4), "vn_file");
                int a = checked(n + (int)elf.U32(n + 8));
                for (int k = 0; k < elf.U16(n + 2); k++)
                {
                    if (a < (int)verneed.Offset || a + 16 > end) throw new ElfPatchException("Elf64_Vernaux entry outside .gnu.version_r.");
                    if (file == library) result.Add(elf.Str(str, elf.U32(a + 8), "vna_name"));
                    a = checked(a + (int)elf.U32(a + 12));
                }
                uint next = elf.U32(n + 12);
                if (next == 0) break;
                n = checked(n + (int)next);
            }
            return result;
        }

        /// <summary>The version names a shared library defines (its <c>.gnu.version_d</c>), e.g. GLIBCXX_3.4.30.</summary>
        public static IReadOnlyList<string> DefinedVersions(byte[] image)
        {
            var elf = new Elf64Image(image, "shared library");
            var verdef = elf.Single(Elf64Image.ShtGnuVerdef, "shared library")
                ?? throw new ElfPatchException("The shared library has no .gnu.version_d (SHT_GNU_verdef) section.");
            var str = elf.Linked(verdef, Elf64Image.ShtStrtab, ".gnu.version_d");
            var result = new List<string>();
            int end = checked((int)(verdef.Offset + verdef.Size));
            int d = checked((int)verdef.Offset);
            for (uint i = 0; i < verdef.Info; i++)
            {
                if (d + 20 > end) throw new ElfPatchException("Elf64_Verdef entry outside .gnu.version_d.");
                int aux = checked(d + (int)elf.U32(d + 12));
                if (aux < (int)verdef.Offset || aux + 8 > end) throw new ElfPatchException("Elf64_Verdaux entry outside .gnu.version_d.");
                result.Add(elf.Str(str, elf.U32(aux), "vda_name"));
                uint next = elf.U32(d + 16);
                if (next == 0) break;
                d = checked(d + (int)next);
            }
            return result;
        }

        /// <summary>
        /// The libstdc++.so.6 the dynamic loader uses for this process: the one mapped into it (the .NET
        /// runtime links libstdc++), else the first found on LD_LIBRARY_PATH and the standard directories.
        /// Null when none is found.
        /// </summary>
        public static string? FindLibStdCxx()
        {
            try
            {
                foreach (var line in File.ReadAllLines("/proc/self/maps"))
                {
                    int slash = line.IndexOf('/');
                    if (slash < 0) continue;
                    string path = line.Substring(slash).Trim();
                    string file = Path.GetFileName(path);
                    if ((file == Library || file.StartsWith(Library + ".", StringComparison.Ordinal)) && File.Exists(path)) return path;
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }

            var dirs = new List<string>();
            string? ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ld)) dirs.AddRange(ld!.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries));
            dirs.AddRange(new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib" });
            foreach (var dir in dirs)
            {
                string candidate = Path.Combine(dir, Library);
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }

        /// <summary>
        /// Patches the file at <paramref name="path"/> by writing a fresh file (copy, patch, rename over),
        /// so that a hard link into the NuGet cache is never written through. Keeps the original
        /// modification time so incremental copies treat the file as up to date.
        /// </summary>
        public static ElfPatchOutcome PatchFileCopy(string path)
        {
            byte[] image = File.ReadAllBytes(path);
            var outcome = Patch(image);
            if (outcome != ElfPatchOutcome.Patched) return outcome;
            DateTime mtime = File.GetLastWriteTimeUtc(path);
            string temp = path + ".zklora-" + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                File.Copy(path, temp, false); // a new inode with the original's permissions
                using (var fs = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None))
                {
                    fs.Write(image, 0, image.Length);
                    fs.SetLength(image.Length);
                }
                File.SetLastWriteTimeUtc(temp, mtime);
                File.Delete(path);          // unlinks only this directory entry, never the cache file's data
                File.Move(temp, path);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            return outcome;
        }
    }

#if !ZKLORA_ELF_PATCH_NO_TASK
    /// <summary>
    /// MSBuild task: patches copies of libLibTorchSharp.so in an output folder when the host's libstdc++
    /// lacks GLIBCXX_3.4.32. Does nothing on other hosts or operating systems.
    /// </summary>
    public sealed class ZkLoraPatchTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        /// <summary>Output-folder copies of libLibTorchSharp.so (missing ones are skipped).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Optional override of the libstdc++.so.6 to check.</summary>
        public string LibStdCxx { get; set; } = "";

        /// <inheritdoc />
        public override bool Execute()
        {
            var files = new List<string>();
            foreach (var item in Files)
            {
                string p = item.GetMetadata("FullPath");
                if (File.Exists(p) && !files.Contains(p)) files.Add(p);
            }
            if (files.Count == 0) return true;
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "zklora: not a Linux host; libLibTorchSharp.so left as is.");
                return true;
            }
            string? lib = string.IsNullOrEmpty(LibStdCxx) ? ElfGlibcxxFix.FindLibStdCxx() : LibStdCxx;
            if (lib == null || !File.Exists(lib))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                    "zklora: no libstdc++.so.6 found on this host; libLibTorchSharp.so left as is (TorchSharp will not load without a C++ runtime).");
                return true;
            }
            try
            {
                var defined = new HashSet<string>(ElfGlibcxxFix.DefinedVersions(File.ReadAllBytes(lib)));
                if (defined.Contains(ElfGlibcxxFix.Version))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                        "zklora: " + lib + " defines " + ElfGlibcxxFix.Version + "; libLibTorchSharp.so needs no patch.");
                    return true;
                }
                foreach (var file in files)
                {
                    var missing = new List<string>();
                    foreach (var v in ElfGlibcxxFix.RequiredVersions(File.ReadAllBytes(file), ElfGlibcxxFix.Library))
                        if (!defined.Contains(v) && v != ElfGlibcxxFix.Version) missing.Add(v);
                    if (missing.Count > 0)
                    {
                        Log.LogError("zklora: " + file + " needs " + string.Join(", ", missing) + " from " + lib +
                            ", which it does not define; only the " + ElfGlibcxxFix.Version + " reference can be patched. Use a newer libstdc++.");
                        return false;
                    }
                    var outcome = ElfGlibcxxFix.PatchFileCopy(file);
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                        "zklora: " + file + ": " + outcome + " (" + lib + " lacks " + ElfGlibcxxFix.Version + ").");
                }
                return true;
            }
            catch (ElfPatchException e)
            {
                Log.LogError("zklora: cannot patch libLibTorchSharp.so for this host's libstdc++ (" + lib + "): " + e.Message);
                return false;
            }
            catch (IOException e)
            {
                Log.LogError("zklora: I/O error while patching libLibTorchSharp.so: " + e.Message);
                return false;
            }
        }
    }
#endif
}
