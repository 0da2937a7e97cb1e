using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary>
/// Exit codes: 0 verified, 1 a proof (or commitment, opening) checked and rejected, 2 a usage or
/// input error — and error messages that name the path and say what is wrong with it.
/// </summary>
[Collection(ProvedCollection.Name)]
public class VerifyExitCodeTests(ProvedSession fx)
{
    private CliRun Verify(string proofDir, string transcript, string manifest, params string[] extra) =>
        Zklora.Run(["verify", "--proof-dir", proofDir, "--transcript", transcript, "--expected-adapters", manifest, .. extra]);

    [Fact]
    public void Verified_proofs_exit_0()
    {
        var r = Verify(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Done verifying 2 proofs.", r.StdOut);
    }

    [Fact]
    public void A_tampered_proof_is_rejected_with_exit_1()
    {
        using var dir = new TempDir();
        string copy = dir.Combine("proofs");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(fx.ProofDirectory)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        string proof = Directory.GetFiles(copy, "*.zklora.proof").OrderBy(f => f, StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(proof);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(proof, bytes);
        var r = Verify(copy, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("REJECTED (Tampered)", r.StdErr);
    }

    [Fact]
    public void An_empty_proof_directory_is_a_rejection_not_an_input_error()
    {
        using var dir = new TempDir();
        var r = Verify(dir.Path, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("REJECTED (Coverage)", r.StdErr);
    }

    [Fact]
    public void A_missing_proof_directory_is_an_input_error_naming_the_path()
    {
        string missing = fx.Combine("no-such-dir");
        var r = Verify(missing, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"--proof-dir '{missing}' does not exist", r.StdErr);
        Assert.DoesNotContain("REJECTED", r.StdErr);
    }

    [Fact]
    public void A_file_given_for_the_proof_directory_is_named_as_such()
    {
        var r = Verify(fx.TranscriptPath, fx.TranscriptPath, fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"--proof-dir '{fx.TranscriptPath}' is a file, not a directory", r.StdErr);
    }

    [Fact]
    public void A_directory_given_for_the_transcript_is_not_called_missing()
    {
        var r = Verify(fx.ProofDirectory, fx.ProofDirectory, fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"--transcript '{fx.ProofDirectory}' is a directory, not a file", r.StdErr);
        Assert.DoesNotContain("does not exist", r.StdErr);
    }

    [Fact]
    public void A_missing_manifest_names_its_missing_folder_too()
    {
        string missing = fx.Combine("nowhere", "pinned.json");
        var r = Verify(fx.ProofDirectory, fx.TranscriptPath, missing);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"--expected-adapters '{missing}' does not exist (neither does the folder '{fx.Combine("nowhere")}')", r.StdErr);
    }

    [Fact]
    public void A_malformed_pinned_manifest_is_an_input_error_naming_the_file()
    {
        // The transcript is valid JSON but not a manifest.
        var r = Verify(fx.ProofDirectory, fx.TranscriptPath, fx.TranscriptPath);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(fx.TranscriptPath, r.StdErr);
        Assert.Contains("manifest", r.StdErr);
        Assert.DoesNotContain("REJECTED", r.StdErr);
    }

    [Fact]
    public void Usage_errors_exit_2()
    {
        var missingOption = Zklora.Run("verify", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath);
        Assert.True(missingOption.ExitCode == 2, missingOption.ToString());
        Assert.Contains("--expected-adapters", missingOption.StdErr);
        var unknown = Zklora.Run("verify", "--no-such-option");
        Assert.Equal(2, unknown.ExitCode);
        var unknownCommand = Zklora.Run("no-such-command");
        Assert.Equal(2, unknownCommand.ExitCode);
        var policy = Verify(fx.ProofDirectory, fx.TranscriptPath, fx.PinnedManifestPath, "--max-intermediate-bits", "300");
        Assert.Equal(2, policy.ExitCode);
    }

    [Fact]
    public void Help_exits_0()
    {
        var r = Zklora.Run("verify", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--expected-adapters", r.StdOut);
    }
}

public class ActivationCommandExitCodeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Acts()
    {
        string path = _dir.Combine("acts.json");
        File.WriteAllText(path, """{"input_data": [[0.5, -1.25, 3.0, 7.5]]}""");
        return path;
    }

    [Fact]
    public void Commit_of_a_missing_file_or_a_directory_exits_2_and_says_which()
    {
        string missing = _dir.Combine("missing.json");
        var r = Zklora.Run("commit", missing);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains($"the activation file '{missing}' does not exist", r.StdErr);
        var d = Zklora.Run("commit", _dir.Path);
        Assert.True(d.ExitCode == 2, d.ToString());
        Assert.Contains($"the activation file '{_dir.Path}' is a directory, not a file", d.StdErr);
    }

    [Fact]
    public void A_malformed_activation_file_exits_2()
    {
        string bad = _dir.Combine("bad.json");
        File.WriteAllText(bad, """{"input_data": [1, "two"]}""");
        var r = Zklora.Run("commit", bad);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.StartsWith("zklora commit: ", r.StdErr);
    }

    [Fact]
    public void Verify_commitment_exits_0_on_match_1_on_mismatch_2_on_bad_input()
    {
        string acts = Acts();
        var c = Zklora.Run("commit", acts);
        Assert.Equal(0, c.ExitCode);
        string commitment = c.StdOut.Trim();
        Assert.Equal(0, Zklora.Run("verify-commitment", acts, commitment).ExitCode);

        string other = _dir.Combine("other.json");
        File.WriteAllText(other, """{"input_data": [[0.5, -1.25, 3.0, 7.25]]}""");
        var mismatch = Zklora.Run("verify-commitment", other, commitment);
        Assert.True(mismatch.ExitCode == 1, mismatch.ToString());
        Assert.Contains("commitment NOT verified", mismatch.StdErr);

        var dirAsCommitment = Zklora.Run("verify-commitment", acts, _dir.Path);
        Assert.True(dirAsCommitment.ExitCode == 2, dirAsCommitment.ToString());
        Assert.Contains($"the commitment '{_dir.Path}' is a directory", dirAsCommitment.StdErr);
        Assert.Equal(2, Zklora.Run("verify-commitment", acts, """{"root":"0x00"}""").ExitCode);
    }

    [Fact]
    public void Verify_opening_exits_0_valid_1_rejected_2_for_a_bad_root_or_missing_file()
    {
        string acts = Acts();
        string commitment = Zklora.Run("commit", acts).StdOut.Trim();
        var open = Zklora.Run("open", acts, "--index", "2", "--commitment", commitment);
        Assert.True(open.ExitCode == 0, open.ToString());
        string opening = open.StdOut.Trim();
        string root = System.Text.Json.JsonDocument.Parse(commitment).RootElement.GetProperty("root").GetString()!;

        Assert.Equal(0, Zklora.Run("verify-opening", opening, "--root", root).ExitCode);
        // Another (well-formed) root: the opening is rejected.
        string otherRoot = "0x" + new string('1', 64);
        var rejected = Zklora.Run("verify-opening", opening, "--root", otherRoot);
        Assert.True(rejected.ExitCode == 1, rejected.ToString());
        Assert.Contains("opening rejected", rejected.StdErr);
        // The verifier's own root is malformed: a usage error.
        var badRoot = Zklora.Run("verify-opening", opening, "--root", "0x1234");
        Assert.True(badRoot.ExitCode == 2, badRoot.ToString());
        Assert.Contains("--root '0x1234' is not a SHA-256 digest", badRoot.StdErr);
        string missing = _dir.Combine("opening.json");
        var noFile = Zklora.Run("verify-opening", missing, "--root", root);
        Assert.True(noFile.ExitCode == 2, noFile.ToString());
        Assert.Contains(missing, noFile.StdErr);
        // Opening an index past the end is an input error.
        Assert.Equal(2, Zklora.Run("open", acts, "--index", "4", "--commitment", commitment).ExitCode);
    }
}

/// <summary><c>--expected-adapters-sha256</c>: the manifest file must have exactly the pinned SHA-256.</summary>
[Collection(ProvedCollection.Name)]
public class PinnedDigestTests(ProvedSession fx)
{
    private CliRun Verify(string manifest, params string[] digests) =>
        Zklora.Run(["verify", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", manifest,
            .. digests.SelectMany(d => new[] { "--expected-adapters-sha256", d })]);

    private static string Sha256(string path) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void The_digest_serve_printed_is_the_files_sha256_and_verifies()
    {
        Assert.Equal(fx.ManifestDigest, Sha256(fx.PinnedManifestPath));
        var r = Verify(fx.PinnedManifestPath, fx.ManifestDigest);
        Assert.True(r.ExitCode == 0, r.ToString());
        // Upper-case hex is the same digest.
        Assert.Equal(0, Verify(fx.PinnedManifestPath, fx.ManifestDigest.ToUpperInvariant()).ExitCode);
    }

    [Fact]
    public void A_manifest_with_another_digest_is_rejected_with_exit_1()
    {
        // One digit of the pin changed: the (genuine) file no longer matches the pin.
        char last = fx.ManifestDigest[^1];
        string other = fx.ManifestDigest[..^1] + (last == '0' ? '1' : '0');
        var r = Verify(fx.PinnedManifestPath, other);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"REJECTED (ManifestMismatch): the manifest '{fx.PinnedManifestPath}' has SHA-256 {fx.ManifestDigest}, not the pinned {other}", r.StdErr);
    }

    [Fact]
    public void The_same_manifest_reformatted_is_not_the_pinned_file()
    {
        // Same content, one extra space: the manifest alone would verify, but its bytes are not the pinned ones.
        using var dir = new TempDir();
        string spaced = dir.Combine("manifest.json");
        File.WriteAllText(spaced, File.ReadAllText(fx.PinnedManifestPath) + " ");
        Assert.Equal(0, Zklora.Run("verify", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", spaced).ExitCode);
        var r = Verify(spaced, fx.ManifestDigest);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("ManifestMismatch", r.StdErr);
    }

    [Fact]
    public void A_garbage_file_shipped_as_the_manifest_is_a_rejection_when_pinned_by_digest()
    {
        using var dir = new TempDir();
        string garbage = dir.Combine("manifest.json");
        File.WriteAllText(garbage, "not json");
        var r = Verify(garbage, fx.ManifestDigest);
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("ManifestMismatch", r.StdErr);
    }

    [Theory]
    [InlineData("1234")]
    [InlineData("0x0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("g000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(" 000000000000000000000000000000000000000000000000000000000000000")]
    public void A_malformed_digest_is_a_usage_error(string digest)
    {
        var r = Verify(fx.PinnedManifestPath, digest);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("--expected-adapters-sha256", r.StdErr);
        Assert.Contains("64 hexadecimal digits", r.StdErr);
    }

    [Fact]
    public void One_digest_per_manifest()
    {
        var r = Verify(fx.PinnedManifestPath, fx.ManifestDigest, fx.ManifestDigest);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("give one --expected-adapters-sha256 per --expected-adapters (1), not 2", r.StdErr);
    }
}
