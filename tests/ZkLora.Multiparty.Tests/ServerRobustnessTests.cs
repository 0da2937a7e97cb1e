using System.Text;
using System.Text.Json;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>Bad frames and requests get error responses; the server keeps serving.</summary>
public class ServerRobustnessTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static readonly string M0 = DemoModel.AdapterModules[0];

    /// <summary>A lora_forward; "{TOKEN}" is replaced by the session's token once it is opened.</summary>
    private static string Forward(string input, string module = "", string session = "s1", string token = "{TOKEN}") =>
        $"{{\"type\":\"lora_forward\",\"session_id\":\"{session}\",\"session_token\":\"{token}\",\"submodule_name\":\"{(module.Length == 0 ? M0 : module)}\",\"input\":{input}}}";

    private static string End(string session, string token = "{TOKEN}") =>
        $"{{\"type\":\"end_inference\",\"session_id\":\"{session}\",\"session_token\":\"{token}\"}}";

    /// <summary>Opens a session over a raw connection and returns its token.</summary>
    internal static async Task<string> OpenAsync(RawConnection conn, string session, CancellationToken ct)
    {
        await conn.SendFrameAsync($"{{\"type\":\"open_session\",\"session_id\":\"{session}\"}}", ct);
        var reply = (await conn.ReceiveAsync(ct))!;
        using var d = JsonDocument.Parse(reply);
        Assert.True(d.RootElement.GetProperty("type").GetString() == "open_session_response", reply);
        return d.RootElement.GetProperty("session_token").GetString()!;
    }

    private static string Row(int n, string value = "0.5") => "[" + string.Join(",", Enumerable.Repeat(value, n)) + "]";

    private static string TypeOf(string json)
    {
        using var d = JsonDocument.Parse(json);
        return d.RootElement.GetProperty("type").GetString()!;
    }

    private static string ErrorOf(string? json)
    {
        Assert.NotNull(json);
        using var d = JsonDocument.Parse(json!);
        Assert.Equal("error", d.RootElement.GetProperty("type").GetString());
        // zklora.wire.v3: type, a code of the closed set (WireErrorCodeTests checks which), the message.
        Assert.Equal(["type", "code", "error"], d.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.True(WireErrorCodes.TryParse(d.RootElement.GetProperty("code").GetString(), out _), json);
        return d.RootElement.GetProperty("error").GetString()!;
    }

    private static WireErrorCode CodeOf(string? json)
    {
        using var d = JsonDocument.Parse(json!);
        Assert.True(WireErrorCodes.TryParse(d.RootElement.GetProperty("code").GetString(), out var code), json);
        return code;
    }

    private static async Task AssertServesAsync(RunningServer s, CancellationToken ct, RawConnection? on = null)
    {
        using var fresh = on is null ? await RawConnection.OpenAsync(s.Endpoint, ct) : null;
        var conn = on ?? fresh!;
        await conn.SendFrameAsync("{\"type\":\"init_request\"}", ct);
        Assert.Equal("init_response", TypeOf((await conn.ReceiveAsync(ct))!));
        string probe = "probe" + Guid.NewGuid().ToString("N")[..8];
        string token = await OpenAsync(conn, probe, ct);
        await conn.SendFrameAsync(Forward("[" + Row(DemoModel.EmbeddingSize) + "]", session: probe, token: token), ct);
        Assert.Equal("lora_forward_response", TypeOf((await conn.ReceiveAsync(ct))!));
    }

    public static TheoryData<string, string, WireErrorCode> BadRequests => new()
    {
        { "{", "not valid JSON", WireErrorCode.InvalidRequest },
        { "\"just a string\"", "must be a JSON object", WireErrorCode.InvalidRequest },
        { "{\"type\":\"init_request\",\"extra\":true}", "unknown member 'extra'", WireErrorCode.InvalidRequest },
        { "{\"type\":\"prove_everything\"}", "Unknown request type 'prove_everything'", WireErrorCode.UnknownRequestType },
        { Forward("[" + Row(32) + "]", module: "transformer.h.9.attn.c_attn"), "Unknown module 'transformer.h.9.attn.c_attn'", WireErrorCode.UnknownModule },
        { Forward("[" + Row(32) + "]", module: "lm_head"), "Unknown module 'lm_head'", WireErrorCode.UnknownModule },
        { Forward("[" + Row(31) + "]"), "takes input of shape [rows, 32]", WireErrorCode.InvalidInput },
        { Forward("[[" + Row(33) + "]]"), "takes input of shape [rows, 32]", WireErrorCode.InvalidInput },
        { Forward("[" + Row(32) + "," + Row(31) + "]"), "rectangular", WireErrorCode.InvalidInput },
        { Forward("[" + Row(32, "NaN") + "]"), "not valid JSON", WireErrorCode.InvalidRequest },
        { Forward("[" + Row(32, "\"NaN\"") + "]"), "must be a number, got a string", WireErrorCode.InvalidInput },
        { Forward("[" + Row(32, "1e999") + "]"), "not a finite double", WireErrorCode.InvalidInput },
        { Forward("[" + Row(32, "-Infinity") + "]"), "not valid JSON", WireErrorCode.InvalidRequest },
        { Forward("[" + Row(32, "1e300") + "]"), "outside the value bound", WireErrorCode.InvalidInput },
        { Forward("[" + Row(32) + "]", session: "../etc"), "session id", WireErrorCode.InvalidRequest },
        { End("never-used", "x"), "Unknown session 'never-used'", WireErrorCode.UnknownSession },
        { Forward("[" + Row(32) + "]", token: "wrong"), "the session token is not the one open_session returned", WireErrorCode.InvalidSessionToken },
        { End("s1", "wrong"), "the session token is not the one open_session returned", WireErrorCode.InvalidSessionToken },
        { Forward("[" + Row(32) + "]", session: "not-opened", token: "x"), "Unknown session 'not-opened': open it with open_session first", WireErrorCode.UnknownSession },
        { "{\"type\":\"open_session\",\"session_id\":\"s1\"}", "is already open", WireErrorCode.SessionExists },
    };

    [Theory(Timeout = 60000)]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_an_error_and_the_connection_and_server_keep_serving(string request, string expected, WireErrorCode code)
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await OpenAsync(conn, "s1", cts.Token);
        await conn.SendFrameAsync(request.Replace("{TOKEN}", token), cts.Token);
        string? answer = await conn.ReceiveAsync(cts.Token);
        Assert.Contains(expected, ErrorOf(answer));
        Assert.Equal(code, CodeOf(answer));
        await AssertServesAsync(s, cts.Token, on: conn);
        await AssertServesAsync(s, cts.Token);
        Assert.Empty(s.Server.GetRecordedCalls("s1"));
    }

    [Fact(Timeout = 60000)]
    public async Task Invalid_utf8_and_zero_length_frames_get_errors_on_a_connection_that_stays_usable()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        byte[] bad = [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'];
        await WireFraming.WriteFrameAsync(conn.Stream, bad, cts.Token);
        Assert.Contains("not valid UTF-8", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        await conn.SendBytesAsync(RawConnection.Header(0), cts.Token);
        Assert.Contains("Empty frame", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        await AssertServesAsync(s, cts.Token, on: conn);
    }

    [Theory(Timeout = 60000)]
    [InlineData((ulong)WireFraming.MaxFrameBytes + 1)]
    [InlineData(1UL << 62)]
    public async Task Oversized_frames_get_an_error_and_the_connection_is_closed(ulong length)
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await conn.SendBytesAsync(RawConnection.Header(length), cts.Token);
        Assert.Contains($"exceeds the limit of {s.Socket.RequestFrameLimit} bytes", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        Assert.Null(await conn.ReceiveAsync(cts.Token)); // closed: the rest of the stream cannot be trusted
        await AssertServesAsync(s, cts.Token);
    }

    [Fact(Timeout = 60000)]
    public async Task Truncated_frames_get_an_error()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using (var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token))
        {
            await conn.SendBytesAsync([.. RawConnection.Header(100), .. "{\"type\":"u8.ToArray()], cts.Token);
            conn.ShutdownSend();
            Assert.Contains("8 of 100 payload bytes", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        }
        using (var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token))
        {
            await conn.SendBytesAsync([0, 0, 0], cts.Token);
            conn.ShutdownSend();
            Assert.Contains("3 of 8 length bytes", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        }
        await AssertServesAsync(s, cts.Token);
    }

    [Fact(Timeout = 60000)]
    public async Task A_silent_connection_times_out_with_an_error()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { ReadTimeout = TimeSpan.FromMilliseconds(300) });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await conn.SendBytesAsync([0, 0, 0, 0, 0, 0, 0, 50, (byte)'{'], cts.Token); // a frame that never completes
        Assert.Contains("Read timeout", ErrorOf(await conn.ReceiveAsync(cts.Token)));
        Assert.Null(await conn.ReceiveAsync(cts.Token));
        await AssertServesAsync(s, cts.Token);
    }

    [Fact(Timeout = 60000)]
    public async Task An_idle_connection_is_closed_without_a_message_and_clients_reconnect()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { IdleTimeout = TimeSpan.FromMilliseconds(200) });
        using (var raw = await RawConnection.OpenAsync(s.Endpoint, cts.Token))
        {
            Assert.Null(await raw.ReceiveAsync(cts.Token)); // closed, and no unsolicited frame
        }
        await using var conn = new ContributorConnection(s.Endpoint);
        var rows = new[] { Enumerable.Repeat(0.25, DemoModel.EmbeddingSize).ToArray() };
        Assert.Equal(0, (await conn.LoraForwardAsync("idle", M0, [1, DemoModel.EmbeddingSize], rows, cts.Token)).InvocationIndex);
        await Task.Delay(600, cts.Token); // the server drops the connection meanwhile
        Assert.Equal(1, (await conn.LoraForwardAsync("idle", M0, [1, DemoModel.EmbeddingSize], rows, cts.Token)).InvocationIndex);
        Assert.Equal(2, s.Server.GetRecordedCalls("idle").Count);
    }

    [Fact(Timeout = 60000)]
    public async Task Connections_beyond_the_limit_are_refused_with_an_error()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { MaxConnections = 1 });
        using var first = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        await AssertServesAsync(s, cts.Token, on: first); // the slot is taken and stays taken
        using (var second = await RawConnection.OpenAsync(s.Endpoint, cts.Token))
        {
            Assert.Contains("server is busy", ErrorOf(await second.ReceiveAsync(cts.Token)));
            Assert.Null(await second.ReceiveAsync(cts.Token));
        }
        first.Dispose();
        // The slot is released when the first connection closes.
        for (int attempt = 0; ; attempt++)
        {
            using var third = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
            await third.SendFrameAsync("{\"type\":\"init_request\"}", cts.Token);
            var reply = await third.ReceiveAsync(cts.Token);
            if (reply is not null && TypeOf(reply) == "init_response") break;
            Assert.True(attempt < 100, "the connection slot was never released");
            await Task.Delay(50, cts.Token);
        }
    }

    [Fact(Timeout = 60000)]
    public async Task Stop_closes_idle_connections_and_the_port()
    {
        using var cts = Timeouts.Test();
        var s = await RunningServer.StartAsync(fx.Adapter);
        var endpoint = s.Endpoint;
        using var idle = await RawConnection.OpenAsync(endpoint, cts.Token);
        await AssertServesAsync(s, cts.Token, on: idle);
        await s.Socket.StopAsync(cts.Token);
        Assert.Equal(0, s.Socket.ActiveConnections);
        Assert.Null(await idle.ReceiveAsync(cts.Token).ContinueWith(t => t.IsFaulted ? null : t.Result));
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => RawConnection.OpenAsync(endpoint, cts.Token));
        await s.DisposeAsync();
    }

    [Fact(Timeout = 60000)]
    public async Task End_inference_reports_a_call_that_cannot_be_proved_and_keeps_the_session()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter, new LoRAServerOptions(), hooks: new LoRAServerTestHooks { DeltaOverride = (m, i, d) => i == 0 ? d.Select(r => r.Select(v => -v - 1).ToArray()).ToArray() : d });
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        string token = await OpenAsync(conn, "sess", cts.Token);
        await conn.SendFrameAsync(Forward("[" + Row(32) + "]", session: "sess", token: token), cts.Token);
        Assert.Equal("lora_forward_response", TypeOf((await conn.ReceiveAsync(cts.Token))!));
        await conn.SendFrameAsync(End("sess", token), cts.Token);
        string error = ErrorOf(await conn.ReceiveAsync(cts.Token));
        Assert.StartsWith("end_inference: call sess.", error);
        Assert.Contains("recorded delta differs from the committed adapter's output", error);
        Assert.EndsWith("; the session's calls stay recorded.", error);
        // The session is still open: another call continues its indices.
        await conn.SendFrameAsync(Forward("[" + Row(32) + "]", session: "sess", token: token), cts.Token);
        using var d = JsonDocument.Parse((await conn.ReceiveAsync(cts.Token))!);
        Assert.Equal(1, d.RootElement.GetProperty("invocation_index").GetInt64());
        Assert.Equal(2, s.Server.GetRecordedCalls("sess").Count);
    }

    [Fact(Timeout = 120000)]
    public async Task Responses_never_contain_the_salt()
    {
        // end_inference proves the call (key generation and a proof): allow for a loaded machine.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token);
        var text = new StringBuilder();
        string token = await OpenAsync(conn, "s1", cts.Token);
        foreach (var req in new[] { "{\"type\":\"init_request\"}", Forward("[" + Row(32) + "]"), End("s1") })
        {
            await conn.SendFrameAsync(req.Replace("{TOKEN}", token), cts.Token);
            text.Append(await conn.ReceiveAsync(cts.Token));
        }
        var manifestPath = Path.Combine(s.Server.OutputDirectory, "manifest.json");
        s.Server.WriteManifest(manifestPath);
        text.Append(File.ReadAllText(manifestPath));
        // The proof artifacts (statement and meta JSON) are public too, and so are the published
        // adapter proofs (default projection backend: <manifest sha256>.adapter-proofs.json).
        var artifacts = Directory.GetFiles(s.Server.ProofDirectory, "*.json");
        Assert.Equal(3, artifacts.Length);
        Assert.Single(artifacts, f => f.EndsWith(".adapter-proofs.json", StringComparison.Ordinal));
        foreach (var f in artifacts) text.Append(File.ReadAllText(f));
        foreach (var file in Directory.GetFiles(s.Server.SecretDirectory))
        {
            string hex = ZkLora.Proofs.AdapterCommitment.readSaltFile(file).ResultValue.ToBigInteger().ToString("x").TrimStart('0');
            Assert.True(hex.Length > 40);
            Assert.DoesNotContain(hex, text.ToString(), StringComparison.OrdinalIgnoreCase);
        }
    }
}
