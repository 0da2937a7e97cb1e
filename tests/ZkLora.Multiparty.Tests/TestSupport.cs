using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ZkLora.Api;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>Contributor options the tests share.</summary>
internal static class TestServerOptions
{
    /// <summary>
    /// A contributor on the PLONK backend (one proof per call), everything else default. The options
    /// are an immutable record: derive variants with <c>with</c> (e.g. <c>Plonk with { Modules = [m] }</c>).
    /// </summary>
    public static LoRAServerOptions Plonk { get; } = new() { Backend = ProofBackend.Plonk };
}

/// <summary>A running contributor on a loopback port chosen by the system.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(LoRAServer server, LoRAServerSocket socket, TempDir? ownedDir)
    {
        Server = server;
        Socket = socket;
        _ownedDir = ownedDir;
    }

    private readonly TempDir? _ownedDir;

    public LoRAServer Server { get; }
    public LoRAServerSocket Socket { get; }
    public ContributorEndpoint Endpoint => new("127.0.0.1", Socket.LocalEndPoint.Port);

    public static async Task<RunningServer> StartAsync(LoraAdapter adapter, LoRAServerOptions? options = null, LoRAServerSocketOptions? socketOptions = null, string? outDir = null, LoRAServerTestHooks? hooks = null)
    {
        var dir = outDir is null ? new TempDir() : null;
        var server = LoRAServer.Create(adapter, outDir ?? dir!.Combine("out"), options, hooks ?? new LoRAServerTestHooks());
        var socket = new LoRAServerSocket(server, new IPEndPoint(IPAddress.Loopback, 0), socketOptions);
        await socket.StartAsync();
        return new RunningServer(server, socket, dir);
    }

    public async ValueTask DisposeAsync()
    {
        await Socket.DisposeAsync();
        _ownedDir?.Dispose();
    }
}

/// <summary>A raw TCP connection for sending arbitrary bytes.</summary>
internal sealed class RawConnection : IDisposable
{
    private readonly TcpClient _client = new() { NoDelay = true };

    public static async Task<RawConnection> OpenAsync(ContributorEndpoint endpoint, CancellationToken ct)
    {
        var c = new RawConnection();
        await c._client.ConnectAsync(endpoint.Host, endpoint.Port, ct);
        c.Stream = c._client.GetStream();
        return c;
    }

    public NetworkStream Stream { get; private set; } = null!;

    public Task SendBytesAsync(byte[] bytes, CancellationToken ct) => Stream.WriteAsync(bytes, ct).AsTask();

    public static byte[] Header(ulong length)
    {
        var h = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(h, length);
        return h;
    }

    public Task SendFrameAsync(string json, CancellationToken ct) => WireFraming.WriteFrameAsync(Stream, Encoding.UTF8.GetBytes(json), ct);

    public async Task<string?> ReceiveAsync(CancellationToken ct)
    {
        var f = await WireFraming.ReadFrameAsync(Stream, WireFraming.MaxFrameBytes, ct);
        return f is null ? null : Encoding.UTF8.GetString(f);
    }

    public void ShutdownSend() => _client.Client.Shutdown(SocketShutdown.Send);

    /// <summary>Drops the connection as a crashed process's socket goes: a reset (RST), not an orderly close.</summary>
    public void Reset()
    {
        _client.Client.LingerState = new LingerOption(true, 0);
        _client.Close();
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>
/// One session of the demo model over loopback, run once per test class: a contributor started
/// with <see cref="ServerOptions"/>, its manifest pinned before inference, the client's forward
/// passes over <see cref="Texts"/>, end_inference (which must succeed), the transcript.
/// </summary>
public abstract class DemoSessionFixture : IAsyncLifetime
{
    private readonly TempDir _dir = new("zklora-multiparty-session-");

    public string ProofDirectory { get; private set; } = "";
    public string TranscriptPath { get; private set; } = "";
    public string PinnedManifestPath { get; private set; } = "";
    public string ContributorDirectory => _dir.Combine("contributor");
    public DemoModelPaths Paths { get; private set; } = null!;
    public LoraAdapter Adapter { get; private set; } = null!;
    public EndInferenceResponse? Response { get; private set; }

    public string Combine(params string[] parts) => _dir.Combine(parts);

    /// <summary>The session id the client uses.</summary>
    protected abstract string SessionId { get; }

    /// <summary>The texts the client runs, one forward pass each.</summary>
    protected abstract IReadOnlyList<string> Texts { get; }

    /// <summary>How long the whole session (including proving) may take.</summary>
    protected abstract TimeSpan Timeout { get; }

    /// <summary>The contributor's options.</summary>
    protected abstract LoRAServerOptions ServerOptions { get; }

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        Paths = DemoModel.Create(_dir.Combine("demo"));
        Adapter = LoraAdapter.Load(Paths.AdapterDirectory);
        await using var server = await RunningServer.StartAsync(Adapter, ServerOptions, outDir: ContributorDirectory);
        PinnedManifestPath = _dir.Combine("verifier", "pinned.json");
        server.Server.WriteManifest(PinnedManifestPath);
        using var model = Gpt2Model.Load(Paths.ModelDirectory);
        await using var client = new BaseModelClient(model, [server.Endpoint], CombineMode.AddDelta, SessionId);
        await client.InitAndPatchAsync(cts.Token);
        foreach (string text in Texts) await client.ForwardLossAsync(text, cts.Token);
        TranscriptPath = _dir.Combine("user", "transcript.json");
        client.WriteTranscript(TranscriptPath);
        var outcome = Xunit.Assert.Single(await client.EndInferenceAsync(cts.Token));
        Xunit.Assert.Null(outcome.Error);
        Response = outcome.Response;
        ProofDirectory = server.Server.ProofDirectory;
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
