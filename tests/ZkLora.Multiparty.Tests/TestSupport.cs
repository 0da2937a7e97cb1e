using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ZkLora.Api.Multiparty;
using ZkLora.Model;

namespace ZkLora.Multiparty.Tests;

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zklora-multiparty-tests-" + Guid.NewGuid().ToString("N"));

    public string Combine(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The demo model and adapter, written once per test class.</summary>
public sealed class DemoFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public DemoFixture()
    {
        Paths = DemoModel.Create(_dir.Combine("demo"));
        Adapter = LoraAdapter.Load(Paths.AdapterDirectory);
    }

    public DemoModelPaths Paths { get; }
    public LoraAdapter Adapter { get; }

    public void Dispose() => _dir.Dispose();
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

    public void Dispose() => _client.Dispose();
}

internal static class Timeouts
{
    public static CancellationTokenSource Test() => new(TimeSpan.FromSeconds(30));
}
