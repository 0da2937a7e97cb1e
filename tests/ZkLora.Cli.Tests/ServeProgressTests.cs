using ZkLora.Api.Multiparty;
using Xunit;

namespace ZkLora.Cli.Tests;

public class ServeProgressTests
{
    [Fact]
    public void Plain_lines_name_the_start_and_the_end_of_each_sessions_proving()
    {
        var output = new CapturingWriter();
        var progress = new ServeProgress(output, json: false, terminal: false);
        progress.Report(new ProofProgress(0, 3, null));
        progress.Report(new ProofProgress(1, 3, "m#0"));
        progress.Report(new ProofProgress(2, 3, "m#1"));
        progress.Report(new ProofProgress(3, 3, "m#2"));
        progress.Report(new ProofProgress(0, 1, null)); // the next session
        progress.Report(new ProofProgress(1, 1, "n#0"));
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("proving:         3 proof(s) for an end_inference", lines[0]);
        Assert.StartsWith("proved:          3/3 proofs in ", lines.First(l => l.StartsWith("proved:", StringComparison.Ordinal)));
        Assert.Equal("proving:         1 proof(s) for an end_inference", lines[^2]);
        Assert.StartsWith("proved:          1/1 proofs in ", lines[^1]);
        // In between, at most one line per proof (throttled), each naming the call just proved.
        Assert.All(lines.Where(l => l.Contains("proofs (", StringComparison.Ordinal)), l => Assert.Matches(@"^proving: +\d/3 proofs \(m#\d done, ", l));
    }
}
