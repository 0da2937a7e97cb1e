using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using ZkLora.Api;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary>
/// <c>serve</c> and <c>infer</c> run in-process: the machine-readable listening line, binding before
/// the manifest is announced, a client that waits for a server still starting, <c>infer --json</c>.
/// </summary>
public class ServeInferTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly DemoModelPaths _demo;

    public ServeInferTests() => _demo = DemoModel.Create(_dir.Combine("demo"));

    public void Dispose() => _dir.Dispose();

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static JsonElement Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.Clone();
    }

    [Fact(Timeout = 300000)]
    public async Task Serve_json_port_0_on_localhost_announces_the_port_after_binding_and_writing_the_manifest()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        string outDir = _dir.Combine("a-out");
        var output = new CapturingWriter();
        var error = new CapturingWriter();
        var serve = Zklora.RunAsync(["serve", "--adapter", _demo.AdapterDirectory, "--port", "0", "--host", "localhost", "--out-dir", outDir, "--json", "--quiet"], output, error, cts.Token);
        string line = await output.WaitForLineAsync(l => l.Contains("\"listening\""), TimeSpan.FromMinutes(2), () => error.Text);
        var listening = Parse(line);
        Assert.Equal("127.0.0.1", listening.GetProperty("address").GetString());
        int port = listening.GetProperty("port").GetInt32();
        Assert.InRange(port, 1, 65535);
        // Every line on standard output is JSON; the manifest line came first and its file is there.
        var events = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse).ToList();
        Assert.Equal(["manifest", "listening"], events.Select(e => e.GetProperty("event").GetString() ?? "").ToArray());
        string manifest = events[0].GetProperty("manifest").GetString()!;
        Assert.Equal(Path.Combine(Path.GetFullPath(outDir), "manifest.json"), manifest);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(manifest))), listening.GetProperty("manifest_sha256").GetString());
        Assert.Equal(2, events[0].GetProperty("modules").GetArrayLength());
        // The port is really listening.
        using (var probe = new TcpClient()) await probe.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        cts.Cancel();
        var r = await serve;
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("\"stopping\"", r.StdOut);
    }

    [Fact(Timeout = 300000)]
    public async Task Serve_on_a_taken_port_names_address_and_port_and_writes_no_manifest()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            string outDir = _dir.Combine("taken-out");
            var r = await Zklora.RunAsync("serve", "--adapter", _demo.AdapterDirectory, "--port", port.ToString(), "--out-dir", outDir);
            Assert.True(r.ExitCode == 2, r.ToString());
            Assert.Contains($"cannot listen on 127.0.0.1:{port}", r.StdErr);
            Assert.Contains("--port 0", r.StdErr);
            Assert.False(File.Exists(Path.Combine(outDir, "manifest.json")));
            Assert.DoesNotContain("manifest", r.StdOut);
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact(Timeout = 300000)]
    public async Task Infer_waits_for_a_server_still_starting_and_reports_json_then_the_proofs_verify_by_digest()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        int port = FreePort();
        string outDir = _dir.Combine("b-out");
        string transcript = _dir.Combine("user", "transcript.json");
        string textFile = _dir.Combine("text.txt");
        File.WriteAllText(textFile, DemoModel.SampleText);

        // The client starts first; the server only a moment later.
        var inferOut = new CapturingWriter();
        var inferErr = new CapturingWriter();
        var infer = Zklora.RunAsync(["infer", "--base-model", _demo.ModelDirectory, "--port", port.ToString(), "--text-file", textFile,
            "--transcript", transcript, "--session-id", "cli-json", "--connect-timeout", "120", "--json"], inferOut, inferErr, cts.Token);
        await inferErr.WaitForLineAsync(l => l.StartsWith("waiting:", StringComparison.Ordinal), TimeSpan.FromMinutes(1), () => inferOut.Text);

        var serveOut = new CapturingWriter();
        var serveErr = new CapturingWriter();
        using var stopServer = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var serve = Zklora.RunAsync(["serve", "--adapter", _demo.AdapterDirectory, "--base-model", _demo.ModelDirectory, "--port", port.ToString(),
            "--out-dir", outDir, "--json", "--quiet"], serveOut, serveErr, stopServer.Token);
        var listening = Parse(await serveOut.WaitForLineAsync(l => l.Contains("\"listening\""), TimeSpan.FromMinutes(2), () => serveErr.Text));

        var r = await infer;
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var result = Parse(Assert.Single(lines));
        Assert.Equal("ok", result.GetProperty("status").GetString());
        Assert.Equal(0, result.GetProperty("exit_code").GetInt32());
        Assert.Equal("cli-json", result.GetProperty("session").GetString());
        double loss = result.GetProperty("loss").GetDouble();
        Assert.True(double.IsFinite(loss) && loss > 0);
        Assert.Equal(System.Math.Exp(loss), result.GetProperty("perplexity").GetDouble(), 9);
        using (var model = CausalLanguageModel.Load(_demo.ModelDirectory))
            Assert.Equal(model.Encode(DemoModel.SampleText).Count, result.GetProperty("tokens").GetInt32());
        Assert.Equal(2, result.GetProperty("calls").GetInt32());
        Assert.Equal(Path.GetFullPath(transcript), result.GetProperty("transcript").GetString());
        var contributor = Assert.Single(result.GetProperty("contributors").EnumerateArray().ToList());
        Assert.Equal(listening.GetProperty("manifest_sha256").GetString(), contributor.GetProperty("manifest_sha256").GetString());
        var end = Assert.Single(result.GetProperty("end_inference").EnumerateArray().ToList());
        Assert.True(end.GetProperty("ok").GetBoolean());
        Assert.Equal(2, end.GetProperty("proofs_written").GetInt32());
        var timings = result.GetProperty("timings");
        foreach (var key in new[] { "connect_seconds", "model_load_seconds", "forward_seconds", "end_inference_seconds", "total_seconds" })
            Assert.True(timings.GetProperty(key).GetDouble() >= 0, key);

        stopServer.Cancel();
        Assert.Equal(0, (await serve).ExitCode);
        // serve showed its proving: a start event and a final one with every proof done.
        var progress = serveOut.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Parse)
            .Where(e => e.GetProperty("event").GetString() == "proof_progress").ToList();
        Assert.True(progress.Count >= 2, serveOut.Text);
        Assert.Equal(0, progress[0].GetProperty("done").GetInt32());
        Assert.Equal(2, progress[^1].GetProperty("done").GetInt32());
        Assert.Equal(2, progress[^1].GetProperty("total").GetInt32());
        Assert.StartsWith("transformer.h.", progress[^1].GetProperty("proved").GetString());

        // The verifier pinned only the digest from the listening line; the manifest comes from the contributor's folder,
        // and the (default) projection manifest's adapter proof travels with the digest-pinned copy. First a bad one
        // next to the shipped manifest, and a special file in its place: rejections. (Before any success: a verified
        // adapter proof is cached by manifest digest for the process, and these runs share the test's process.)
        string[] verifyArgs = ["verify", "--proof-dir", Path.Combine(outDir, "proofs"), "--transcript", transcript,
            "--expected-adapters", Path.Combine(outDir, "manifest.json"), "--expected-adapters-sha256", listening.GetProperty("manifest_sha256").GetString()!];
        string adapterProofs = AdapterManifest.AdapterProofsPath(Path.Combine(outDir, "manifest.json"));
        string good = File.ReadAllText(adapterProofs);
        foreach (var bad in new Action[]
        {
            () => File.WriteAllText(adapterProofs, good.Replace("\"proof\":\"", "\"proof\":\"00")),
            () => File.CreateSymbolicLink(adapterProofs, "/dev/zero"),
        })
        {
            File.Delete(adapterProofs);
            bad();
            var rejected = await Zklora.RunAsync(verifyArgs);
            Assert.True(rejected.ExitCode == 1, rejected.ToString());
            Assert.Contains("REJECTED (InvalidAdapterProof)", rejected.StdErr + rejected.StdOut);
        }
        File.Delete(adapterProofs);
        File.WriteAllText(adapterProofs, good);
        var verify = await Zklora.RunAsync(verifyArgs);
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    [Fact(Timeout = 120000)]
    public async Task Infer_checks_the_contributors_before_loading_the_model()
    {
        // No server, and a model that does not exist: the contributor is reported (exit 1), the model never read.
        int port = FreePort();
        var r = await Zklora.RunAsync("infer", "--base-model", _dir.Combine("no-such-model"), "--port", port.ToString(), "--connect-timeout", "1");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"Contributor 127.0.0.1:{port} refused connections for 1 s (--connect-timeout)", r.StdErr);
        Assert.DoesNotContain("no-such-model", r.StdErr);
        var once = await Zklora.RunAsync("infer", "--base-model", _dir.Combine("no-such-model"), "--port", port.ToString(), "--connect-timeout", "0", "--json");
        Assert.Equal(1, once.ExitCode);
        var json = Parse(once.StdOut.Trim());
        Assert.Equal("failed", json.GetProperty("status").GetString());
        Assert.Contains($"127.0.0.1:{port}", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Infer_reads_the_text_from_standard_input_with_text_file_dash()
    {
        // Only this test reads standard input.
        var saved = Console.In;
        try
        {
            Console.SetIn(new StringReader(""));
            var empty = await Zklora.RunAsync("infer", "--base-model", _demo.ModelDirectory, "--text-file", "-");
            Assert.True(empty.ExitCode == 2, empty.ToString());
            Assert.Contains("standard input (--text-file -) is empty", empty.StdErr);
            // Text on standard input: read, then the (absent) contributor is the next thing checked.
            Console.SetIn(new StringReader("the cat sat on the mat"));
            var read = await Zklora.RunAsync("infer", "--base-model", _demo.ModelDirectory, "--text-file", "-", "--port", FreePort().ToString(), "--connect-timeout", "0");
            Assert.True(read.ExitCode == 1, read.ToString());
            Assert.Contains("Contributor 127.0.0.1:", read.StdErr);
        }
        finally
        {
            Console.SetIn(saved);
        }
    }

    [Fact]
    public async Task Infer_text_arguments_are_checked_first()
    {
        string textFile = _dir.Combine("t.txt");
        File.WriteAllText(textFile, "hello");
        var both = await Zklora.RunAsync("infer", "--base-model", _demo.ModelDirectory, "--text", "x", "--text-file", textFile);
        Assert.True(both.ExitCode == 2, both.ToString());
        Assert.Contains("Give --text or --text-file, not both.", both.StdErr);
        string missing = _dir.Combine("missing.txt");
        var none = await Zklora.RunAsync("infer", "--base-model", _demo.ModelDirectory, "--text-file", missing);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains($"--text-file '{missing}' does not exist", none.StdErr);
        var folder = await Zklora.RunAsync("infer", "--base-model", _demo.ModelDirectory, "--text-file", _dir.Path);
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains($"--text-file '{_dir.Path}' is a directory, not a file", folder.StdErr);
        string empty = _dir.Combine("empty.txt");
        File.WriteAllText(empty, "");
        Assert.Contains("is empty", (await Zklora.RunAsync("infer", "--base-model", _demo.ModelDirectory, "--text-file", empty)).StdErr);
    }
}
