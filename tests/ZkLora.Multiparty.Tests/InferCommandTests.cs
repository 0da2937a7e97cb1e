using System.Globalization;
using System.Text.Json;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary><c>zklora infer</c> as the command line runs it, against in-process contributors on loopback.</summary>
public class InferCommandTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private Task<int> InferAsync(RunningServer s, string transcript, params string[] extra) =>
        ZkLora.Cli.ZkLoraCommand.Build()
            .Parse(["infer", "--base-model", fx.Paths.ModelDirectory, "--port", s.Socket.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
                "--transcript", transcript, .. extra])
            .InvokeAsync();

    /// <summary>Rows of each transcript entry, in order (read from the file the command wrote).</summary>
    private static List<(string Module, long Rows)> Entries(string transcript)
    {
        using var d = JsonDocument.Parse(File.ReadAllBytes(transcript));
        var list = new List<(string, long)>();
        foreach (var e in d.RootElement.GetProperty("entries").EnumerateArray())
        {
            var shape = e.GetProperty("input_shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            list.Add((e.GetProperty("module_name").GetString()!, shape[..^1].Aggregate(1L, (a, b) => a * b)));
        }
        return list;
    }

    [Fact(Timeout = 300000)]
    public async Task Infer_generate_on_the_built_in_demo_is_served_proved_and_verified()
    {
        using var dir = new TempDir();
        await using var s = await RunningServer.StartAsync(fx.Adapter, outDir: dir.Combine("contributor"));
        string pinned = dir.Combine("pinned.json");
        s.Server.WriteManifest(pinned);
        string transcript = dir.Combine("transcript.json");

        int rc = await InferAsync(s, transcript, "--generate", "3", "--text", "Hello World", "--session-id", "gen-cli");
        Assert.Equal(0, rc);

        // Per module: the prompt in one call, then one row per further token.
        var entries = Entries(transcript);
        foreach (string module in DemoModel.AdapterModules)
        {
            var rows = entries.Where(e => e.Module == module).Select(e => e.Rows).ToArray();
            Assert.True(rows.Length >= 2, $"{module}: {rows.Length} calls");
            Assert.True(rows[0] > 1, $"{module}: the prompt call has {rows[0]} rows");
            Assert.All(rows[1..], r => Assert.Equal(1, r));
        }
        // end_inference ran (exit code 0 needs every contributor to have proved) and the proofs verify.
        // (default projection backend: one proof per module covers all of the session's calls of it)
        Assert.Equal(DemoModel.AdapterModules.Count, ProofVerification.BatchVerifyProofs(s.Server.ProofDirectory, transcript, pinned).ProofCount);
    }

    [Fact(Timeout = 240000)]
    public async Task Infer_connects_with_TLS_when_asked_and_refuses_an_untrusted_certificate()
    {
        using var dir = new TempDir();
        using var cert = TestCertificate.Create();
        string certPath = dir.Combine("cert.pem");
        File.WriteAllText(certPath, cert.CertPem);
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { TlsCertificate = cert.WithKey });
        string port = s.Socket.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture);

        // Trusted through --tls-ca, through a pin, and with a tls:// contributor address.
        Assert.Equal(0, await InferAsync(s, dir.Combine("t1.json"), "--tls", "--tls-ca", certPath, "--no-end-inference"));
        Assert.NotEmpty(Entries(dir.Combine("t1.json")));
        Assert.Equal(0, await InferAsync(s, dir.Combine("t2.json"), "--tls", "--tls-pin", cert.Sha256, "--no-end-inference"));
        Assert.NotEmpty(s.Server.GetRecordedCalls(JsonDocument.Parse(File.ReadAllBytes(dir.Combine("t2.json"))).RootElement
            .GetProperty("entries")[0].GetProperty("session_id").GetString()!));

        // Not trusted (system roots only) or plain TCP to a TLS server: the contributor fails, exit 1;
        // trust options without TLS: a usage error, exit 2. No transcript in any case.
        Assert.Equal(1, await InferAsync(s, dir.Combine("t3.json"), "--tls", "--no-end-inference"));
        Assert.Equal(1, await InferAsync(s, dir.Combine("t4.json"), "--no-end-inference"));
        Assert.Equal(2, await InferAsync(s, dir.Combine("t5.json"), "--tls-ca", certPath, "--no-end-inference"));
        Assert.False(File.Exists(dir.Combine("t3.json")) || File.Exists(dir.Combine("t4.json")) || File.Exists(dir.Combine("t5.json")));
    }

    [Fact(Timeout = 240000)]
    public async Task Infer_accepts_a_tls_contributor_address()
    {
        using var dir = new TempDir();
        using var cert = TestCertificate.Create();
        string certPath = dir.Combine("cert.pem");
        File.WriteAllText(certPath, cert.CertPem);
        await using var tls = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { Modules = [DemoModel.AdapterModules[1]] },
            new LoRAServerSocketOptions { TlsCertificate = cert.WithKey });
        await using var plain = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { Modules = [DemoModel.AdapterModules[0]] });
        string transcript = dir.Combine("t.json");
        // The first contributor (--port) is plain, the second is tls://; --tls-ca applies to the TLS one.
        Assert.Equal(0, await InferAsync(plain, transcript, "--contributor", $"tls://127.0.0.1:{tls.Socket.LocalEndPoint.Port}",
            "--tls-ca", certPath, "--no-end-inference"));
        var modules = Entries(transcript).Select(e => e.Module).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(DemoModel.AdapterModules.Order(StringComparer.Ordinal).ToArray(), modules);
    }

    /// <summary>A prover that accepts a session and never finishes it (until the server stops).</summary>
    private sealed class NeverEndingProver : IProofGenerator
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }

    /// <summary>A prover that refuses every session, as a contributor that cannot prove a call would.</summary>
    private sealed class RefusingProver : IProofGenerator
    {
        public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken) =>
            throw new ProofGenerationException("call s.m.0: the recorded delta is not the adapter's output");
    }

    [Fact(Timeout = 240000)]
    public async Task Infer_json_reports_the_contributors_wire_error_code_when_proving_fails()
    {
        using var dir = new TempDir();
        await using var s = await RunningServer.StartAsync(fx.Adapter, hooks: new LoRAServerTestHooks { ProofGenerator = new RefusingProver() });
        var output = new StringWriter();
        int code = await ZkLora.Cli.ZkLoraCommand.RunAsync(
            ["infer", "--base-model", fx.Paths.ModelDirectory, "--port", s.Socket.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
             "--transcript", dir.Combine("t.json"), "--text", "Hello World", "--json"],
            new System.CommandLine.InvocationConfiguration { Output = output, Error = new StringWriter() }, CancellationToken.None);
        Assert.Equal(1, code);
        using var json = JsonDocument.Parse(output.ToString().Trim());
        var end = Assert.Single(json.RootElement.GetProperty("end_inference").EnumerateArray().ToList());
        Assert.False(end.GetProperty("ok").GetBoolean());
        Assert.Equal("proof_failed", end.GetProperty("error_code").GetString());
        Assert.Contains("the recorded delta is not the adapter's output", end.GetProperty("error").GetString());
    }

    [Fact(Timeout = 240000)]
    public async Task Infer_end_timeout_stops_waiting_for_a_contributor_that_never_answers_end_inference()
    {
        // Issue 15 item 14: with the default (2 h) this test would hit its own timeout instead.
        using var dir = new TempDir();
        var prover = new NeverEndingProver();
        await using var s = await RunningServer.StartAsync(fx.Adapter, hooks: new LoRAServerTestHooks { ProofGenerator = prover });
        string transcript = dir.Combine("t.json");
        Assert.Equal(1, await InferAsync(s, transcript, "--text", "Hello World", "--end-timeout", "2"));
        Assert.True(prover.Started.Task.IsCompleted, "end_inference never reached the contributor");
        Assert.NotEmpty(Entries(transcript)); // the transcript was written before end_inference
    }
}
