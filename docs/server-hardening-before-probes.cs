// Issue 15: minimal copies of the hardening tests against the API of a3ac87c (before the hardening).
// Not part of any project: see docs/server-hardening.md for how these were run and what they showed.
// Every test here is expected to FAIL on a3ac87c; on main the API differs (tokens, wire v2) and the real tests apply.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// Minimal copies of issue 15's tests written against the API of a3ac87c (before the hardening):
/// each asserts the hardened behaviour and is expected to FAIL here. Not committed anywhere.
/// </summary>
public class Issue15BeforeProbes(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private const int In = DemoModel.EmbeddingSize;

    private static double[][] Rows(int n, double v = 0.25) => Enumerable.Range(0, n).Select(_ => Enumerable.Repeat(v, In).ToArray()).ToArray();
    private static string Row(string value = "0.5") => "[" + string.Join(",", Enumerable.Repeat(value, In)) + "]";
    private static string ForwardV1(string session, int rows = 1, string module = "") =>
        $"{{\"type\":\"lora_forward\",\"session_id\":\"{session}\",\"submodule_name\":\"{(module.Length == 0 ? M0 : module)}\",\"input\":[{string.Join(",", Enumerable.Repeat(Row(), rows))}]}}";

    private static JsonElement Reply(string? json)
    {
        Assert.NotNull(json);
        using var d = JsonDocument.Parse(json!);
        return d.RootElement.Clone();
    }

    private sealed class FakeProver(bool block = false) : IProofGenerator
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Sessions;
        public async Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Sessions);
            Started.TrySetResult();
            if (block) await Task.Delay(Timeout.Infinite, cancellationToken);
            return job.Calls.Count;
        }
    }

    [Fact]
    public void Item01_a_call_over_the_default_row_budget_is_refused()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { ProofGenerator = new FakeProver() });
        Assert.Throws<LoraRequestException>(() => s.LoraForward("p", M0, [1025, In], Rows(1025)));
    }

    [Fact(Timeout = 60000)]
    public async Task Item02_a_request_frame_beyond_what_the_budgets_can_use_is_refused_at_once()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await conn.SendBytesAsync(RawConnection.Header(4UL << 20), cts.Token); // 4 MiB announced, nothing sent
        var r = Reply(await conn.ReceiveAsync(cts.Token));
        Assert.Contains("exceeds the limit", r.GetProperty("error").GetString());
    }

    [Fact(Timeout = 60000)]
    public async Task Item03_one_client_cannot_hold_more_than_four_sessions()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { ProofGenerator = new FakeProver() });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        var types = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            await conn.SendFrameAsync(ForwardV1($"squat{i}"), cts.Token);
            types.Add(Reply(await conn.ReceiveAsync(cts.Token)).GetProperty("type").GetString()!);
        }
        Assert.Equal("error", types[4]);
    }

    [Fact(Timeout = 60000)]
    public async Task Item04_another_client_cannot_append_to_or_end_a_session()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var prover = new FakeProver();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { ProofGenerator = prover });
        await using var victim = new ContributorConnection(s.Endpoint);
        await victim.LoraForwardAsync("victim", M0, [1, In], Rows(1), cts.Token);
        using var attacker = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await attacker.SendFrameAsync(ForwardV1("victim"), cts.Token);
        var r = Reply(await attacker.ReceiveAsync(cts.Token));
        Assert.Equal("error", r.GetProperty("type").GetString());
        Assert.Single(s.Server.GetRecordedCalls("victim"));
    }

    [Fact]
    public async Task Item05_ended_ids_survive_a_restart()
    {
        using var dir = new TempDir();
        var s1 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { ProofGenerator = new FakeProver() });
        s1.LoraForward("old", M0, [1, In], Rows(1));
        await s1.EndInferenceAsync("old");
        var s2 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { ProofGenerator = new FakeProver() });
        Assert.Throws<LoraRequestException>(() => s2.LoraForward("old", M0, [1, In], Rows(1)));
    }

    [Fact(Timeout = 120000)]
    public async Task Item06_a_response_over_the_frame_limit_leaves_no_recorded_call()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { ProofGenerator = new FakeProver() });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await conn.SendFrameAsync(ForwardV1("r", rows: 40000), cts.Token); // ~100 MB of answer
        var e = Reply(await conn.ReceiveAsync(cts.Token));
        Assert.Equal("error", e.GetProperty("type").GetString());
        Assert.Empty(s.Server.GetRecordedCalls("r"));
    }

    private static void Mkfifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    [Fact(Timeout = 300000)]
    public async Task Item07_and_13_special_files_and_paths_in_the_wrong_place()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"));
        s.LoraForward("v", M0, [1, In], Rows(1));
        var calls = s.GetRecordedCalls("v");
        await s.EndInferenceAsync("v");
        string t = dir.Combine("t.json"), m = dir.Combine("m.json");
        new InferenceTranscript(calls.Select(c => c.ToTranscriptEntry())).Write(t);
        s.WriteManifest(m);
        ProofVerification.BatchVerifyProofs(s.ProofDirectory, t, m); // the untouched directory verifies
        var messages = new List<string>();
        // item 13: a file given as the proof directory, a directory given as the transcript
        File.WriteAllText(dir.Combine("afile"), "x");
        messages.Add(Assert.ThrowsAny<Exception>(() => ProofVerification.BatchVerifyProofs(dir.Combine("afile"), t, m)).Message);
        Directory.CreateDirectory(dir.Combine("adir"));
        messages.Add(Assert.ThrowsAny<Exception>(() => ProofVerification.BatchVerifyProofs(s.ProofDirectory, dir.Combine("adir"), m)).Message);
        // item 7: the meta file is a FIFO
        string bad = dir.Combine("bad");
        CopyDir(s.ProofDirectory, bad);
        string meta = Directory.GetFiles(bad, "*.zklora.meta.json").Single();
        File.Delete(meta);
        Mkfifo(meta);
        var verify = Task.Run(() => { try { ProofVerification.BatchVerifyProofs(bad, t, m); return "verified"; } catch (Exception e) { return e.Message; } });
        bool hung = !verify.Wait(TimeSpan.FromSeconds(60));
        if (hung)
        {
            using (new FileStream(meta, FileMode.Open, FileAccess.Write)) { } // release the blocked reader
            verify.Wait(TimeSpan.FromSeconds(30));
        }
        File.WriteAllText("/tmp/issue15-item07-13.txt", string.Join("\n", messages) + $"\nfifo: hung={hung} result={(verify.IsCompleted ? verify.Result : "?")}");
        Assert.Contains("is a file, not a directory", messages[0]);
        Assert.Contains("is a directory, not a file", messages[1]);
        Assert.False(hung, "verify hung on a FIFO");
    }

    [Fact]
    public void Item08_accepted_calls_survive_a_restart()
    {
        using var dir = new TempDir();
        var s1 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { ProofGenerator = new FakeProver() });
        s1.LoraForward("durable", M0, [1, In], Rows(1));
        var s2 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { ProofGenerator = new FakeProver() });
        Assert.Single(s2.GetRecordedCalls("durable"));
    }

    [Fact(Timeout = 60000)]
    public async Task Item09_one_address_cannot_take_every_connection_slot()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        var open = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var c = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
                open.Add(c);
                await c.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
                Assert.Equal("init_response", Reply(await c.ReceiveAsync(cts.Token)).GetProperty("type").GetString());
            }
            using var ninth = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
            await ninth.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
            var r = Reply(await ninth.ReceiveAsync(cts.Token));
            Assert.True(r.GetProperty("type").GetString() == "error", $"the ninth connection from one address was served: {r}");
            Assert.Contains("Too many connections from your address", r.GetProperty("error").GetString());
        }
        finally
        {
            foreach (var c in open) c.Dispose();
        }
    }

    [Fact(Timeout = 60000)]
    public async Task Item10_control_characters_are_escaped_in_error_frames_the_log_and_the_client()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var log = new StringWriter();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { Log = log });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        const string evil = "a\\r\\nb\\u001b[31mred\\u0007";
        await conn.SendFrameAsync(ForwardV1(evil), cts.Token);
        string e1 = Reply(await conn.ReceiveAsync(cts.Token)).GetProperty("error").GetString()!;
        string logged = log.ToString();
        var frame = Encoding.UTF8.GetBytes("{\"type\":\"error\",\"error\":\"boom\\u001b[2J\\r\\nFAKE OK\"}");
        var ex = Assert.ThrowsAny<Exception>(() => WireMessages.ParseEndInferenceResponse(frame));
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "issue15-item10.txt"), $"error frame: {e1}\nlog: {logged}\nclient: {ex.Message}");
        Assert.DoesNotContain(e1, char.IsControl);
        Assert.DoesNotContain('\u001b', logged);
        Assert.DoesNotContain(ex.Message, char.IsControl);
    }

    [Fact]
    public void Item11_a_shape_whose_size_overflows_is_a_validation_error()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { ProofGenerator = new FakeProver() });
        Assert.Throws<LoraRequestException>(() => s.LoraForward("o", M0, [1L << 40, 1L << 40, In], []));
    }

    [Fact(Timeout = 60000)]
    public async Task Item12_stopping_during_proving_sends_the_shutting_down_frame()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var prover = new FakeProver(block: true);
        var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { ProofGenerator = prover });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await conn.SendFrameAsync(ForwardV1("stop"), cts.Token);
        Assert.Equal("lora_forward_response", Reply(await conn.ReceiveAsync(cts.Token)).GetProperty("type").GetString());
        await conn.SendFrameAsync("{\"type\":\"end_inference\",\"session_id\":\"stop\"}", cts.Token);
        await prover.Started.Task.WaitAsync(cts.Token);
        var stopping = s.Socket.StopAsync(cts.Token);
        string? reply = null;
        try { reply = await conn.ReceiveAsync(cts.Token); } catch (IOException) { }
        await stopping;
        await s.DisposeAsync();
        Assert.NotNull(reply);
        Assert.Contains("shutting down", Reply(reply).GetProperty("error").GetString());
    }
}
