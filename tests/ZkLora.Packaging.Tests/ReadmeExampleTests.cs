using System.Text.RegularExpressions;
using Xunit;

namespace ZkLora.Packaging.Tests;

/// <summary>
/// The code examples of the package READMEs (src/*/README.md, which NuGet shows on each package's
/// page) and of the repository README are compiled against the packages from the local feed and
/// run, like the quick start, so a renamed namespace or a changed signature fails here instead of
/// in a reader's project. Every example block is marked with <see cref="Marker"/>; the F# ones
/// become a small F# console project, the C# ones a C# console project, referencing only the one
/// package the example is about.
/// </summary>
[Collection(LocalFeedCollection.Name)]
public sealed partial class ReadmeExampleTests(LocalFeed feed)
{
    /// <summary>The marker line just above every example block of a package README.</summary>
    public const string Marker = "<!-- example: compiled and run by tests/ZkLora.Packaging.Tests -->";

    [GeneratedRegex(@"\A\s*```(?<lang>fsharp|csharp)\n(?<code>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex MarkedBlock();

    [GeneratedRegex(@"^```(?<lang>fsharp|csharp|fs|cs|f#|c#)\s*$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex AnyCodeFence();

    /// <summary>
    /// Each README with examples (path from the repository root), the package its examples use,
    /// their language, and a pattern the program's output must match (the examples themselves
    /// also fail on a wrong result).
    /// </summary>
    public static TheoryData<string, string, string, string> Examples => new()
    {
        { "src/ZkLora.Math/README.md", "ZkLora.Math", "fsharp", @"proof of [0-9]+ bytes verified" },
        { "src/ZkLora.Proofs/README.md", "ZkLora.Proofs", "fsharp", @"verified 1 proofs over 1 circuits" },
        { "src/ZkLora.Model/README.md", "ZkLora.Model", "csharp", @"loss [0-9.]+ without, [0-9.]+ with the adapter" },
        { "src/ZkLora.Verification/README.md", "ZkLora.Verification", "csharp", @"config \(20, 63, 127\): accepted\nscaling 1/\(2\^247\+1\): scaling 1/[0-9]+: den is above the verifier's limit [0-9]+\nrejected \(InvalidInput\)" },
        { "README.md", "ZkLora.Math", "fsharp", @"a \* a\^-1 = 1: true, decodes back: true, sqrt: true" },
    };

    private string ReadmeText(string readme) =>
        File.ReadAllText(Path.Combine(feed.RepositoryRoot, readme)).ReplaceLineEndings("\n");

    /// <summary>The marked blocks of a README, in order, with their language.</summary>
    private static List<(string Language, string Code)> MarkedBlocks(string text)
    {
        var blocks = new List<(string, string)>();
        for (int at = text.IndexOf(Marker, StringComparison.Ordinal); at >= 0; at = text.IndexOf(Marker, at + Marker.Length, StringComparison.Ordinal))
        {
            var match = MarkedBlock().Match(text[(at + Marker.Length)..]);
            Assert.True(match.Success, $"no ```fsharp or ```csharp block right after the example marker at offset {at}");
            blocks.Add((match.Groups["lang"].Value, match.Groups["code"].Value));
        }
        return blocks;
    }

    [Fact]
    public void Every_code_block_of_a_README_is_compiled_by_a_test()
    {
        var examples = Examples.Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        var readmes = Directory.EnumerateDirectories(Path.Combine(feed.RepositoryRoot, "src"))
            .Where(dir => File.Exists(Path.Combine(dir, "README.md")))
            .Select(dir => "src/" + Path.GetFileName(dir) + "/README.md")
            .Append("README.md")
            .ToList();
        Assert.Contains("src/ZkLora.Math/README.md", readmes);
        foreach (string readme in readmes)
        {
            string text = ReadmeText(readme);
            int fences = AnyCodeFence().Matches(text).Count;
            int marked = MarkedBlocks(text).Count;
            int quickStart = text.Contains(QuickStartTests.Marker, StringComparison.Ordinal) ? 1 : 0;
            Assert.True(fences == marked + quickStart,
                $"{readme} has {fences} F#/C# code blocks but only {marked + quickStart} are marked for compilation");
            if (marked > 0)
                Assert.True(examples.Contains(readme), $"{readme} has marked examples but no row in ReadmeExampleTests.Examples");
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task README_examples_compile_against_the_packages_and_run(string readme, string package, string language, string expectedOutput)
    {
        var blocks = MarkedBlocks(ReadmeText(readme));
        Assert.NotEmpty(blocks);
        Assert.All(blocks, b => Assert.Equal(language, b.Language));
        string code = string.Join("\n\n", blocks.Select(b => b.Code)) + "\n";

        string project = Path.Combine(feed.Root, "readme-" + readme.Replace('/', '-').Replace(".md", "", StringComparison.Ordinal));
        Directory.CreateDirectory(project);
        bool fsharp = language == "fsharp";
        string source = fsharp ? "Program.fs" : "Program.cs";
        string projectFile = fsharp ? "Example.fsproj" : "Example.csproj";
        await File.WriteAllTextAsync(Path.Combine(project, source), code);
        // F#: FSharp.Core comes from the package's own dependency, not the SDK's implicit one.
        string languageProperties = fsharp
            ? "<DisableImplicitFSharpCoreReference>true</DisableImplicitFSharpCoreReference>"
            : "<Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings>";
        string compile = fsharp ? $"""<ItemGroup><Compile Include="{source}" /></ItemGroup>""" : "";
        await File.WriteAllTextAsync(Path.Combine(project, projectFile), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <AssemblyName>Example</AssemblyName>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                {languageProperties}
              </PropertyGroup>
              {compile}
              <ItemGroup>
                <PackageReference Include="{package}" Version="{LocalFeed.Version}" />
              </ItemGroup>
            </Project>
            """);
        // Isolate from any Directory.Build.* / central package management above the temp folder.
        await File.WriteAllTextAsync(Path.Combine(project, "Directory.Build.props"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(project, "Directory.Build.targets"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(project, "Directory.Packages.props"), "<Project />");
        File.Copy(feed.NuGetConfigPath, Path.Combine(project, "NuGet.config"), overwrite: true);

        var build = await Processes.DotnetAsync(project, TimeSpan.FromMinutes(10), "build", "-c", "Release", "-nologo", "-v", "minimal");
        Assert.True(build.ExitCode == 0, build.Describe());
        var run = await Processes.DotnetAsync(project, TimeSpan.FromMinutes(10),
            Path.Combine(project, "bin", "Release", "net10.0", "Example.dll"));
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Matches(expectedOutput, run.StdOut);
    }
}
