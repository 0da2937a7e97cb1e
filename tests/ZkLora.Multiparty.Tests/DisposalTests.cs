using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ZkLora.Api.Multiparty;
using ZkLora.Model;
using Xunit;

namespace ZkLora.Multiparty.Tests;

/// <summary>Servers and clients release what they hold, synchronously or not, and refuse use after disposal.</summary>
public class DisposalTests(DemoFixture fx) : IClassFixture<DemoFixture>
{
    private static async Task<bool> AcceptsConnectionsAsync(IPEndPoint endpoint)
    {
        using var probe = new TcpClient();
        try
        {
            await probe.ConnectAsync(endpoint.Address, endpoint.Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact(Timeout = 60000)]
    public async Task A_disposed_socket_stops_listening_and_cannot_be_restarted()
    {
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"));

        var socket = new LoRAServerSocket(server, new IPEndPoint(IPAddress.Loopback, 0));
        await socket.StartAsync();
        var endpoint = socket.LocalEndPoint;
        Assert.True(await AcceptsConnectionsAsync(endpoint));
        socket.Dispose();
        Assert.False(await AcceptsConnectionsAsync(endpoint));
        socket.Dispose(); // idempotent
        await socket.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => socket.StartAsync());

        var other = new LoRAServerSocket(server, new IPEndPoint(IPAddress.Loopback, 0));
        await other.StartAsync();
        await other.StopAsync();
        await other.StartAsync(); // stopping is not disposing: it may listen again
        await other.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => other.StartAsync());
    }

    [Fact(Timeout = 60000)]
    public async Task Disposing_a_connection_aborts_a_request_in_flight_and_later_requests_fail()
    {
        // A peer that accepts and never answers.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var accepted = silent.AcceptTcpClientAsync();
            var conn = new ContributorConnection(new ContributorEndpoint("127.0.0.1", ((IPEndPoint)silent.LocalEndpoint).Port));
            var pending = conn.InitAsync();
            using var peer = await accepted;
            var clock = Stopwatch.StartNew();
            await conn.DisposeAsync();
            var e = await Assert.ThrowsAsync<ObjectDisposedException>(() => pending);
            Assert.Contains("disposed during the request", e.Message);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "disposal waited for the request timeout");
            await Assert.ThrowsAsync<ObjectDisposedException>(() => conn.InitAsync());
            conn.Dispose(); // idempotent
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public void Bad_timeouts_are_rejected_when_the_object_is_made_not_when_a_connection_uses_them()
    {
        using var dir = new TempDir();
        var server = LoRAServer.Create(fx.Adapter, dir.Combine("out"));
        var any = new IPEndPoint(IPAddress.Loopback, 0);
        foreach (var bad in new[]
                 {
                     new LoRAServerSocketOptions { IdleTimeout = TimeSpan.Zero },
                     new LoRAServerSocketOptions { ReadTimeout = TimeSpan.FromSeconds(-5) },
                     new LoRAServerSocketOptions { WriteTimeout = TimeSpan.FromDays(30) },
                 })
            Assert.Contains("Timeout must be positive", Assert.Throws<ArgumentOutOfRangeException>(() => new LoRAServerSocket(server, any, bad)).Message);
        using var ok = new LoRAServerSocket(server, any, new LoRAServerSocketOptions { IdleTimeout = Timeout.InfiniteTimeSpan });

        var endpoint = new ContributorEndpoint("127.0.0.1", 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContributorConnection(endpoint, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ContributorConnection(endpoint) { EndInferenceTimeout = TimeSpan.FromMilliseconds(-2) });
        using var fine = new ContributorConnection(endpoint, Timeout.InfiniteTimeSpan) { EndInferenceTimeout = TimeSpan.FromHours(5) };
        Assert.Equal(TimeSpan.FromHours(5), fine.EndInferenceTimeout);
    }

    [Fact(Timeout = 60000)]
    public async Task A_disposed_client_unpatches_the_model_and_refuses_further_use()
    {
        using var cts = Timeouts.Test();
        await using var s = await RunningServer.StartAsync(fx.Adapter);
        using var model = Gpt2Model.Load(fx.Paths.ModelDirectory);
        var client = new BaseModelClient(model, [s.Endpoint]);
        await client.InitAndPatchAsync(cts.Token);
        Assert.Equal(2, model.PatchedModuleNames.Count);
        client.Dispose();
        Assert.Empty(model.PatchedModuleNames);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ForwardLossAsync(DemoModel.SampleText, cts.Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.EndInferenceAsync(cts.Token));
        await client.DisposeAsync(); // idempotent
        // The model was not the client's to dispose.
        Assert.True(model.Loss(DemoModel.SampleText) > 0);
    }
}
