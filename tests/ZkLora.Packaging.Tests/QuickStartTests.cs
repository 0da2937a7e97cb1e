using System.Text.RegularExpressions;
using Xunit;

namespace ZkLora.Packaging.Tests;

/// <summary>
/// The C# quick start shown in README.md and in the ZkLora.Api package README is compiled against
/// the packages from the local feed and run to a successful verification, so the documentation
/// cannot drift from the API.
/// </summary>
[Collection(LocalFeedCollection.Name)]
public sealed partial class QuickStartTests(LocalFeed feed)
{
    /// <summary>The marker line just above the code block, in both READMEs.</summary>
    public const string Marker = "<!-- quickstart: compiled and run by tests/ZkLora.Packaging.Tests -->";

    [GeneratedRegex(@"\A\s*```csharp\n(?<code>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private string QuickStartOf(string readme)
    {
        string text = File.ReadAllText(Path.Combine(feed.RepositoryRoot, readme)).ReplaceLineEndings("\n");
        int at = text.IndexOf(Marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{readme} has no quick-start marker");
        var match = CodeBlock().Match(text[(at + Marker.Length)..]);
        Assert.True(match.Success, $"{readme}: no ```csharp block right after the quick-start marker");
        return match.Groups["code"].Value;
    }

    [Fact]
    public void Both_READMEs_show_the_same_quick_start()
    {
        Assert.Equal(QuickStartOf("README.md"), QuickStartOf("src/ZkLora.Api/README.md"));
    }

    [Fact]
    public async Task README_quick_start_compiles_against_the_packages_and_verifies()
    {
        string project = Path.Combine(feed.Root, "quickstart");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), QuickStartOf("README.md"));
        await File.WriteAllTextAsync(Path.Combine(project, "QuickStart.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ZkLora.Api" Version="{LocalFeed.Version}" />
              </ItemGroup>
            </Project>
            """);
        // Isolate from any Directory.Build.* / central package management above the temp folder.
        await File.WriteAllTextAsync(Path.Combine(project, "Directory.Build.props"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(project, "Directory.Build.targets"), "<Project />");
        await File.WriteAllTextAsync(Path.Combine(project, "Directory.Packages.props"), "<Project />");
        File.Copy(feed.NuGetConfigPath, Path.Combine(project, "NuGet.config"));

        var build = await Processes.DotnetAsync(project, TimeSpan.FromMinutes(10), "build", "-c", "Release", "-nologo", "-v", "minimal");
        Assert.True(build.ExitCode == 0, build.Describe());
        var run = await Processes.DotnetAsync(project, TimeSpan.FromMinutes(10),
            Path.Combine(project, "bin", "Release", "net10.0", "QuickStart.dll"));
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Matches(@"verified [1-9][0-9]* proofs", run.StdOut);
    }
}
