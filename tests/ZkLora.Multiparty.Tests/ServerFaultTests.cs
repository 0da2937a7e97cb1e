using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// Issue 15: a disk that fills up in the middle of a session, and a base-model client that crashes
/// in the middle of one. Loopback only; every wait is bounded.
/// </summary>
public class ServerFaultTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private const int In = DemoModel.EmbeddingSize;

    private static double[][] Rows(int n, double v = 0.25) => Enumerable.Range(0, n).Select(_ => Enumerable.Repeat(v, In).ToArray()).ToArray();

    private static string Row(string value = "0.5") => "[" + string.Join(",", Enumerable.Repeat(value, In)) + "]";

    private static string Forward(string session, string token, string value = "0.5") =>
        $"{{\"type\":\"lora_forward\",\"session_id\":\"{session}\",\"session_token\":\"{token}\",\"submodule_name\":\"{M0}\",\"input\":[{Row(value)}]}}";

    private static string End(string session, string token) =>
        $"{{\"type\":\"end_inference\",\"session_id\":\"{session}\",\"session_token\":\"{token}\"}}";

    private static JsonElement Reply(string? json)
    {
        Assert.NotNull(json);
        using var d = JsonDocument.Parse(json!);
        return d.RootElement.Clone();
    }

    private static string ErrorOf(string? json)
    {
        var r = Reply(json);
        Assert.True(r.GetProperty("type").GetString() == "error", json);
        return r.GetProperty("error").GetString()!;
    }

    private static long IndexOf(string? json)
    {
        var r = Reply(json);
        Assert.True(r.GetProperty("type").GetString() == "lora_forward_response", json);
        return r.GetProperty("invocation_index").GetInt64();
    }

    /// <summary>A prover double that writes nothing and counts the sessions handed to it.</summary>
    private sealed class CountingProver : IProofGenerator
    {
        public int Sessions;

        public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Sessions);
            return Task.FromResult(job.Calls.Count);
        }
    }

    /// <summary>
    /// A disk that can be made full: files of the session store are real files, but while
    /// <see cref="Full"/> is set a write puts part of its bytes on the disk and then fails with
    /// ENOSPC, as a write that runs out of space does.
    /// </summary>
    private sealed class FillableDisk
    {
        public volatile bool Full;
        public int FailedWrites;

        public FileStream Open(string path, FileMode mode) => new FillingStream(path, mode, this);

        private sealed class FillingStream(string path, FileMode mode, FillableDisk disk)
            : FileStream(path, mode, FileAccess.Write, FileShare.Read, 1, FileOptions.None)
        {
            // FileStream routes a span write of a derived type through this overload, so the fault lives here.
            public override void Write(byte[] buffer, int offset, int count)
            {
                if (!disk.Full)
                {
                    base.Write(buffer, offset, count);
                    return;
                }
                Interlocked.Increment(ref disk.FailedWrites);
                base.Write(buffer, offset, count / 2);
                // What .NET throws for errno 28 (ENOSPC) on Unix.
                throw new IOException($"No space left on device : '{Name}'", 28);
            }

            public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);
        }
    }

    // ---------------------------------------------------------------- disk full (item 8, deliverable "disk full")

    [Fact(Timeout = 60000)]
    public async Task A_disk_that_fills_mid_session_refuses_the_call_with_an_error_frame_keeps_no_half_record_and_recovers()
    {
        using var cts = Timeouts.Test();
        using var dir = new TempDir();
        string outDir = dir.Combine("out");
        var disk = new FillableDisk();
        var prover = new CountingProver();
        var hooks = new LoRAServerTestHooks { ProofGenerator = prover, StoreFileOpener = disk.Open };
        await using var first = await RunningServer.StartAsync(fx.Adapter, outDir: outDir, hooks: hooks);
        using var conn = await RawConnection.OpenAsync(first.Endpoint, cts.Token);
        string token = await ServerRobustnessTests.OpenAsync(conn, "full", cts.Token);
        await conn.SendFrameAsync(Forward("full", token, "0.5"), cts.Token);
        Assert.Equal(0, IndexOf(await conn.ReceiveAsync(cts.Token)));
        string wal = Path.Combine(first.Server.SessionDirectory, "full.wal");
        byte[] logBefore = File.ReadAllBytes(wal);

        // The disk fills: the next call's log record cannot be written.
        disk.Full = true;
        await conn.SendFrameAsync(Forward("full", token, "0.75"), cts.Token);
        string error = ErrorOf(await conn.ReceiveAsync(cts.Token));
        Assert.Contains("cannot record the call durably", error);
        Assert.Contains("nothing was recorded", error);
        Assert.True(disk.FailedWrites > 0, "the fault was never hit");
        Assert.Single(first.Server.GetRecordedCalls("full"));
        Assert.Equal(logBefore, File.ReadAllBytes(wal)); // the half-written record was cut off
        // end_inference cannot be logged either: refused, and the session is not left "being proved".
        await conn.SendFrameAsync(End("full", token), cts.Token);
        Assert.Contains("cannot log end_inference durably", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        Assert.Equal(0, prover.Sessions);
        Assert.Equal(logBefore, File.ReadAllBytes(wal));
        // The server keeps serving what needs no disk, on the same connection and on a new one.
        await conn.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
        Assert.Equal("init_response", Reply(await conn.ReceiveAsync(cts.Token)).GetProperty("type").GetString());
        using (var other = await RawConnection.OpenAsync(first.Endpoint, cts.Token))
        {
            await other.SendFrameAsync("{\"type\":\"open_session\",\"session_id\":\"during\"}", cts.Token);
            Assert.Contains("cannot store the session durably", ErrorOf(await other.ReceiveAsync(cts.Token)));
            Assert.DoesNotContain("during", first.Server.OpenSessionIds);
            Assert.False(File.Exists(Path.Combine(first.Server.SessionDirectory, "during.wal"))); // no empty log left for a restart to trip on
        }

        // Space returns: the session continues where it was (the refused call left no index behind).
        disk.Full = false;
        await conn.SendFrameAsync(Forward("full", token, "-0.5"), cts.Token);
        Assert.Equal(1, IndexOf(await conn.ReceiveAsync(cts.Token)));
        var accepted = first.Server.GetRecordedCalls("full").Select(c => c.ToTranscriptEntry().ToString()).ToList();
        Assert.Equal(2, accepted.Count);

        // A restart reads exactly the accepted calls back from the log, and the owner ends the session.
        await first.Socket.StopAsync(cts.Token);
        await using var second = await RunningServer.StartAsync(fx.Adapter, outDir: outDir, hooks: hooks);
        Assert.Equal(accepted, second.Server.GetRecordedCalls("full").Select(c => c.ToTranscriptEntry().ToString()));
        using var again = await RawConnection.OpenAsync(second.Endpoint, cts.Token);
        await again.SendFrameAsync(End("full", token), cts.Token);
        var ended = Reply(await again.ReceiveAsync(cts.Token));
        Assert.Equal("end_inference_response", ended.GetProperty("type").GetString());
        Assert.Equal(2, ended.GetProperty("recorded_calls").GetInt64());
        Assert.Equal(1, prover.Sessions);
    }

    [Fact]
    public void A_disk_full_while_a_restart_reads_the_store_loses_no_accepted_call()
    {
        using var dir = new TempDir();
        string outDir = dir.Combine("out");
        var disk = new FillableDisk();
        var log = new CapturingLogger();
        var s1 = LoRAServer.Create(fx.Adapter, outDir, new LoRAServerOptions { Logger = log },
            new LoRAServerTestHooks { ProofGenerator = new CountingProver(), StoreFileOpener = disk.Open });
        s1.LoraForward("kept", M0, [1, In], Rows(1));
        Assert.Empty(log.Entries);
        disk.Full = true;
        Assert.Contains("cannot record the call durably", Assert.Throws<LoraRequestException>(() => s1.LoraForward("kept", M0, [2, In], Rows(2))).Message);
        Assert.Contains("cannot store the session durably", Assert.Throws<LoraRequestException>(() => s1.LoraForward("new", M0, [1, In], Rows(1))).Message);
        // The operator is told, at error level, with the session as a value (the client only hears "try again later").
        Assert.Collection(log.Entries,
            e =>
            {
                Assert.Equal((LogLevel.Error, "SessionLogWriteFailed", "kept"), (e.Level, e.EventId.Name, e.Values["SessionId"]));
                Assert.StartsWith("session 'kept': cannot write its log: ", e.Message);
            },
            e =>
            {
                Assert.Equal((LogLevel.Error, "SessionLogCreateFailed", "new"), (e.Level, e.EventId.Name, e.Values["SessionId"]));
                Assert.StartsWith("session 'new': cannot create its log: ", e.Message);
            });
        // The failed open left no session and no log behind that a restart would mistake for one.
        Assert.DoesNotContain("new", s1.OpenSessionIds);
        Assert.False(File.Exists(Path.Combine(s1.SessionDirectory, "new.wal")));
        // Restarted while the disk is still full: the log is only read (and its unacknowledged tail,
        // if any, cut off), so the accepted call is back.
        var s2 = LoRAServer.Create(fx.Adapter, outDir, null, new LoRAServerTestHooks { ProofGenerator = new CountingProver(), StoreFileOpener = disk.Open });
        Assert.Single(s2.GetRecordedCalls("kept"));
        Assert.DoesNotContain("new", s2.OpenSessionIds);
        disk.Full = false;
        Assert.Equal(1, s2.LoraForward("kept", M0, [1, In], Rows(1)).Call.InvocationIndex);
    }

    // ---------------------------------------------------------------- a client that crashes mid-session

    /// <summary>Ends a connection the way a crashed process's socket ends: a reset, not an orderly close.</summary>
    private static void Crash(RawConnection conn) => conn.Reset();

    [Fact(Timeout = 60000)]
    public async Task A_client_whose_connection_dies_mid_request_resumes_its_session_with_its_token_on_a_new_connection()
    {
        using var cts = Timeouts.Test();
        var prover = new CountingProver();
        await using var s = await RunningServer.StartAsync(fx.Adapter, hooks: new LoRAServerTestHooks { ProofGenerator = prover });
        var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await ServerRobustnessTests.OpenAsync(conn, "resumed", cts.Token);
        await conn.SendFrameAsync(Forward("resumed", token), cts.Token);
        Assert.Equal(0, IndexOf(await conn.ReceiveAsync(cts.Token)));
        // Half of the next request's frame is sent, then the connection is reset.
        byte[] payload = Encoding.UTF8.GetBytes(Forward("resumed", token, "0.125"));
        await conn.SendBytesAsync([.. RawConnection.Header((ulong)payload.Length), .. payload.AsSpan(0, payload.Length / 2).ToArray()], cts.Token);
        Crash(conn);

        // The session outlives its connection: the same token continues it from a new connection,
        // and the half-sent call left nothing behind.
        using var back = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await back.SendFrameAsync(Forward("resumed", token, "0.25"), cts.Token);
        Assert.Equal(1, IndexOf(await back.ReceiveAsync(cts.Token)));
        Assert.Equal(2, s.Server.GetRecordedCalls("resumed").Count);
        await back.SendFrameAsync(End("resumed", token), cts.Token);
        var ended = Reply(await back.ReceiveAsync(cts.Token));
        Assert.Equal("end_inference_response", ended.GetProperty("type").GetString());
        Assert.Equal(2, ended.GetProperty("recorded_calls").GetInt64());
        Assert.Equal(1, prover.Sessions);
    }

    [Fact(Timeout = 60000)]
    public async Task A_client_that_crashed_with_its_token_cannot_be_impersonated_and_its_session_expires_unproved()
    {
        using var cts = Timeouts.Test();
        var prover = new CountingProver();
        var log = new CapturingLogger();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions
        {
            MaxOpenSessionsPerClient = 1, SessionIdleTimeout = TimeSpan.FromMilliseconds(500), Logger = log,
        }, hooks: new LoRAServerTestHooks { ProofGenerator = prover });
        var crashed = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await ServerRobustnessTests.OpenAsync(crashed, "orphan", cts.Token);
        await crashed.SendFrameAsync(Forward("orphan", token), cts.Token);
        Assert.Equal(0, IndexOf(await crashed.ReceiveAsync(cts.Token)));
        Crash(crashed); // the process died: its token (kept only in its memory) is gone with it

        // Whoever comes next, from the same address, cannot use, learn about or end the session.
        using var next = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await next.SendFrameAsync(Forward("orphan", new string('0', 64)), cts.Token);
        Assert.Contains("session token is not the one", ErrorOf(await next.ReceiveAsync(cts.Token)));
        await next.SendFrameAsync(End("orphan", new string('f', 64)), cts.Token);
        Assert.Contains("session token is not the one", ErrorOf(await next.ReceiveAsync(cts.Token)));
        await next.SendFrameAsync("{\"type\":\"open_session\",\"session_id\":\"orphan\"}", cts.Token);
        Assert.Contains("already open", ErrorOf(await next.ReceiveAsync(cts.Token)));
        Assert.Single(s.Server.GetRecordedCalls("orphan"));

        // The orphan holds its slot only until it expires; then its calls are discarded unproved,
        // its log is gone, its id is closed for good, and the slot is free.
        string fresh = "";
        for (int attempt = 0; fresh.Length == 0; attempt++)
        {
            await next.SendFrameAsync($"{{\"type\":\"open_session\",\"session_id\":\"after{attempt}\"}}", cts.Token);
            var r = Reply(await next.ReceiveAsync(cts.Token));
            if (r.GetProperty("type").GetString() == "open_session_response") fresh = r.GetProperty("session_token").GetString()!;
            else
            {
                Assert.Contains("per-client limit", r.GetProperty("error").GetString()!);
                await Task.Delay(200, cts.Token); // expiry happens no earlier than the idle time; the test's own timeout bounds this
            }
        }
        Assert.True(s.Server.IsEnded("orphan"));
        Assert.Empty(s.Server.GetRecordedCalls("orphan"));
        Assert.False(File.Exists(Path.Combine(s.Server.SessionDirectory, "orphan.wal")));
        Assert.Equal(0, prover.Sessions);
        // Even the real token no longer works (a client that only lost its connection and came
        // back after the expiry is told so).
        await next.SendFrameAsync(Forward("orphan", token), cts.Token);
        Assert.Contains("has ended", ErrorOf(await next.ReceiveAsync(cts.Token)));
        // A restart does not bring it back.
        var restarted = LoRAServer.Create(fx.Adapter, s.Server.OutputDirectory, null, new LoRAServerTestHooks { ProofGenerator = prover });
        Assert.True(restarted.IsEnded("orphan"));
        Assert.DoesNotContain("orphan", restarted.OpenSessionIds);
    }
}
