using System.Xml.Linq;
using Xunit;

namespace ZkLora.Packaging.Tests;

/// <summary>
/// Packs ZkLora.Math, ZkLora.Proofs, ZkLora.Model, ZkLora.Verification, ZkLora.Api and the `zklora` tool once
/// (<c>dotnet pack ZkLora.Packages.slnf</c>) into a temporary folder feed, and writes a NuGet
/// configuration whose ONLY source is that folder. Third-party packages (FSharp.Core, TorchSharp,
/// …) come from a read-only fallback folder of links into the machine's package cache with every
/// zklora.* entry left out, so nothing of ours can come from anywhere but the fresh feed, and the
/// test needs no network. Our packages are extracted into a temporary global packages folder.
/// </summary>
public sealed class LocalFeed : IAsyncLifetime
{
    /// <summary>The version the packages carry (Directory.Build.props).</summary>
    public const string Version = "0.1.0";

    /// <summary>The library packages, in dependency order.</summary>
    public static readonly string[] Libraries = ["ZkLora.Math", "ZkLora.Proofs", "ZkLora.Model", "ZkLora.Verification", "ZkLora.Api"];

    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(15);

    /// <summary>The repository root (where ZkLora.sln is).</summary>
    public string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Temporary root of everything this fixture writes.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("zklora-packaging-").FullName;

    /// <summary>The folder feed holding the freshly packed .nupkg/.snupkg files.</summary>
    public string FeedDirectory => Path.Combine(Root, "feed");

    /// <summary>The NuGet.config that makes <see cref="FeedDirectory"/> the only source.</summary>
    public string NuGetConfigPath => Path.Combine(Root, "NuGet.config");

    /// <summary>Where restores extract our packages (never the machine's cache).</summary>
    public string GlobalPackagesDirectory => Path.Combine(Root, "global-packages");

    /// <summary>The output of the pack command, for diagnostics.</summary>
    public ProcessResult? Pack { get; private set; }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(FeedDirectory);
        Directory.CreateDirectory(GlobalPackagesDirectory);
        Pack = await Processes.DotnetAsync(RepositoryRoot, PackTimeout,
            "pack", "ZkLora.Packages.slnf", "-c", "Release", "-o", FeedDirectory, "-nologo", "-v", "minimal");
        if (Pack.ExitCode != 0) throw new InvalidOperationException("dotnet pack failed:\n" + Pack.Describe());

        string fallback = Path.Combine(Root, "third-party");
        Directory.CreateDirectory(fallback);
        string machineCache = await MachinePackageCacheAsync();
        foreach (string package in Directory.EnumerateDirectories(machineCache))
        {
            string id = Path.GetFileName(package);
            if (id.StartsWith("zklora", StringComparison.OrdinalIgnoreCase)) continue;
            Directory.CreateSymbolicLink(Path.Combine(fallback, id), package);
        }

        new XDocument(
            new XElement("configuration",
                new XElement("packageSources",
                    new XElement("clear"),
                    new XElement("add", new XAttribute("key", "zklora-under-test"), new XAttribute("value", FeedDirectory))),
                new XElement("config",
                    new XElement("add", new XAttribute("key", "globalPackagesFolder"), new XAttribute("value", GlobalPackagesDirectory))),
                new XElement("fallbackPackageFolders",
                    new XElement("clear"),
                    new XElement("add", new XAttribute("key", "third-party"), new XAttribute("value", fallback)))))
            .Save(NuGetConfigPath);
    }

    /// <summary>Copies a folder of the repository (without bin/obj) under <see cref="Root"/>, with this feed's NuGet.config.</summary>
    public string CopyWithFeedConfig(string repositoryRelative, string name)
    {
        string source = Path.Combine(RepositoryRoot, repositoryRelative);
        string target = Path.Combine(Root, name);
        CopyTree(source, target);
        foreach (string config in Directory.EnumerateFiles(target, "*.config", SearchOption.AllDirectories)
                     .Where(f => Path.GetFileName(f).Equals("nuget.config", StringComparison.OrdinalIgnoreCase)))
            File.Delete(config);
        File.Copy(NuGetConfigPath, Path.Combine(target, "NuGet.config"));
        return target;
    }

    private static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (string dir in Directory.EnumerateDirectories(source))
        {
            string name = Path.GetFileName(dir);
            if (name is "bin" or "obj") continue;
            CopyTree(dir, Path.Combine(target, name));
        }
    }

    /// <summary>The machine's global packages folder (where the solution's restore put third-party packages).</summary>
    private async Task<string> MachinePackageCacheAsync()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(fromEnv)) return fromEnv;
        var locals = await Processes.DotnetAsync(RepositoryRoot, TimeSpan.FromMinutes(2), "nuget", "locals", "global-packages", "--list");
        const string prefix = "global-packages:";
        string? line = locals.StdOut.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        if (locals.ExitCode != 0 || line is null) throw new InvalidOperationException("cannot locate the NuGet global packages folder:\n" + locals.Describe());
        string path = line[prefix.Length..].Trim();
        if (!Directory.Exists(path)) throw new InvalidOperationException($"the NuGet global packages folder {path} does not exist: run scripts/setup.sh first");
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ZkLora.Packages.slnf"))) return dir.FullName;
        throw new InvalidOperationException($"no ZkLora.Packages.slnf above {AppContext.BaseDirectory}");
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        if (Environment.GetEnvironmentVariable("ZKLORA_KEEP_PACKAGING_TEMP") != "1")
        {
            try { Directory.Delete(Root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return Task.CompletedTask;
    }
}

/// <summary>All packaging tests share one packed feed and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class LocalFeedCollection : ICollectionFixture<LocalFeed>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "local feed";
}
