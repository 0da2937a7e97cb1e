using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using ZkLora.Api.Multiparty;
using ZkLora.Cli;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>
/// Issue 16 item 4: the server libraries log through the host's <see cref="ILogger"/> (never the console), with
/// levels, event ids and named values; <c>zklora serve</c> renders each message as the line it wrote before.
/// </summary>
public class ServerLoggingTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    [Fact(Timeout = 60000)]
    public async Task The_socket_logs_listening_connections_sessions_and_refusals_with_levels_and_values()
    {
        using var cts = Timeouts.Test();
        var log = new CapturingLogger();
        var s = await RunningServer.StartAsync(fx.Adapter, socketOptions: new LoRAServerSocketOptions { Logger = log });
        int port = s.Socket.LocalEndPoint.Port;
        using (var conn = await RawConnection.OpenAsync(s.Endpoint, cts.Token))
        {
            await ServerRobustnessTests.OpenAsync(conn, "logged", cts.Token);
            await conn.SendFrameAsync("{\"type\":\"open_session\",\"session_id\":\"logged\"}", cts.Token);
            Assert.Contains("\"error\"", await conn.ReceiveAsync(cts.Token));
        }
        await s.DisposeAsync(); // waits for the connection's handler: its "closed" is logged by then

        var entries = log.Entries;
        LogEntry One(string name) => Assert.Single(entries, e => e.EventId.Name == name);

        var listening = One("Listening");
        Assert.Equal((LogLevel.Information, 101), (listening.Level, listening.EventId.Id));
        Assert.Equal(port, Assert.IsType<IPEndPoint>(listening.Values["EndPoint"]).Port);
        Assert.Equal($"listening on 127.0.0.1:{port}", listening.Message);

        var connected = One("Connected");
        Assert.Equal(LogLevel.Information, connected.Level);
        Assert.Equal(1L, connected.Values["ConnectionId"]);
        string peer = Assert.IsType<string>(connected.Values["Peer"]);
        Assert.StartsWith("127.0.0.1:", peer);
        Assert.Equal($"#1 {peer}: connected", connected.Message);

        var opened = One("SessionOpened");
        Assert.Equal((LogLevel.Information, (object?)"logged"), (opened.Level, opened.Values["SessionId"]));
        Assert.Equal($"#1 {peer}: session 'logged' opened", opened.Message);

        var refused = One("RequestRefused");
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Contains("already open", Assert.IsType<string>(refused.Values["Error"]));
        Assert.Equal($"#1 {peer}: error: {refused.Values["Error"]}", refused.Message);

        Assert.Equal($"#1 {peer}: closed", One("Closed").Message);
        Assert.Equal((LogLevel.Information, "stopped"), (One("Stopped").Level, One("Stopped").Message));
        Assert.DoesNotContain(entries, e => e.Level >= LogLevel.Error);
        Assert.Equal(["Listening", "Connected", "SessionOpened", "RequestRefused", "Closed", "Stopped"], entries.Select(e => e.EventId.Name));
    }

    [Fact]
    public void Zklora_serve_renders_each_message_as_one_prefixed_line_with_the_exception_after_a_colon()
    {
        var writer = new StringWriter();
        var logger = PlainLineLogger.Serve(writer);
        ServerLog.SessionProved(logger, 3, "127.0.0.1:4000", "s1", 2, 2);
        ServerLog.IdleClosing(logger, 3, "127.0.0.1:4000", 60);
        ServerLog.TlsHandshakeTimeout(logger, 4, "127.0.0.1:4001", 2.5);
        ServerLog.InternalError(logger, 5, "127.0.0.1:4002", new InvalidOperationException("boom\nsecond line"));
        ServerLog.RecoveryFailed(logger, "s2", "no space");
        var lines = writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length); // the exception's new line is escaped: one message, one line
        var prefix = new Regex(@"^\[zklora serve \d\d:\d\d:\d\d\] ");
        Assert.All(lines, l => Assert.Matches(prefix, l));
        Assert.Equal(
            [
                "#3 127.0.0.1:4000: session 's1': 2 calls, 2 proofs written",
                "#3 127.0.0.1:4000: idle for 60 s, closing",
                "#4 127.0.0.1:4001: TLS handshake not completed within 2.5 s, closing",
                "#5 127.0.0.1:4002: internal error: System.InvalidOperationException: boom\\u000asecond line",
                "recovery: session 's2' could not be proved: no space; it stays open",
            ],
            lines.Select(l => prefix.Replace(l, "")));
        // --quiet passes no logger; a level below the CLI's is not written.
        logger.Log(LogLevel.Debug, "not shown");
        Assert.Equal(5, writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
