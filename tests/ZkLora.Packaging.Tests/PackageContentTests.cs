using System.IO.Compression;
using System.Xml.Linq;
using Xunit;

namespace ZkLora.Packaging.Tests;

/// <summary>What every package must carry, and what the verifier-only packages must not pull in.</summary>
[Collection(LocalFeedCollection.Name)]
public sealed class PackageContentTests(LocalFeed feed)
{
    private sealed record Nuspec(string Id, string Version, XElement Metadata, IReadOnlyList<string> Files)
    {
        public string? Get(string name) => Metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

        public IReadOnlyList<(string Id, string Version)> Dependencies =>
            Metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
                .Select(e => ((string)e.Attribute("id")!, (string)e.Attribute("version")!)).ToList();
    }

    private Nuspec Read(string id)
    {
        string path = Path.Combine(feed.FeedDirectory, $"{id}.{LocalFeed.Version}.nupkg");
        Assert.True(File.Exists(path), $"{path} was not packed:\n{feed.Pack?.Describe()}");
        using var zip = ZipFile.OpenRead(path);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = entry.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        var files = zip.Entries.Select(e => e.FullName).ToList();
        return new Nuspec((string)metadata.Elements().Single(e => e.Name.LocalName == "id"),
            (string)metadata.Elements().Single(e => e.Name.LocalName == "version"), metadata, files);
    }

    public static TheoryData<string> LibraryIds => new(LocalFeed.Libraries);

    [Theory]
    [MemberData(nameof(LibraryIds))]
    public void Library_package_has_metadata_readme_docs_and_symbols(string id)
    {
        var p = Read(id);
        Assert.Equal(id, p.Id);
        Assert.Equal(LocalFeed.Version, p.Version);
        Assert.False(string.IsNullOrWhiteSpace(p.Get("description")), "no description");
        Assert.Contains("zero-knowledge", p.Get("tags") ?? "");
        Assert.Equal("MIT", p.Get("license"));
        Assert.Equal("README.md", p.Get("readme"));
        Assert.Contains("README.md", p.Files);
        Assert.Contains($"lib/net10.0/{id}.dll", p.Files);
        Assert.Contains($"lib/net10.0/{id}.xml", p.Files);
        Assert.True(File.Exists(Path.Combine(feed.FeedDirectory, $"{id}.{LocalFeed.Version}.snupkg")), $"no symbol package for {id}");
    }

    [Theory]
    [InlineData("ZkLora.Math")]
    [InlineData("ZkLora.Proofs")]
    [InlineData("ZkLora.Verification")]
    public void Verifier_packages_do_not_pull_TorchSharp(string id)
    {
        // Walk the dependency closure: ours from the feed, third-party by id only (TorchSharp's
        // own packages are named TorchSharp*, libtorch*).
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<string>([id]);
        while (pending.TryDequeue(out var current))
        {
            if (!seen.Add(current)) continue;
            if (!current.StartsWith("ZkLora.", StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var (dep, _) in Read(current).Dependencies) pending.Enqueue(dep);
        }
        Assert.DoesNotContain(seen, d => d.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)
                                          || d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase)
                                          || d.Equals("ZkLora.Model", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Model_package_carries_the_TorchSharp_native_fix_for_consumers()
    {
        var p = Read("ZkLora.Model");
        Assert.Contains("buildTransitive/ZkLora.Model.targets", p.Files);
        Assert.Contains("buildTransitive/ZkLora.TorchSharpNative.targets", p.Files);
        Assert.Contains("buildTransitive/ElfGlibcxxFix.cs", p.Files);
        Assert.Contains(p.Dependencies, d => d.Id == "TorchSharp-cpu");
    }

    [Fact]
    public void Api_package_depends_on_the_same_version_of_Verification_and_Model()
    {
        var deps = Read("ZkLora.Api").Dependencies;
        Assert.Contains(("ZkLora.Verification", LocalFeed.Version), deps);
        Assert.Contains(("ZkLora.Model", LocalFeed.Version), deps);
        Assert.Contains(("ZkLora.Proofs", LocalFeed.Version), Read("ZkLora.Verification").Dependencies);
    }

    [Fact]
    public void Tool_is_packed_as_a_pointer_package_with_one_package_per_platform()
    {
        var pointer = Read("zklora");
        Assert.Equal("MIT", pointer.Get("license"));
        Assert.Contains("README.md", pointer.Files);
        Assert.Contains(pointer.Metadata.Descendants(), e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
        foreach (string rid in new[] { "linux-x64", "osx-arm64", "win-x64" })
        {
            var platform = Read($"zklora.{rid}");
            Assert.Contains(platform.Files, f => f.StartsWith($"tools/net10.0/{rid}/", StringComparison.Ordinal) && f.EndsWith("zklora.dll", StringComparison.Ordinal));
            Assert.Contains(platform.Files, f => f.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
        }
    }
}
