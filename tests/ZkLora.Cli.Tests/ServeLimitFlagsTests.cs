using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Cli.Tests;

/// <summary>
/// Issue 15 item 9 (and the budgets of item 1–3): the timeouts and limits given to
/// <c>zklora serve</c> on the command line are the ones the running server applies. Every check
/// reads a message that names the configured value, so none depends on how fast the machine is;
/// the waits are bounded by the test's timeout only (with the defaults — 60 s idle, 120 s read —
/// the bounded waits would expire first).
/// </summary>
public class ServeLimitFlagsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly DemoModelPaths _demo;

    public ServeLimitFlagsTests() => _demo = DemoModel.Create(_dir.Combine("demo"));

    public void Dispose() => _dir.Dispose();

    private static readonly string M0 = DemoModel.AdapterModules[0];

    /// <summary>A <c>zklora serve --port 0 --json</c> running in-process, its log captured.</summary>
    private sealed class Served : IAsyncDisposable
    {
        public required Task<CliRun> Run { get; init; }
        public required CancellationTokenSource Stop { get; init; }
        public required CapturingWriter Log { get; init; }
        public required int Port { get; init; }

        public async ValueTask DisposeAsync()
        {
            Stop.Cancel();
            var r = await Run;
            Assert.True(r.ExitCode == 0, r.ToString());
            Stop.Dispose();
        }
    }

    private async Task<Served> ServeAsync(params string[] flags)
    {
        var stop = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var output = new CapturingWriter();
        var log = new CapturingWriter();
        string[] args = ["serve", "--adapter", _demo.AdapterDirectory, "--port", "0", "--out-dir", _dir.Combine("out-" + Guid.NewGuid().ToString("N")), "--json", .. flags];
        var run = Zklora.RunAsync(args, output, log, stop.Token);
        string line = await output.WaitForLineAsync(l => l.Contains("\"listening\""), TimeSpan.FromMinutes(2), () => log.Text);
        using var doc = JsonDocument.Parse(line);
        return new Served { Run = run, Stop = stop, Log = log, Port = doc.RootElement.GetProperty("port").GetInt32() };
    }

    private static async Task<NetworkStream> ConnectAsync(int port, CancellationToken ct)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port, ct);
        return client.GetStream();
    }

    private static Task SendAsync(Stream s, string json, CancellationToken ct) => WireFraming.WriteFrameAsync(s, Encoding.UTF8.GetBytes(json), ct);

    private static async Task<JsonElement> ReceiveAsync(Stream s, CancellationToken ct)
    {
        var frame = await WireFraming.ReadFrameAsync(s, WireFraming.MaxFrameBytes, ct);
        Assert.NotNull(frame);
        using var doc = JsonDocument.Parse(frame!);
        return doc.RootElement.Clone();
    }

    private static async Task<string> ErrorAsync(Stream s, CancellationToken ct)
    {
        var r = await ReceiveAsync(s, ct);
        Assert.True(r.GetProperty("type").GetString() == "error", r.ToString());
        return r.GetProperty("error").GetString()!;
    }

    /// <summary>Reads until the server closes the connection (end of stream or a reset); fails on any data.</summary>
    private static async Task AssertClosedByServerAsync(Stream s, CancellationToken ct)
    {
        var buffer = new byte[64];
        int n;
        try
        {
            n = await s.ReadAsync(buffer, ct);
        }
        catch (IOException)
        {
            return; // reset: closed too
        }
        Assert.True(n == 0, $"the server sent {n} bytes instead of closing the connection");
    }

    private static string Forward(string session, string token, int rows) =>
        $"{{\"type\":\"lora_forward\",\"session_id\":\"{session}\",\"session_token\":\"{token}\",\"submodule_name\":\"{M0}\",\"input\":[" +
        string.Join(",", Enumerable.Repeat("[" + string.Join(",", Enumerable.Repeat("0.25", DemoModel.EmbeddingSize)) + "]", rows)) + "]}";

    private static async Task<string> OpenAsync(Stream s, string session, CancellationToken ct)
    {
        await SendAsync(s, $"{{\"type\":\"open_session\",\"session_id\":\"{session}\"}}", ct);
        var r = await ReceiveAsync(s, ct);
        Assert.True(r.GetProperty("type").GetString() == "open_session_response", r.ToString());
        return r.GetProperty("session_token").GetString()!;
    }

    [Fact(Timeout = 240000)]
    public async Task Serve_idle_and_read_timeouts_and_the_per_client_connection_limit_take_effect()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var served = await ServeAsync("--idle-timeout", "1", "--read-timeout", "1", "--max-connections", "8", "--max-connections-per-client", "2");

        // --idle-timeout: a connection that never sends a byte is closed (the default would wait 60 s).
        using (var idle = await ConnectAsync(served.Port, cts.Token))
        {
            using var guard = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            guard.CancelAfter(TimeSpan.FromSeconds(45));
            await AssertClosedByServerAsync(idle, guard.Token);
        }
        string idleLine = await served.Log.WaitForLineAsync(l => l.Contains("idle for 1 s, closing"), TimeSpan.FromSeconds(30));
        // The server libraries log through ILogger; `serve` writes each message as the plain line it always wrote.
        Assert.Matches(@"^\[zklora serve \d\d:\d\d:\d\d\] #\d+ 127\.0\.0\.1:\d+: idle for 1 s, closing$", idleLine);
        Assert.Matches(@"(?m)^\[zklora serve \d\d:\d\d:\d\d\] listening on [^ ]+:" + served.Port + "\r?$", served.Log.Text);

        // --read-timeout: a frame that never completes is answered with the configured limit, then closed.
        using (var slow = await ConnectAsync(served.Port, cts.Token))
        {
            var header = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(header, 50);
            await slow.WriteAsync(header.Concat("{"u8.ToArray()).ToArray(), cts.Token);
            using var guard = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            guard.CancelAfter(TimeSpan.FromSeconds(90));
            Assert.Contains("did not arrive completely within 1 s", await ErrorAsync(slow, guard.Token));
            await AssertClosedByServerAsync(slow, guard.Token); // and its slot is released
        }

        // --max-connections-per-client: a third connection from this address is refused while two are open.
        using var a = await ConnectAsync(served.Port, cts.Token);
        using var b = await ConnectAsync(served.Port, cts.Token);
        foreach (var s in new[] { a, b })
        {
            await SendAsync(s, "{\"type\":\"init_request\"}", cts.Token);
            Assert.Equal("init_response", (await ReceiveAsync(s, cts.Token)).GetProperty("type").GetString());
        }
        using var c = await ConnectAsync(served.Port, cts.Token);
        Assert.Contains("Too many connections from your address (2)", await ErrorAsync(c, cts.Token));
    }

    [Fact(Timeout = 240000)]
    public async Task Serve_tls_handshake_timeout_takes_effect()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string certPem = _dir.Combine("cert.pem"), keyPem = _dir.Combine("key.pem");
        File.WriteAllText(certPem, cert.ExportCertificatePem());
        File.WriteAllText(keyPem, key.ExportPkcs8PrivateKeyPem());
        await using var served = await ServeAsync("--tls-cert", certPem, "--tls-key", keyPem, "--tls-handshake-timeout", "1", "--idle-timeout", "600");
        // A connection that never starts its handshake is closed after the configured time, and the log says which.
        using var stalled = await ConnectAsync(served.Port, cts.Token);
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        guard.CancelAfter(TimeSpan.FromSeconds(90));
        await AssertClosedByServerAsync(stalled, guard.Token);
        string line = await served.Log.WaitForLineAsync(l => l.Contains("TLS handshake not completed within 1 s"), TimeSpan.FromSeconds(30));
        Assert.Matches(@"^\[zklora serve \d\d:\d\d:\d\d\] #\d+ 127\.0\.0\.1:\d+: TLS handshake not completed within 1 s, closing$", line);
        Assert.Matches(@"(?m)^\[zklora serve \d\d:\d\d:\d\d\] listening on [^ ]+:" + served.Port + " \\(TLS\\)\r?$", served.Log.Text);
    }

    [Fact(Timeout = 240000)]
    public async Task Serve_session_budget_flags_take_effect()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using (var served = await ServeAsync("--max-rows-per-call", "2", "--max-sessions-per-client", "1", "--session-idle-timeout", "0.01"))
        {
            using var s = await ConnectAsync(served.Port, cts.Token);
            string token = await OpenAsync(s, "first", cts.Token);
            // --max-rows-per-call
            await SendAsync(s, Forward("first", token, 3), cts.Token);
            Assert.Contains("above the limit of 2 rows per call", await ErrorAsync(s, cts.Token));
            await SendAsync(s, Forward("first", token, 2), cts.Token);
            Assert.Equal("lora_forward_response", (await ReceiveAsync(s, cts.Token)).GetProperty("type").GetString());
            // --max-sessions-per-client, until --session-idle-timeout (0.6 s) expires the first session.
            for (int attempt = 0; ; attempt++)
            {
                await SendAsync(s, $"{{\"type\":\"open_session\",\"session_id\":\"second{attempt}\"}}", cts.Token);
                var r = await ReceiveAsync(s, cts.Token);
                if (r.GetProperty("type").GetString() == "open_session_response") break;
                Assert.Contains("per-client limit", r.GetProperty("error").GetString()!);
                await Task.Delay(200, cts.Token); // bounded by the test's timeout
            }
            await SendAsync(s, Forward("first", token, 1), cts.Token);
            Assert.Contains("has ended", await ErrorAsync(s, cts.Token));
        }
        // --prove-memory-mb: a call whose proof needs more than the budget is refused when it arrives.
        await using (var served = await ServeAsync("--prove-memory-mb", "1"))
        {
            using var s = await ConnectAsync(served.Port, cts.Token);
            string token = await OpenAsync(s, "small", cts.Token);
            await SendAsync(s, Forward("small", token, 1), cts.Token);
            Assert.Contains("above the proving memory budget of 1 MiB", await ErrorAsync(s, cts.Token));
        }
    }
}
