using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace ZkLora.Packaging.Tests;

/// <summary>
/// The `zklora` .NET tool installed from the local feed (<c>dotnet tool install --add-source</c>)
/// runs demo, commit, serve, infer and verify as the README documents them.
/// </summary>
[Collection(LocalFeedCollection.Name)]
public sealed partial class ToolTests(LocalFeed feed)
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(10);

    [GeneratedRegex(@"^listening on \S*:(?<port>[0-9]+)")]
    private static partial Regex Listening();

    private async Task<string> InstallAsync()
    {
        string toolPath = Path.Combine(feed.Root, "tools");
        string exe = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "zklora.exe" : "zklora");
        if (File.Exists(exe)) return exe; // installed by the other test of this class
        var install = await Processes.DotnetAsync(feed.Root, Step,
            "tool", "install", "zklora", "--version", LocalFeed.Version, "--tool-path", toolPath,
            "--add-source", feed.FeedDirectory, "--configfile", feed.NuGetConfigPath);
        Assert.True(install.ExitCode == 0, install.Describe());
        Assert.True(File.Exists(exe), $"{exe} missing after install:\n{install.Describe()}");
        return exe;
    }

    [Fact]
    public async Task Installed_tool_reports_a_working_native_runtime_and_runs_the_demo()
    {
        string zklora = await InstallAsync();
        // info loads libtorch: the tool package's native shim works on this host (Debian 12 needs the patch)
        var info = await Processes.RunAsync(zklora, ["info"], feed.Root, Step);
        Assert.True(info.ExitCode == 0, info.Describe());
        Assert.StartsWith($"zkLoRA for .NET {LocalFeed.Version}", info.StdOut);
        Assert.Contains("native runtime loads", info.StdOut);
        Assert.Contains("zklora.wire.v3", info.StdOut);

        var demo = await Processes.RunAsync(zklora, ["demo"], feed.Root, Step);
        Assert.True(demo.ExitCode == 0, demo.Describe());
        Assert.Contains("Demo succeeded", demo.StdOut);
    }

    [Fact]
    public async Task Installed_tool_commits_serves_infers_and_verifies()
    {
        string zklora = await InstallAsync();
        string work = Path.Combine(feed.Root, "tool-flow");
        Directory.CreateDirectory(work);

        // commit (and check the commitment it printed)
        string acts = Path.Combine(work, "acts.json");
        await File.WriteAllTextAsync(acts, """{"input_data": [[0.25, -1.5, 3.0], [1e-7, 42, -0.0]]}""");
        var commit = await Processes.RunAsync(zklora, ["commit", acts], work, Step);
        Assert.True(commit.ExitCode == 0, commit.Describe());
        using (var json = JsonDocument.Parse(commit.StdOut))
        {
            Assert.StartsWith("0x", json.RootElement.GetProperty("root").GetString());
            Assert.StartsWith("0x", json.RootElement.GetProperty("nonce").GetString());
        }
        string commitment = Path.Combine(work, "commitment.json");
        await File.WriteAllTextAsync(commitment, commit.StdOut);
        var check = await Processes.RunAsync(zklora, ["verify-commitment", acts, commitment], work, Step);
        Assert.True(check.ExitCode == 0, check.Describe());

        var init = await Processes.RunAsync(zklora, ["init-demo", Path.Combine(work, "demo")], work, Step);
        Assert.True(init.ExitCode == 0, init.Describe());

        // serve in the background on a free port
        var serveInfo = Processes.StartInfo(zklora,
            ["serve", "--adapter", Path.Combine(work, "demo", "adapter"), "--base-model", Path.Combine(work, "demo", "model"),
             "--port", "0", "--out-dir", Path.Combine(work, "a-out"), "--quiet"], work);
        using var serve = Process.Start(serveInfo) ?? throw new InvalidOperationException("could not start zklora serve");
        var log = new ConcurrentQueue<string>();
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        serve.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { port.TrySetException(new InvalidOperationException("serve ended:\n" + string.Join('\n', log))); return; }
            log.Enqueue(e.Data);
            var m = Listening().Match(e.Data);
            if (m.Success) port.TrySetResult(int.Parse(m.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture));
        };
        serve.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();
        try
        {
            int p = await port.Task.WaitAsync(TimeSpan.FromMinutes(3));
            string pinned = Path.Combine(work, "pinned-manifest.json");
            // (only the manifest: the default projection backend's one-time adapter proof is published
            // with the proofs, a-out/proofs/<manifest sha256>.adapter-proofs.json, where the verifier finds it)
            File.Copy(Path.Combine(work, "a-out", "manifest.json"), pinned);

            string transcript = Path.Combine(work, "transcript.json");
            var infer = await Processes.RunAsync(zklora,
                ["infer", "--base-model", Path.Combine(work, "demo", "model"), "--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture),
                 "--text", "the cat sat on the mat", "--transcript", transcript, "--session-id", "packaged"], work, Step);
            Assert.True(infer.ExitCode == 0, infer.Describe() + "\n--- serve\n" + string.Join('\n', log));

            var verify = await Processes.RunAsync(zklora,
                ["verify", "--proof-dir", Path.Combine(work, "a-out", "proofs"), "--transcript", transcript, "--expected-adapters", pinned], work, Step);
            Assert.True(verify.ExitCode == 0, verify.Describe());
            Assert.Contains("Done verifying", verify.StdOut);
        }
        finally
        {
            if (!serve.HasExited) serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
        }
    }
}
