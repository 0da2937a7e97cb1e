using Xunit;

namespace ZkLora.Packaging.Tests;

/// <summary>
/// samples/ZkLora.Sample restored from the local feed alone, built and run: both parties in one
/// process on the demo model, then verification of the proof directory given on the command line
/// — and rejection once a proof file is tampered with. The verify-only sample
/// (samples/ZkLora.VerifySample, ZkLora.Verification alone: its restore has no TorchSharp, no
/// ZkLora.Api, no ZkLora.Model) checks the same proofs, accepting and then rejecting them.
/// </summary>
[Collection(LocalFeedCollection.Name)]
public sealed class SampleTests(LocalFeed feed)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Sample_restores_from_the_local_feed_runs_both_parties_and_verifies()
    {
        string samples = feed.CopyWithFeedConfig("samples", "samples");
        string project = Path.Combine(samples, "ZkLora.Sample");

        var build = await Processes.DotnetAsync(project, BuildTimeout, "build", "-c", "Release", "-nologo", "-v", "minimal");
        Assert.True(build.ExitCode == 0, build.Describe());
        // Our packages were extracted from the feed into the temporary folder, not found elsewhere.
        foreach (string id in LocalFeed.Libraries)
            Assert.True(Directory.Exists(Path.Combine(feed.GlobalPackagesDirectory, id.ToLowerInvariant(), LocalFeed.Version)),
                $"{id} {LocalFeed.Version} was not restored from the local feed");

        string verifyProject = Path.Combine(samples, "ZkLora.VerifySample");
        var verifyBuild = await Processes.DotnetAsync(verifyProject, BuildTimeout, "build", "-c", "Release", "-nologo", "-v", "minimal");
        Assert.True(verifyBuild.ExitCode == 0, verifyBuild.Describe());
        string assets = await File.ReadAllTextAsync(Path.Combine(verifyProject, "obj", "project.assets.json"));
        Assert.Contains("\"ZkLora.Verification/" + LocalFeed.Version + "\"", assets);
        foreach (string absent in new[] { "TorchSharp", "libtorch", "\"ZkLora.Api/", "\"ZkLora.Model/" })
            Assert.DoesNotContain(absent, assets, StringComparison.OrdinalIgnoreCase);
        string verifyDll = Path.Combine(verifyProject, "bin", "Release", "net10.0", "ZkLora.VerifySample.dll");

        string dll = Path.Combine(project, "bin", "Release", "net10.0", "ZkLora.Sample.dll");
        string outDir = Path.Combine(feed.Root, "sample-run");
        var run = await Processes.DotnetAsync(project, RunTimeout, dll, "--out-dir", outDir);
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Matches(@"verified [1-9][0-9]* proofs", run.StdOut);

        string proofs = Path.Combine(outDir, "contributor", "proofs");
        string transcript = Path.Combine(outDir, "transcript.json");
        string manifest = Path.Combine(outDir, "pinned-manifest.json");
        var verify = await Processes.DotnetAsync(project, RunTimeout, dll, "verify", proofs, transcript, manifest);
        Assert.True(verify.ExitCode == 0, verify.Describe());
        Assert.Matches(@"verified [1-9][0-9]* proofs", verify.StdOut);
        var verifyOnly = await Processes.DotnetAsync(verifyProject, RunTimeout, verifyDll, proofs, transcript, manifest);
        Assert.True(verifyOnly.ExitCode == 0, verifyOnly.Describe());
        Assert.Matches(@"verified [1-9][0-9]* proofs", verifyOnly.StdOut);

        // One flipped byte in one proof: the same command now rejects, with exit code 1.
        string proofFile = Directory.EnumerateFiles(proofs, "*.proof").Order(StringComparer.Ordinal).First();
        byte[] bytes = await File.ReadAllBytesAsync(proofFile);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(proofFile, bytes);
        var rejected = await Processes.DotnetAsync(project, RunTimeout, dll, "verify", proofs, transcript, manifest);
        Assert.True(rejected.ExitCode == 1, rejected.Describe());
        Assert.Contains("REJECTED", rejected.StdErr);
        var rejectedVerifyOnly = await Processes.DotnetAsync(verifyProject, RunTimeout, verifyDll, proofs, transcript, manifest);
        Assert.True(rejectedVerifyOnly.ExitCode == 1, rejectedVerifyOnly.Describe());
        Assert.Contains("REJECTED", rejectedVerifyOnly.StdErr);

        var usage = await Processes.DotnetAsync(project, RunTimeout, dll, "verify", proofs);
        Assert.True(usage.ExitCode == 2, usage.Describe());
        var verifyUsage = await Processes.DotnetAsync(verifyProject, RunTimeout, verifyDll, proofs);
        Assert.True(verifyUsage.ExitCode == 2, verifyUsage.Describe());
    }
}
