using System.Text.Json;
using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary><c>--json</c>: exactly one JSON object on standard output, with status and exit_code.</summary>
[Collection(ProvedCollection.Name)]
public class VerifyJsonTests(ProvedSession fx)
{
    private static JsonElement Single(CliRun r)
    {
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        using var doc = JsonDocument.Parse(lines[0]);
        var e = doc.RootElement.Clone();
        Assert.Equal(r.ExitCode, e.GetProperty("exit_code").GetInt32());
        return e;
    }

    [Fact]
    public void Verified()
    {
        var r = Zklora.Run("verify", "--json", "--verbose", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", fx.PinnedManifestPath);
        Assert.Equal(0, r.ExitCode);
        var e = Single(r); // the verbose lines went to standard error
        Assert.Equal("verified", e.GetProperty("status").GetString());
        Assert.Equal(2, e.GetProperty("proofs").GetInt32());
        Assert.True(e.GetProperty("circuits").GetInt32() >= 1);
        Assert.True(e.GetProperty("seconds").GetDouble() > 0);
        Assert.Contains("fixed-point config", r.StdErr);
    }

    [Fact]
    public void Rejected()
    {
        using var dir = new TempDir();
        var r = Zklora.Run("verify", "--json", "--proof-dir", dir.Path, "--transcript", fx.TranscriptPath, "--expected-adapters", fx.PinnedManifestPath);
        Assert.Equal(1, r.ExitCode);
        var e = Single(r);
        Assert.Equal("rejected", e.GetProperty("status").GetString());
        Assert.Equal("Coverage", e.GetProperty("reason").GetString());
        Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString()));
    }

    [Fact]
    public void Input_error()
    {
        string missing = fx.Combine("missing.json");
        var r = Zklora.Run("verify", "--json", "--proof-dir", fx.ProofDirectory, "--transcript", missing, "--expected-adapters", fx.PinnedManifestPath);
        Assert.Equal(2, r.ExitCode);
        var e = Single(r);
        Assert.Equal("error", e.GetProperty("status").GetString());
        Assert.Contains(missing, e.GetProperty("error").GetString());
    }
}

public class ActivationJsonTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static JsonElement Single(CliRun r)
    {
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, r.ToString());
        using var doc = JsonDocument.Parse(lines[0]);
        var e = doc.RootElement.Clone();
        Assert.Equal(r.ExitCode, e.GetProperty("exit_code").GetInt32());
        return e;
    }

    [Fact]
    public void Commit_open_and_verify_opening_as_json()
    {
        string acts = _dir.Combine("acts.json");
        File.WriteAllText(acts, """{"input_data": [[0.5, -1.25], [3.0, 7.5, 9.0]]}""");

        var commit = Single(Zklora.Run("commit", "--json", acts));
        Assert.Equal("ok", commit.GetProperty("status").GetString());
        Assert.Equal(Path.GetFullPath(acts), commit.GetProperty("file").GetString());
        var commitment = commit.GetProperty("commitment");
        Assert.Equal(["nonce", "root"], commitment.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray());
        // The nested object is the commitment itself: the other commands accept it as it is.
        string commitmentJson = commitment.GetRawText();
        Assert.Equal(0, Zklora.Run("verify-commitment", acts, commitmentJson).ExitCode);
        var matches = Single(Zklora.Run("verify-commitment", "--json", acts, commitmentJson));
        Assert.Equal("verified", matches.GetProperty("status").GetString());
        string other = _dir.Combine("other.json");
        File.WriteAllText(other, """{"input_data": [[0.5, -1.25], [3.0, 7.5, 9.5]]}""");
        var mismatch = Single(Zklora.Run("verify-commitment", "--json", other, commitmentJson));
        Assert.Equal("rejected", mismatch.GetProperty("status").GetString());
        Assert.Equal(1, mismatch.GetProperty("exit_code").GetInt32());

        var open = Single(Zklora.Run("open", "--json", acts, "--index", "3", "--commitment", commitmentJson));
        Assert.Equal(3, open.GetProperty("index").GetInt64());
        string opening = open.GetProperty("opening").GetRawText();
        string root = commitment.GetProperty("root").GetString()!;

        var ok = Single(Zklora.Run("verify-opening", "--json", opening, "--root", root));
        Assert.Equal("verified", ok.GetProperty("status").GetString());
        Assert.Equal(7.5, ok.GetProperty("value").GetDouble());
        Assert.Equal(3, ok.GetProperty("index").GetInt64());
        Assert.Equal(5, ok.GetProperty("count").GetInt64());

        var rejected = Zklora.Run("verify-opening", "--json", opening, "--root", "0x" + new string('2', 64));
        Assert.Equal(1, rejected.ExitCode);
        var bad = Single(rejected);
        Assert.Equal("rejected", bad.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(bad.GetProperty("reason").GetString()));
    }

    [Fact]
    public void Errors_are_json_too()
    {
        string missing = _dir.Combine("none.json");
        var r = Zklora.Run("commit", "--json", missing);
        Assert.Equal(2, r.ExitCode);
        var e = Single(r);
        Assert.Equal("error", e.GetProperty("status").GetString());
        Assert.Contains(missing, e.GetProperty("error").GetString());
        Assert.Contains(missing, r.StdErr);
    }
}
