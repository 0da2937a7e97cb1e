using System.Text.RegularExpressions;
using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary>
/// <c>zklora verify --verbose</c>: the verifier logs through ILogger (issue 16 item 4) and the CLI, its host,
/// prints each message as the plain line it printed before — users' scripts may read them.
/// </summary>
[Collection(ProvedCollection.Name)]
public class VerboseOutputTests(ProvedSession fx)
{
    /// <summary>Every line the verifier's steps print, as patterns.</summary>
    private static readonly Regex[] StepLines =
    [
        new(@"^module \S+: fixed-point config \(scale_bits \d+, value_bits \d+, intermediate_bits \d+\), scaling -?\d+/\d+$"),
        new(@"^adapter proofs of manifest \S+: \d+ module\(s\) verify$"),
        new(@"^adapter proofs of manifest \S+: verified before \(cached\)$"),
        new(@"^statement \S+\.\d+ matches the transcript and the pinned manifest$"),
        new(@"^statement \S+\.\d+ \(\d+ call\(s\)\) matches the transcript and the pinned manifest$"),
        new(@"^\d+ proof\(s\) of circuit \S+ verify$"),
        new(@"^\d+ projection proof\(s\) covering \d+ call\(s\) verify$"),
        new(@"^ignoring \d+ artifact\(s\) of sessions not in the transcript$"),
    ];

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void Verbose_prints_one_plain_line_per_step_then_the_summary_on_standard_output()
    {
        var r = Zklora.Run("verify", "--verbose", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.StdErr);
        var lines = Lines(r.StdOut);
        Assert.Matches(@"^Done verifying 2 proofs\. Total time: \d+\.\d{3} s$", lines[^1]);
        Assert.All(lines[..^1], l => Assert.Contains(StepLines, p => p.IsMatch(l)));
        Assert.Contains(lines, l => StepLines[0].IsMatch(l)); // each module's config and scaling
        Assert.Contains(lines, l => l.StartsWith("statement ", StringComparison.Ordinal));
        Assert.Contains(lines, l => StepLines[5].IsMatch(l) || StepLines[6].IsMatch(l)); // the proofs
    }

    [Fact]
    public void Without_verbose_only_the_summary_is_printed()
    {
        var r = Zklora.Run("verify", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.StdErr);
        Assert.Matches(@"^Done verifying 2 proofs\. Total time: \d+\.\d{3} s$", Assert.Single(Lines(r.StdOut)));
    }

    [Fact]
    public void With_json_the_step_lines_go_to_standard_error_and_standard_output_keeps_one_object()
    {
        var r = Zklora.Run("verify", "--json", "--verbose", "--proof-dir", fx.ProofDirectory, "--transcript", fx.TranscriptPath, "--expected-adapters", fx.PinnedManifestPath);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Single(Lines(r.StdOut));
        var err = Lines(r.StdErr);
        Assert.NotEmpty(err);
        Assert.All(err, l => Assert.Contains(StepLines, p => p.IsMatch(l)));
    }
}
