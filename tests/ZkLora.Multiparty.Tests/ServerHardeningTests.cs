using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// Issue 15: budgets refused before anything is recorded, session tokens, ended ids that survive
/// restarts, the write-ahead log, escaping, graceful shutdown and the end_inference timeout.
/// Everything runs on 127.0.0.1 only.
/// </summary>
public class ServerHardeningTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private const int In = DemoModel.EmbeddingSize;

    private static double[][] Rows(int n, double v = 0.25) => Enumerable.Range(0, n).Select(_ => Enumerable.Repeat(v, In).ToArray()).ToArray();

    private static string Row(int n, string value = "0.5") => "[" + string.Join(",", Enumerable.Repeat(value, n)) + "]";

    private static string Forward(string session, string token, string input, string module = "") =>
        $"{{\"type\":\"lora_forward\",\"session_id\":\"{session}\",\"session_token\":\"{token}\",\"submodule_name\":\"{(module.Length == 0 ? M0 : module)}\",\"input\":{input}}}";

    private static string End(string session, string token) =>
        $"{{\"type\":\"end_inference\",\"session_id\":\"{session}\",\"session_token\":\"{token}\"}}";

    private static string ErrorOf(string? json)
    {
        Assert.NotNull(json);
        using var d = JsonDocument.Parse(json!);
        Assert.True(d.RootElement.GetProperty("type").GetString() == "error", json);
        return d.RootElement.GetProperty("error").GetString()!;
    }

    /// <summary>The message of an error frame whose code is <paramref name="code"/>.</summary>
    private static string ErrorOf(string? json, WireErrorCode code)
    {
        string message = ErrorOf(json);
        using var d = JsonDocument.Parse(json!);
        Assert.Equal(code.ToWireName(), d.RootElement.GetProperty("code").GetString());
        return message;
    }

    private static string TypeOf(string? json)
    {
        Assert.NotNull(json);
        using var d = JsonDocument.Parse(json!);
        return d.RootElement.GetProperty("type").GetString()!;
    }

    /// <summary>A prover double that writes nothing and counts calls; optionally blocks until cancelled.</summary>
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

    // ---------------------------------------------------------------- items 1, 2, 3, 6, 9: budgets

    [Fact(Timeout = 60000)]
    public async Task A_call_over_the_row_budget_is_refused_while_the_frame_is_read_and_nothing_is_recorded()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { MaxRowsPerCall = 8 });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await ServerRobustnessTests.OpenAsync(conn, "big", cts.Token);
        var input = "[" + string.Join(",", Enumerable.Repeat(Row(In), 9)) + "]";
        await conn.SendFrameAsync(Forward("big", token, input), cts.Token);
        Assert.Contains("above the limit of 8 rows per call", ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.BudgetExceeded));
        // [batch, seq, in] is counted the same way.
        var nested = "[" + string.Join(",", Enumerable.Repeat("[" + string.Join(",", Enumerable.Repeat(Row(In), 3)) + "]", 3)) + "]";
        await conn.SendFrameAsync(Forward("big", token, nested), cts.Token);
        Assert.Contains("above the limit of 8 rows per call", ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.BudgetExceeded));
        Assert.Empty(s.Server.GetRecordedCalls("big"));
        await conn.SendFrameAsync(Forward("big", token, "[" + string.Join(",", Enumerable.Repeat(Row(In), 8)) + "]"), cts.Token);
        Assert.Equal("lora_forward_response", TypeOf(await conn.ReceiveAsync(cts.Token)));
    }

    [Fact(Timeout = 60000)]
    public async Task Request_frames_are_limited_to_what_the_budgets_can_use()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { MaxRowsPerCall = 16 });
        int limit = s.Socket.RequestFrameLimit;
        Assert.True(limit < 1 << 20, $"limit {limit}"); // 16 rows of 32 values, not 64 MiB
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await conn.SendBytesAsync(RawConnection.Header((ulong)limit + 1), cts.Token);
        Assert.Contains($"exceeds the limit of {limit} bytes", ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.FrameTooLarge));
    }

    [Fact]
    public void The_streaming_reader_stops_at_the_value_limit_before_reading_the_rest()
    {
        // 5 values allowed; the sixth is refused although the frame goes on (and is not even valid JSON later).
        var json = "{\"type\":\"lora_forward\",\"session_id\":\"s\",\"session_token\":\"t\",\"submodule_name\":\"m\",\"input\":[[1,2,3],[4,5,6],[7,8,9]] garbage";
        var e = Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(Encoding.UTF8.GetBytes(json), 5, 100));
        Assert.Contains("more than 5 values", e.Message);
        e = Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(Encoding.UTF8.GetBytes(json), 100, 2));
        Assert.Contains("above the limit of 2 rows per call", e.Message);
    }

    [Fact]
    public void A_call_whose_proof_would_exceed_the_proving_memory_budget_is_refused_before_it_is_recorded()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { MaxProvingMemoryBytes = 1 << 20 }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        var e = Assert.Throws<LoraRequestException>(() => s.LoraForward("p", M0, [1, In], Rows(1)));
        Assert.Contains("above the proving memory budget of 1 MiB", e.Message);
        Assert.Equal(WireErrorCode.BudgetExceeded, e.Code);
        Assert.Empty(s.GetRecordedCalls("p"));
        Assert.Empty(s.OpenSessionIds); // the refused call did not even open the session
    }

    [Fact]
    public async Task The_total_recorded_values_budget_spans_sessions_and_is_released_when_a_session_ends()
    {
        using var dir = new TempDir();
        int perCall = 2 * (In + 96);
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { MaxTotalRecordedValues = 2 * perCall }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        s.LoraForward("a", M0, [2, In], Rows(2));
        s.LoraForward("b", M0, [2, In], Rows(2));
        var e = Assert.Throws<LoraRequestException>(() => s.LoraForward("c", M0, [2, In], Rows(2)));
        Assert.Contains("MaxTotalRecordedValues", e.Message);
        Assert.Equal(WireErrorCode.Busy, e.Code);
        Assert.Empty(s.GetRecordedCalls("c"));
        await s.EndInferenceAsync("a");
        Assert.Equal(0, s.LoraForward("c", M0, [2, In], Rows(2)).Call.InvocationIndex);
    }

    [Fact]
    public void The_per_session_budget_refuses_without_opening_or_advancing_anything()
    {
        using var dir = new TempDir();
        int perCall = In + 96;
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { MaxRecordedValuesPerSession = 2 * perCall }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        Assert.Throws<LoraRequestException>(() => s.LoraForward("x", M0, [3, In], Rows(3)));
        Assert.Empty(s.OpenSessionIds); // item 6: a refused call leaves no empty session behind (no squatting)
        s.LoraForward("x", M0, [1, In], Rows(1));
        s.LoraForward("x", M0, [1, In], Rows(1));
        var full = Assert.Throws<LoraRequestException>(() => s.LoraForward("x", M0, [1, In], Rows(1)));
        Assert.Contains("MaxRecordedValuesPerSession", full.Message);
        Assert.Equal(WireErrorCode.BudgetExceeded, full.Code);
        Assert.Equal(2, s.GetRecordedCalls("x").Count);
    }

    [Fact(Timeout = 60000)]
    public async Task Sessions_per_client_and_in_total_are_limited()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { MaxOpenSessionsPerClient = 2, MaxOpenSessions = 3, SessionIdleTimeout = Timeout.InfiniteTimeSpan }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await ServerRobustnessTests.OpenAsync(conn, "q1", cts.Token);
        await ServerRobustnessTests.OpenAsync(conn, "q2", cts.Token);
        await conn.SendFrameAsync("{\"type\":\"open_session\",\"session_id\":\"q3\"}", cts.Token);
        Assert.Contains("per-client limit", ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.Busy));
        // In-process sessions count towards the total only.
        s.Server.LoraForward("local", M0, [1, In], Rows(1));
        var limit = Assert.Throws<LoraRequestException>(() => s.Server.OpenSession("q4"));
        Assert.Contains("the server's limit", limit.Message);
        Assert.Equal(WireErrorCode.Busy, limit.Code);
        Assert.Equal(3, s.Server.OpenSessionIds.Count);
    }

    [Fact(Timeout = 60000)]
    public async Task Idle_sessions_expire_their_ids_close_and_their_slots_free()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions { MaxOpenSessions = 1, SessionIdleTimeout = TimeSpan.FromMilliseconds(300) }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string t1 = await ServerRobustnessTests.OpenAsync(conn, "q1", cts.Token);
        await Task.Delay(1000, cts.Token); // longer than the expiry (expiry happens no earlier than that)
        await ServerRobustnessTests.OpenAsync(conn, "q5", cts.Token); // the only slot is free again
        await conn.SendFrameAsync(Forward("q1", t1, "[" + Row(In) + "]"), cts.Token);
        Assert.Contains("expired", ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.SessionEnded));
        Assert.True(s.Server.IsEnded("q1"));
        Assert.False(File.Exists(Path.Combine(s.Server.SessionDirectory, "q1.wal")));
    }

    [Fact(Timeout = 60000)]
    public async Task A_response_over_the_frame_limit_is_refused_and_the_call_is_not_recorded()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { MaxResponseBytes = 4000 });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await ServerRobustnessTests.OpenAsync(conn, "r", cts.Token);
        await conn.SendFrameAsync(Forward("r", token, "[" + string.Join(",", Enumerable.Repeat(Row(In), 4)) + "]"), cts.Token);
        Assert.Contains("nothing was recorded", ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.BudgetExceeded));
        Assert.Empty(s.Server.GetRecordedCalls("r"));
        await conn.SendFrameAsync(Forward("r", token, "[" + Row(In) + "]"), cts.Token);
        var ok = await conn.ReceiveAsync(cts.Token);
        using var d = JsonDocument.Parse(ok!);
        Assert.Equal(0, d.RootElement.GetProperty("invocation_index").GetInt64()); // the index did not advance
    }

    [Fact(Timeout = 60000)]
    public async Task One_address_cannot_take_every_connection_slot()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { MaxConnections = 10, MaxConnectionsPerClient = 2 });
        using var a = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        using var b = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await a.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
        Assert.Equal("init_response", TypeOf(await a.ReceiveAsync(cts.Token)));
        await b.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
        Assert.Equal("init_response", TypeOf(await b.ReceiveAsync(cts.Token)));
        using var c = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        Assert.Contains("Too many connections from your address", ErrorOf(await c.ReceiveAsync(cts.Token), WireErrorCode.Busy));
    }

    // ---------------------------------------------------------------- items 4, 5: authorization, ended ids

    [Fact(Timeout = 60000)]
    public async Task Another_client_cannot_append_to_learn_about_or_end_a_session_without_its_token()
    {
        using var cts = Timeouts.Test();
        var prover = new FakeProver();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = prover });
        await using var victim = new ContributorConnection(s.Endpoint);
        Assert.Equal(0, (await victim.LoraForwardAsync("victim", M0, [1, In], Rows(1), cts.Token)).InvocationIndex);

        using var attacker = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        foreach (var guess in new[] { "", new string('0', 64), "x" })
        {
            await attacker.SendFrameAsync(Forward("victim", guess, "[" + Row(In) + "]"), cts.Token);
            string err = ErrorOf(await attacker.ReceiveAsync(cts.Token));
            Assert.DoesNotContain("invocation", err);
            await attacker.SendFrameAsync(End("victim", guess), cts.Token);
            ErrorOf(await attacker.ReceiveAsync(cts.Token));
        }
        await attacker.SendFrameAsync("{\"type\":\"open_session\",\"session_id\":\"victim\"}", cts.Token);
        Assert.Contains("already open", ErrorOf(await attacker.ReceiveAsync(cts.Token), WireErrorCode.SessionExists));

        Assert.Single(s.Server.GetRecordedCalls("victim"));
        Assert.Equal(0, prover.Sessions);
        Assert.Equal(1, (await victim.LoraForwardAsync("victim", M0, [1, In], Rows(1), cts.Token)).InvocationIndex);
        Assert.Equal(2, (await victim.EndInferenceAsync("victim", cts.Token)).RecordedCalls);
    }

    [Fact]
    public void Tokens_are_256_bit_hex_and_distinct()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { Durable = false }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        var a = s.OpenSession("t1");
        var b = s.OpenSession("t2");
        Assert.Matches("^[0-9a-f]{64}$", a);
        Assert.NotEqual(a, b);
        var wrong = Assert.Throws<LoraRequestException>(() => s.LoraForwardCore("t1", b, M0, [1, In], Rows(1), null, out _));
        Assert.Contains("not the one open_session returned", wrong.Message);
        Assert.Equal(WireErrorCode.InvalidSessionToken, wrong.Code);
    }

    [Fact]
    public async Task Ended_ids_survive_a_restart_so_published_proofs_are_never_rewritten()
    {
        using var dir = new TempDir();
        var s1 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        s1.LoraForward("old", M0, [1, In], Rows(1));
        await s1.EndInferenceAsync("old");
        // A restart (a new server on the same folder) remembers the id.
        var s2 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        Assert.True(s2.IsEnded("old"));
        foreach (var ended in new[] { Assert.Throws<LoraRequestException>(() => s2.OpenSession("old")), Assert.Throws<LoraRequestException>(() => s2.LoraForward("old", M0, [1, In], Rows(1))) })
        {
            Assert.Contains("already ended", ended.Message);
            Assert.Equal(WireErrorCode.SessionEnded, ended.Code);
        }
        // A session whose artifacts are in proofs/ (and that has no log) counts as ended too.
        File.WriteAllText(Path.Combine(s2.ProofDirectory, $"legacy.{M0}.0.zklora.proof"), "x");
        var s3 = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        Assert.True(s3.IsEnded("legacy"));
    }

    // ---------------------------------------------------------------- item 8: durability

    [Fact(Timeout = 60000)]
    public async Task Accepted_calls_survive_a_crash_and_the_owner_continues_with_the_same_token()
    {
        using var cts = Timeouts.Test();
        using var dir = new TempDir();
        string outDir = dir.Combine("out");
        var first = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() }, outDir: outDir);
        var conn = new ContributorConnection(first.Endpoint);
        await conn.LoraForwardAsync("durable", M0, [1, In], Rows(1, 0.5), cts.Token);
        await conn.LoraForwardAsync("durable", M0, [2, In], Rows(2, -0.25), cts.Token);
        var before = first.Server.GetRecordedCalls("durable").Select(c => c.ToTranscriptEntry().ToString()).ToList();
        // "Crash": the server object is abandoned without any shutdown; only the port is released.
        await first.Socket.StopAsync(cts.Token);

        var prover = new FakeProver();
        await using var second = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = prover }, outDir: outDir);
        Assert.Equal(["durable"], second.Server.OpenSessionIds);
        Assert.Equal(before, second.Server.GetRecordedCalls("durable").Select(c => c.ToTranscriptEntry().ToString()));
        // The client keeps its token; its connection reconnects to the new port through a fresh object.
        var token = typeof(ContributorConnection).GetField("_tokens", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var tokens = (Dictionary<string, string>)token.GetValue(conn)!;
        using var raw = await RawConnection.OpenAsync(second.Endpoint, cts.Token);
        await raw.SendFrameAsync(Forward("durable", tokens["durable"], "[" + Row(In) + "]"), cts.Token);
        using (var d = JsonDocument.Parse((await raw.ReceiveAsync(cts.Token))!))
            Assert.Equal(2, d.RootElement.GetProperty("invocation_index").GetInt64());
        await raw.SendFrameAsync(End("durable", tokens["durable"]), cts.Token);
        Assert.Equal("end_inference_response", TypeOf(await raw.ReceiveAsync(cts.Token)));
        Assert.Equal(1, prover.Sessions);
        await conn.DisposeAsync();
    }

    [Fact(Timeout = 60000)]
    public async Task A_storage_failure_refuses_the_request_cleanly_and_the_server_keeps_serving()
    {
        using var cts = Timeouts.Test();
        using var dir = new TempDir();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() }, outDir: dir.Combine("out"));
        await using var conn = new ContributorConnection(s.Endpoint);
        await conn.LoraForwardAsync("before", M0, [1, In], Rows(1), cts.Token);
        // The session store becomes unusable (as on a full or failed disk): a file where the folder was.
        Directory.Delete(s.Server.SessionDirectory, recursive: true);
        File.WriteAllText(s.Server.SessionDirectory, "not a folder");
        using var raw = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await raw.SendFrameAsync("{\"type\":\"open_session\",\"session_id\":\"after\"}", cts.Token);
        Assert.Contains("cannot store the session durably", ErrorOf(await raw.ReceiveAsync(cts.Token), WireErrorCode.StorageUnavailable));
        Assert.DoesNotContain("after", s.Server.OpenSessionIds);
        await raw.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
        Assert.Equal("init_response", TypeOf(await raw.ReceiveAsync(cts.Token)));
    }

    [Fact(Timeout = 60000)]
    public async Task A_torn_last_log_record_is_ignored()
    {
        using var dir = new TempDir();
        string outDir = dir.Combine("out");
        var s1 = LoRAServer.Create(fx.Adapter, outDir, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        s1.LoraForward("torn", M0, [1, In], Rows(1));
        File.AppendAllText(Path.Combine(s1.SessionDirectory, "torn.wal"), "call {\"schema_ver"); // a crash mid-write
        var s2 = LoRAServer.Create(fx.Adapter, outDir, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        Assert.Single(s2.GetRecordedCalls("torn"));
        Assert.Equal(1, s2.LoraForward("torn", M0, [1, In], Rows(1)).Call.InvocationIndex);
        var s3 = LoRAServer.Create(fx.Adapter, outDir, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        Assert.Equal(2, s3.GetRecordedCalls("torn").Count);
        await Task.CompletedTask;
    }

    [Fact(Timeout = 240000)]
    public async Task An_accepted_end_inference_is_finished_after_a_crash_without_the_client_and_torn_artifacts_are_replaced()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(220));
        using var dir = new TempDir();
        string outDir = dir.Combine("out");
        var blocking = new FakeProver(block: true);
        var s1 = LoRAServer.Create(fx.Adapter, outDir, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = blocking });
        s1.LoraForward("owed", M0, [1, In], Rows(1));
        s1.LoraForward("owed", DemoModel.AdapterModules[1], [2, In], Rows(2, 0.125));
        using var crash = new CancellationTokenSource();
        var ending = s1.EndInferenceAsync("owed", null, crash.Token);
        await blocking.Started.Task.WaitAsync(cts.Token); // end_inference accepted, proving under way
        // A torn triple left by the crashed prover.
        File.WriteAllText(Path.Combine(s1.ProofDirectory, $"owed.{M0}.0.zklora.proof"), "torn");
        crash.Cancel(); // the process dies; nothing more of s1 runs
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ending);

        // Restart with the real prover: it finishes the session by itself, and tells the host's logger.
        var log = new CapturingLogger();
        var s2 = LoRAServer.Create(fx.Adapter, outDir, new LoRAServerOptions { Logger = log });
        await s2.Recovery.WaitAsync(cts.Token);
        Assert.Collection(log.Entries,
            e =>
            {
                Assert.Equal((LogLevel.Information, "RecoveryStarted", (object?)1), (e.Level, e.EventId.Name, e.Values["Sessions"]));
                Assert.Equal("recovery: finishing 1 session(s) whose end_inference was accepted before a restart", e.Message);
            },
            e =>
            {
                Assert.Equal((LogLevel.Information, "RecoveryProved", (object?)"owed", (object?)2), (e.Level, e.EventId.Name, e.Values["SessionId"], e.Values["Proofs"]));
                Assert.Equal("recovery: session 'owed': 2 proofs written", e.Message);
            });
        Assert.True(s2.IsEnded("owed"));
        Assert.Empty(s2.OpenSessionIds);
        var files = Directory.GetFiles(s2.ProofDirectory).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(6, files.Count); // two calls × (statement, proof, meta); nothing partial
        Assert.DoesNotContain(files, f => f!.Contains(".partial-"));
        Assert.NotEqual("torn", File.ReadAllText(Path.Combine(s2.ProofDirectory, $"owed.{M0}.0.zklora.proof")));
        var transcript = new ZkLora.Api.InferenceTranscript(s1.GetRecordedCalls("owed").Select(c => c.ToTranscriptEntry()));
        string t = Path.Combine(dir.Path, "t.json"), m = Path.Combine(dir.Path, "m.json");
        transcript.Write(t);
        s2.WriteManifest(m);
        var r = ZkLora.Api.ProofVerification.BatchVerifyProofs([s2.ProofDirectory], t, [m]);
        Assert.Equal(2, r.ProofCount);
    }

    // ---------------------------------------------------------------- items 10, 11, 12, 14

    [Fact(Timeout = 60000)]
    public async Task Control_characters_are_escaped_in_error_frames_the_log_and_the_client()
    {
        using var cts = Timeouts.Test();
        // What the socket logs, as values (escaped by the library) and as the lines `zklora serve` writes.
        var log = new StringWriter();
        var captured = new CapturingLogger();
        await using var s = await RunningServer.StartAsync(fx.Adapter,
            socketOptions: new LoRAServerSocketOptions { Logger = new TeeLogger(captured, ZkLora.Cli.PlainLineLogger.Serve(log)) });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        const string evil = "a\\r\\nb\\u001b[31mred\\u0007\\u2028";
        await conn.SendFrameAsync($"{{\"type\":\"open_session\",\"session_id\":\"{evil}\"}}", cts.Token);
        string e1 = ErrorOf(await conn.ReceiveAsync(cts.Token));
        await conn.SendFrameAsync(Forward("x", "t", "[" + Row(In) + "]", module: evil), cts.Token);
        string e2 = ErrorOf(await conn.ReceiveAsync(cts.Token));
        await conn.SendFrameAsync($"{{\"type\":\"{evil}\"}}", cts.Token);
        string e3 = ErrorOf(await conn.ReceiveAsync(cts.Token));
        foreach (var text in new[] { e1, e2, e3 })
        {
            Assert.DoesNotContain(text, c => char.IsControl(c) || c == '\u2028');
            Assert.Contains("\\u001b", text);
        }
        Assert.NotEmpty(captured.Entries);
        Assert.All(captured.Entries, e =>
        {
            Assert.DoesNotContain(e.Message, c => char.IsControl(c) || c == '\u2028');
            Assert.All(e.Values.Values.OfType<string>(), v => Assert.DoesNotContain(v, c => char.IsControl(c) || c == '\u2028'));
        });
        string logged = log.ToString();
        Assert.DoesNotContain('\u001b', logged);
        Assert.DoesNotContain('\r', logged);
        Assert.All(logged.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("[zklora serve", line));
        // The client side: an error from a contributor is escaped before anyone prints it.
        var frame = Encoding.UTF8.GetBytes("{\"type\":\"error\",\"error\":\"boom\\u001b[2J\\r\\nFAKE OK\"}");
        var ex = Assert.Throws<WireProtocolException>(() => WireMessages.ParseEndInferenceResponse(frame));
        Assert.DoesNotContain(ex.Message, char.IsControl);
        Assert.DoesNotContain(WireMessages.TryGetError(frame)!, char.IsControl);
    }

    [Fact]
    public void A_shape_whose_size_overflows_is_a_validation_error()
    {
        using var dir = new TempDir();
        var s = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions { Durable = false }, hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver() });
        var e = Assert.Throws<LoraRequestException>(() => s.LoraForward("o", M0, [1L << 40, 1L << 40, In], []));
        Assert.Contains("rows", e.Message);
        Assert.Equal(WireErrorCode.BudgetExceeded, e.Code);
        e = Assert.Throws<LoraRequestException>(() => s.LoraForward("o", M0, [long.MaxValue, In], []));
        Assert.Contains("rows", e.Message);
        Assert.Equal(WireErrorCode.BudgetExceeded, e.Code);
        Assert.Empty(s.OpenSessionIds);
    }

    [Fact(Timeout = 60000)]
    public async Task Stopping_during_proving_sends_the_shutting_down_frame()
    {
        using var cts = Timeouts.Test();
        var prover = new FakeProver(block: true);
        var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = prover });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await ServerRobustnessTests.OpenAsync(conn, "stop", cts.Token);
        await conn.SendFrameAsync(Forward("stop", token, "[" + Row(In) + "]"), cts.Token);
        Assert.Equal("lora_forward_response", TypeOf(await conn.ReceiveAsync(cts.Token)));
        await conn.SendFrameAsync(End("stop", token), cts.Token);
        await prover.Started.Task.WaitAsync(cts.Token);
        var stopping = s.Socket.StopAsync(cts.Token);
        string error = ErrorOf(await conn.ReceiveAsync(cts.Token), WireErrorCode.ShuttingDown);
        Assert.Contains("shutting down", error);
        Assert.Contains("when the server restarts", error);
        await stopping;
        await s.DisposeAsync();
    }

    [Fact(Timeout = 60000)]
    public async Task End_inference_waits_no_longer_than_the_given_timeout()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { ProofGenerator = new FakeProver(block: true) });
        await using var conn = new ContributorConnection(s.Endpoint);
        await conn.LoraForwardAsync("slow", M0, [1, In], Rows(1), cts.Token);
        var e = await Assert.ThrowsAsync<TimeoutException>(() => conn.EndInferenceAsync("slow", TimeSpan.FromMilliseconds(300), cts.Token));
        Assert.Contains("did not answer", e.Message);
    }
}
