using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// Error frames carry a machine-readable code (docs/wire-protocol.md, "Errors"): every code the
/// server sends is produced here and read back; the client reads codes strictly, a codeless error
/// from a zklora.wire.v2 contributor as Unspecified, and decides on codes, never on messages.
/// </summary>
public class WireErrorCodeTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];
    private const int In = DemoModel.EmbeddingSize;

    private static string Row(int n, string value = "0.5") => "[" + string.Join(",", Enumerable.Repeat(value, n)) + "]";

    private static string Forward(string session, string token, string input, string? module = null) =>
        $"{{\"type\":\"lora_forward\",\"session_id\":\"{session}\",\"session_token\":\"{token}\",\"submodule_name\":\"{module ?? M0}\",\"input\":{input}}}";

    private static string End(string session, string token) =>
        $"{{\"type\":\"end_inference\",\"session_id\":\"{session}\",\"session_token\":\"{token}\"}}";

    private static string Open(string session) => $"{{\"type\":\"open_session\",\"session_id\":\"{session}\"}}";

    /// <summary>The code and message of an error frame, checking that it has exactly type, code and error.</summary>
    private static (string Code, string Message) CodeOf(string? json)
    {
        Assert.NotNull(json);
        using var d = JsonDocument.Parse(json!);
        var root = d.RootElement;
        Assert.True(root.GetProperty("type").GetString() == "error", json);
        Assert.Equal(["type", "code", "error"], root.EnumerateObject().Select(p => p.Name));
        return (root.GetProperty("code").GetString()!, root.GetProperty("error").GetString()!);
    }

    /// <summary>A prover double: answers at once, waits until cancelled, or fails as told.</summary>
    private sealed class Prover(Func<ProofJob, CancellationToken, Task<int>> prove) : IProofGenerator
    {
        public readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<int> ProveSessionAsync(ProofJob job, IProgress<ProofProgress>? progress, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            return prove(job, cancellationToken);
        }

        public static Prover Instant() => new((job, _) => Task.FromResult(job.Calls.Count));

        public static Prover Blocking() => new(async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); return 0; });

        public static Prover Throwing(Exception e) => new((_, _) => Task.FromException<int>(e));
    }

    private async Task<RunningServer> StartAsync(LoRAServerOptions? options = null, LoRAServerSocketOptions? socket = null, IProofGenerator? prover = null, string? outDir = null) =>
        await RunningServer.StartAsync(fx.Adapter, options ?? new LoRAServerOptions(), socket, outDir, new LoRAServerTestHooks { ProofGenerator = prover ?? Prover.Instant() });

    /// <summary>Sends one request on a connection and returns the answer.</summary>
    private static async Task<string?> AskAsync(RawConnection conn, string request, CancellationToken ct)
    {
        await conn.SendFrameAsync(request, ct);
        return await conn.ReceiveAsync(ct);
    }

    /// <summary>Every code but Unspecified, each with a scenario below that makes the server send it.</summary>
    public static TheoryData<WireErrorCode> ServerCodes()
    {
        var data = new TheoryData<WireErrorCode>();
        foreach (var c in Enum.GetValues<WireErrorCode>().Where(c => c != WireErrorCode.Unspecified)) data.Add(c);
        return data;
    }

    [Theory(Timeout = 60000)]
    [MemberData(nameof(ServerCodes))]
    public async Task Every_code_is_sent_by_the_server_for_its_error(WireErrorCode code)
    {
        using var cts = Timeouts.Test();
        var ct = cts.Token;
        var (wire, message) = CodeOf(await ProduceAsync(code, ct));
        Assert.Equal(code.ToWireName(), wire);
        Assert.True(WireErrorCodes.TryParse(wire, out var back));
        Assert.Equal(code, back);
        Assert.NotEmpty(message);
    }

    /// <summary>Drives a server into the error whose code is <paramref name="code"/> and returns the error frame.</summary>
    private async Task<string?> ProduceAsync(WireErrorCode code, CancellationToken ct)
    {
        string row = "[" + Row(In) + "]";
        switch (code)
        {
            case WireErrorCode.InvalidFrame:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                await conn.SendBytesAsync(RawConnection.Header(0), ct);
                return await conn.ReceiveAsync(ct);
            }
            case WireErrorCode.FrameTooLarge:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                await conn.SendBytesAsync(RawConnection.Header((ulong)s.Socket.RequestFrameLimit + 1), ct);
                return await conn.ReceiveAsync(ct);
            }
            case WireErrorCode.ReadTimeout:
            {
                await using var s = await StartAsync(socket: new LoRAServerSocketOptions { ReadTimeout = TimeSpan.FromMilliseconds(300) });
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                await conn.SendBytesAsync([0, 0, 0, 0, 0, 0, 0, 50, (byte)'{'], ct); // a frame that never completes
                return await conn.ReceiveAsync(ct);
            }
            case WireErrorCode.Busy:
            {
                await using var s = await StartAsync(socket: new LoRAServerSocketOptions { MaxConnections = 1 });
                using var first = await RawConnection.OpenAsync(s.Endpoint, ct);
                Assert.Contains("init_response", await AskAsync(first, "{\"type\":\"init_request\"}", ct)); // the only slot is taken
                using var second = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await second.ReceiveAsync(ct);
            }
            case WireErrorCode.TlsRequired:
            {
                using var cert = TestCertificate.Create();
                await using var s = await StartAsync(socket: new LoRAServerSocketOptions { TlsCertificate = cert.WithKey });
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await AskAsync(conn, "{\"type\":\"init_request\"}", ct);
            }
            case WireErrorCode.InvalidRequest:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await AskAsync(conn, "{\"type\":\"init_request\",\"type\":\"init_request\"}", ct);
            }
            case WireErrorCode.UnknownRequestType:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await AskAsync(conn, "{\"type\":\"proof_progress_v9\"}", ct);
            }
            case WireErrorCode.UnknownModule:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "m", ct);
                return await AskAsync(conn, Forward("m", token, row, module: "lm_head"), ct);
            }
            case WireErrorCode.InvalidInput:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "i", ct);
                return await AskAsync(conn, Forward("i", token, "[" + Row(In - 1) + "]"), ct);
            }
            case WireErrorCode.UnknownSession:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await AskAsync(conn, End("never-opened", "x"), ct);
            }
            case WireErrorCode.InvalidSessionToken:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                await ServerRobustnessTests.OpenAsync(conn, "t", ct);
                return await AskAsync(conn, Forward("t", new string('0', 64), row), ct);
            }
            case WireErrorCode.SessionExists:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                await ServerRobustnessTests.OpenAsync(conn, "twice", ct);
                return await AskAsync(conn, Open("twice"), ct);
            }
            case WireErrorCode.SessionEnded:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "done", ct);
                Assert.Contains("lora_forward_response", await AskAsync(conn, Forward("done", token, row), ct));
                Assert.Contains("end_inference_response", await AskAsync(conn, End("done", token), ct));
                return await AskAsync(conn, Forward("done", token, row), ct);
            }
            case WireErrorCode.SessionProving:
            {
                var prover = Prover.Blocking();
                await using var s = await StartAsync(prover: prover);
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "busy-proving", ct);
                Assert.Contains("lora_forward_response", await AskAsync(conn, Forward("busy-proving", token, row), ct));
                await conn.SendFrameAsync(End("busy-proving", token), ct); // answered only when the server stops
                await prover.Started.Task.WaitAsync(ct);
                using var other = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await AskAsync(other, Forward("busy-proving", token, row), ct);
            }
            case WireErrorCode.SessionNotProving:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "np", ct);
                Assert.Contains("lora_forward_response", await AskAsync(conn, Forward("np", token, row), ct));
                return await AskAsync(conn, Encoding.UTF8.GetString(WireMessages.ProofProgressRequestBytes("np", token)), ct);
            }
            case WireErrorCode.NothingToProve:
            {
                await using var s = await StartAsync();
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "empty", ct);
                return await AskAsync(conn, End("empty", token), ct);
            }
            case WireErrorCode.BudgetExceeded:
            {
                await using var s = await StartAsync(new LoRAServerOptions { MaxRowsPerCall = 1 });
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "b", ct);
                return await AskAsync(conn, Forward("b", token, "[" + Row(In) + "," + Row(In) + "]"), ct);
            }
            case WireErrorCode.StorageUnavailable:
            {
                using var dir = new TempDir();
                await using var s = await StartAsync(outDir: dir.Combine("out"));
                // The session store becomes unusable, as on a failed disk: a file where its folder was.
                Directory.Delete(s.Server.SessionDirectory, recursive: true);
                File.WriteAllText(s.Server.SessionDirectory, "not a folder");
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                return await AskAsync(conn, Open("nowhere"), ct);
            }
            case WireErrorCode.ProofFailed:
            case WireErrorCode.InternalError:
            {
                var failure = code == WireErrorCode.ProofFailed
                    ? (Exception)new ProofGenerationException("call x cannot be proved")
                    : new InvalidOperationException("a bug");
                await using var s = await StartAsync(prover: Prover.Throwing(failure));
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "fails", ct);
                Assert.Contains("lora_forward_response", await AskAsync(conn, Forward("fails", token, row), ct));
                return await AskAsync(conn, End("fails", token), ct);
            }
            case WireErrorCode.ShuttingDown:
            {
                var prover = Prover.Blocking();
                var s = await StartAsync(prover: prover);
                using var conn = await RawConnection.OpenAsync(s.Endpoint, ct);
                string token = await ServerRobustnessTests.OpenAsync(conn, "stop", ct);
                Assert.Contains("lora_forward_response", await AskAsync(conn, Forward("stop", token, row), ct));
                await conn.SendFrameAsync(End("stop", token), ct);
                await prover.Started.Task.WaitAsync(ct);
                var stopping = s.Socket.StopAsync(ct);
                string? answer = await conn.ReceiveAsync(ct);
                await stopping;
                await s.DisposeAsync();
                return answer;
            }
            default:
                throw new InvalidOperationException($"No scenario produces {code}: add one (every code the server sends is tested).");
        }
    }

    // ---------------------------------------------------------------- the names

    [Fact]
    public void Every_code_has_one_distinct_snake_case_wire_name_that_reads_back()
    {
        var names = Enum.GetValues<WireErrorCode>().Where(c => c != WireErrorCode.Unspecified).Select(c => c.ToWireName()).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(_[a-z]+)*$", n));
        Assert.Throws<ArgumentOutOfRangeException>(() => WireErrorCode.Unspecified.ToWireName());
        Assert.Throws<ArgumentOutOfRangeException>(() => ((WireErrorCode)999).ToWireName());
        foreach (var bad in new[] { null, "", "unspecified", "Unknown_Request_Type", "unknown_request_type ", "UnknownRequestType" })
        {
            Assert.False(WireErrorCodes.TryParse(bad, out var c));
            Assert.Equal(WireErrorCode.Unspecified, c);
        }
    }

    [Fact]
    public void The_protocol_reference_lists_every_code_in_its_table()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "wire-protocol.md"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var rows = File.ReadAllLines(Path.Combine(dir!.FullName, "docs", "wire-protocol.md"))
            .Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('`')[1])
            .Where(n => WireErrorCodes.TryParse(n, out _))
            .ToList();
        var names = Enum.GetValues<WireErrorCode>().Where(c => c != WireErrorCode.Unspecified).Select(c => c.ToWireName());
        Assert.Equal(names.Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Request_errors_carry_their_code_before_the_server_sends_them()
    {
        WireErrorCode Rejected(string json) => Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(Encoding.UTF8.GetBytes(json))).Code;
        Assert.Equal(WireErrorCode.InvalidRequest, Rejected("{"));
        Assert.Equal(WireErrorCode.InvalidRequest, Rejected("{\"type\":\"init_request\",\"x\":1}"));
        Assert.Equal(WireErrorCode.InvalidRequest, Rejected("{\"type\":\"end_inference\",\"session_id\":\"a/b\",\"session_token\":\"t\"}"));
        Assert.Equal(WireErrorCode.UnknownRequestType, Rejected("{\"type\":\"launch_missiles\"}"));
        Assert.Equal(WireErrorCode.InvalidInput, Rejected(Forward("s", "t", "[[1,2],[3]]")));
        Assert.Equal(WireErrorCode.InvalidInput, Rejected(Forward("s", "t", "[[1,1e400]]")));
        var rows = Assert.Throws<WireProtocolException>(() => WireMessages.ParseRequest(Encoding.UTF8.GetBytes(Forward("s", "t", "[[1],[2],[3]]")), 100, 2));
        Assert.Equal(WireErrorCode.BudgetExceeded, rows.Code);
        Assert.False(rows.IsErrorResponse);
    }

    // ---------------------------------------------------------------- the client's reading

    [Fact]
    public void The_client_reads_each_code_and_a_codeless_error_as_unspecified()
    {
        foreach (var code in Enum.GetValues<WireErrorCode>())
        {
            var e = Assert.Throws<WireProtocolException>(() => WireMessages.ParseEndInferenceResponse(WireMessages.ErrorBytes(code, "why")));
            Assert.Equal(code, e.Code);
            Assert.True(e.IsErrorResponse);
            Assert.Equal("The contributor answered with an error: why", e.Message);
        }
        // What a zklora.wire.v2 contributor sends: two members, no code.
        var v2 = Encoding.UTF8.GetBytes("{\"type\":\"error\",\"error\":\"Unknown request type 'proof_progress'; expected init_request, open_session, lora_forward or end_inference.\"}");
        var old = Assert.Throws<WireProtocolException>(() => WireMessages.ParseProofProgressResponse(v2));
        Assert.Equal(WireErrorCode.Unspecified, old.Code);
        Assert.True(old.IsErrorResponse);
        // ErrorBytes without a code writes that frame (a fake older contributor below uses it).
        using (var d = JsonDocument.Parse(WireMessages.ErrorBytes("old")))
            Assert.Equal(["type", "error"], d.RootElement.EnumerateObject().Select(p => p.Name));
        // Members in any order.
        var reordered = Encoding.UTF8.GetBytes("{\"error\":\"e\",\"code\":\"busy\",\"type\":\"error\"}");
        Assert.Equal(WireErrorCode.Busy, Assert.Throws<WireProtocolException>(() => WireMessages.ParseInitResponse(reordered)).Code);
    }

    [Fact]
    public void A_contributor_exception_exposes_the_code_of_the_error_frame_behind_it()
    {
        var frame = Assert.Throws<WireProtocolException>(() => WireMessages.ParseEndInferenceResponse(WireMessages.ErrorBytes(WireErrorCode.UnknownModule, "no such module")));
        Assert.Equal(WireErrorCode.UnknownModule, new ContributorException("Module 'x' (contributor c): …", frame).Code);
        // a refusal this side made, an I/O failure, or no inner failure: not the contributor's code
        Assert.Equal(WireErrorCode.Unspecified, new ContributorException("m", new WireProtocolException("bad request", WireErrorCode.InvalidRequest)).Code);
        Assert.Equal(WireErrorCode.Unspecified, new ContributorException("m", new IOException("reset")).Code);
        Assert.Equal(WireErrorCode.Unspecified, new ContributorException("m").Code);
    }

    public static TheoryData<string, string> MalformedErrors => new()
    {
        { "{\"type\":\"error\",\"code\":\"launch_missiles\",\"error\":\"e\"}", "unknown error code 'launch_missiles'" },
        { "{\"type\":\"error\",\"code\":\"Busy\",\"error\":\"e\"}", "unknown error code 'Busy'" },
        { "{\"type\":\"error\",\"code\":\"\",\"error\":\"e\"}", "unknown error code ''" },
        { "{\"type\":\"error\",\"code\":7,\"error\":\"e\"}", "'code' must be a string, got a number" },
        { "{\"type\":\"error\",\"code\":null,\"error\":\"e\"}", "'code' must be a string, got null" },
        { "{\"type\":\"error\",\"code\":\"busy\",\"code\":\"busy\",\"error\":\"e\"}", "member 'code' appears twice" },
        { "{\"type\":\"error\",\"code\":\"busy\",\"error\":\"e\",\"error\":\"f\"}", "member 'error' appears twice" },
        { "{\"type\":\"error\",\"code\":\"busy\",\"error\":\"e\",\"retry_after\":5}", "unknown member 'retry_after'" },
        { "{\"type\":\"error\",\"code\":\"busy\"}", "missing member 'error'" },
        { "{\"type\":\"error\",\"code\":\"busy\",\"error\":3}", "'error' must be a string, got a number" },
    };

    [Theory]
    [MemberData(nameof(MalformedErrors))]
    public void A_malformed_error_frame_is_a_clear_protocol_error(string frame, string expected)
    {
        var e = Assert.Throws<WireProtocolException>(() => WireMessages.ParseLoraForwardResponse(Encoding.UTF8.GetBytes(frame)));
        Assert.StartsWith("The contributor's error response is malformed: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.False(e.IsErrorResponse);
        Assert.Equal(WireErrorCode.Unspecified, e.Code);
    }

    [Fact]
    public void The_client_accepts_v3_and_v2_contributors_and_names_both_when_refusing_another()
    {
        var init = new InitResponse(WireMessages.ProtocolId, new string('a', 64), ZkLora.Api.FixedPointSettings.Default, [new InjectionPoint("m.a", 4, 3, 2)]);
        Assert.Equal("zklora.wire.v3", WireMessages.ParseInitResponse(WireMessages.InitResponseBytes(init)).Protocol);
        Assert.Equal("zklora.wire.v2", WireMessages.ParseInitResponse(WireMessages.InitResponseBytes(init with { Protocol = "zklora.wire.v2" })).Protocol);
        var e = Assert.Throws<WireProtocolException>(() => WireMessages.ParseInitResponse(WireMessages.InitResponseBytes(init with { Protocol = "zklora.wire.v1" })));
        Assert.Contains("speaks protocol 'zklora.wire.v1'; this client speaks zklora.wire.v3 or zklora.wire.v2", e.Message);
    }

    [Fact(Timeout = 120000)]
    public async Task A_failed_end_inference_outcome_carries_the_contributors_code()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        await using var s = await StartAsync(prover: Prover.Throwing(new ProofGenerationException("call x cannot be proved")));
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [s.Endpoint], CombineMode.AddDelta, "fails-1");
        await client.InitAndPatchAsync(cts.Token);
        await client.ForwardLossAsync(DemoModel.SampleText, cts.Token);
        var failed = Assert.Single(await client.EndInferenceAsync(cts.Token));
        Assert.Null(failed.Response);
        Assert.Equal(WireErrorCode.ProofFailed, failed.ErrorCode);
        Assert.Contains("call x cannot be proved", failed.Error);
        // The session stays open (proof_failed): a second end_inference is answered again, with the same code.
        Assert.Equal(WireErrorCode.ProofFailed, Assert.Single(await client.EndInferenceAsync(cts.Token)).ErrorCode);
    }

    // ---------------------------------------------------------------- the progress poller and older contributors

    /// <summary>
    /// A contributor as an older build answers: init_response says <c>zklora.wire.v2</c>, calls are
    /// served by a real <see cref="LoRAServer"/>, every <c>proof_progress</c> (each on its own
    /// connection) is answered with <see cref="ProgressAnswer"/>, and <c>end_inference</c> is answered
    /// once <see cref="AnswerEnd"/> completes.
    /// </summary>
    private sealed class OlderContributor : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _tasks = new();
        private readonly LoRAServer _server;
        private int _progressRequests;

        public OlderContributor(LoRAServer server, byte[] progressAnswer)
        {
            _server = server;
            ProgressAnswer = progressAnswer;
            _listener.Start();
            _tasks.Add(Task.Run(AcceptAsync));
        }

        public byte[] ProgressAnswer { get; }

        /// <summary>The proof_progress requests received so far.</summary>
        public int ProgressRequests => Volatile.Read(ref _progressRequests);

        /// <summary>Completes with the first proof_progress request.</summary>
        public TaskCompletionSource FirstProgress { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>What end_inference waits for before it answers.</summary>
        public Func<CancellationToken, Task> AnswerEnd { get; set; } = _ => Task.CompletedTask;

        public ContributorEndpoint Endpoint => new("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_tasks) _tasks.Add(Task.Run(() => ServeAsync(client)));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var owned = client;
            try
            {
                var stream = client.GetStream();
                while (await WireFraming.ReadFrameAsync(stream, cancellationToken: _stop.Token) is { } frame)
                {
                    byte[] reply;
                    switch (WireMessages.ParseRequest(frame))
                    {
                        case InitRequest:
                            reply = WireMessages.InitResponseBytes(_server.Describe() with { Protocol = "zklora.wire.v2" });
                            break;
                        case OpenSessionRequest o:
                            reply = WireMessages.OpenSessionResponseBytes(new OpenSessionResponse(o.SessionId, _server.OpenSession(o.SessionId)));
                            break;
                        case LoraForwardRequest f:
                        {
                            var r = _server.LoraForwardCore(f.SessionId, f.SessionToken, f.SubmoduleName, f.InputShape, f.Rows, null, out _);
                            var c = r.Call;
                            reply = WireMessages.LoraForwardResponseBytes(new LoraForwardResponse(c.SessionId, c.ModuleName, c.InvocationIndex, c.InputShape.ToArray(),
                                c.OutputShape.ToArray(), r.Output, c.Delta.Select(row => row.ToArray()).ToArray(), c.Scaling.Numerator, c.Scaling.Denominator, c.FixedPoint));
                            break;
                        }
                        case ProofProgressRequest:
                            Interlocked.Increment(ref _progressRequests);
                            FirstProgress.TrySetResult();
                            reply = ProgressAnswer;
                            break;
                        case EndInferenceRequest e:
                        {
                            await AnswerEnd(_stop.Token);
                            int calls = _server.GetRecordedCalls(e.SessionId).Count;
                            reply = WireMessages.EndInferenceResponseBytes(new EndInferenceResponse(e.SessionId, calls, calls));
                            break;
                        }
                        default:
                            reply = WireMessages.ErrorBytes(WireErrorCode.InternalError, "unexpected request");
                            break;
                    }
                    await WireFraming.WriteFrameAsync(stream, reply, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException) { }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            Task[] all;
            lock (_tasks) all = _tasks.ToArray();
            try { await Task.WhenAll(all); } catch (Exception) { }
        }
    }

    private sealed class Collect : IProgress<ContributorProofProgress>
    {
        public int Reports;
        public void Report(ContributorProofProgress value) => Interlocked.Increment(ref Reports);
    }

    private async Task<(IReadOnlyList<EndInferenceOutcome> Outcomes, Collect Progress)> RunSessionAsync(OlderContributor contributor, string session, CancellationToken ct)
    {
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [contributor.Endpoint], CombineMode.AddDelta, session);
        await client.InitAndPatchAsync(ct); // a zklora.wire.v2 contributor is accepted
        await client.ForwardLossAsync(DemoModel.SampleText, ct);
        var progress = new Collect();
        client.ProofProgress = progress;
        client.ProgressPollInterval = TimeSpan.FromMilliseconds(10);
        return (await client.EndInferenceAsync(ct), progress);
    }

    [Fact(Timeout = 120000)]
    public async Task The_poller_stops_asking_a_contributor_that_answers_unknown_request_type_and_keeps_the_end_inference_answer()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), new LoRAServerTestHooks { ProofGenerator = Prover.Instant() });
        await using var older = new OlderContributor(server, WireMessages.ErrorBytes(WireErrorCode.UnknownRequestType,
            "Unknown request type 'proof_progress'; expected init_request, open_session, lora_forward or end_inference."));
        // end_inference is answered only after the first proof_progress, and then after 50 more poll
        // intervals: a poller that kept asking would have sent more requests by then.
        older.AnswerEnd = async ct =>
        {
            await older.FirstProgress.Task.WaitAsync(ct);
            await Task.Delay(500, ct);
        };
        var (outcomes, progress) = await RunSessionAsync(older, "older-1", cts.Token);
        var answer = Assert.Single(outcomes.EnsureAllSucceeded());
        Assert.Equal(new EndInferenceResponse("older-1", 2, 2), answer);
        Assert.Equal(1, older.ProgressRequests);
        Assert.Equal(0, progress.Reports);
    }

    [Fact(Timeout = 120000)]
    public async Task The_poller_keeps_asking_after_a_codeless_error_from_a_v2_contributor_and_keeps_the_end_inference_answer()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"), new LoRAServerOptions(), new LoRAServerTestHooks { ProofGenerator = Prover.Instant() });
        // A v2 contributor's errors carry no code: "not being proved yet" and "unknown request type"
        // look alike, so the client keeps asking (one short request per interval) until the answer.
        await using var older = new OlderContributor(server, WireMessages.ErrorBytes("Session 'older-2' is not being proved: no end_inference has been accepted for it."));
        older.AnswerEnd = async ct =>
        {
            while (older.ProgressRequests < 3) await Task.Delay(5, ct); // never completes if the poller stopped
        };
        var (outcomes, progress) = await RunSessionAsync(older, "older-2", cts.Token);
        Assert.Equal(new EndInferenceResponse("older-2", 2, 2), Assert.Single(outcomes.EnsureAllSucceeded()));
        Assert.True(older.ProgressRequests >= 3);
        Assert.Equal(0, progress.Reports);
    }
}
