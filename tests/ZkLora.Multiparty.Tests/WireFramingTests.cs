using System.Buffers.Binary;
using ZkLora.Api.Multiparty;
using Xunit;

namespace ZkLora.Multiparty.Tests;

public class WireFramingTests
{
    private static byte[] Frame(ulong length, byte[] payload)
    {
        var b = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt64BigEndian(b, length);
        payload.CopyTo(b, 8);
        return b;
    }

    [Fact]
    public async Task Header_is_eight_bytes_big_endian()
    {
        var ms = new MemoryStream();
        await WireFraming.WriteFrameAsync(ms, new byte[0x0102]);
        var bytes = ms.ToArray();
        Assert.Equal(8 + 0x0102, bytes.Length);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 1, 2 }, bytes[..8]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(3 * 1024 * 1024 + 17)] // larger than the first read buffer: exercises buffer growth
    public async Task Frames_round_trip_in_sequence(int size)
    {
        var rng = new Random(size);
        var a = new byte[size];
        var b = new byte[size / 2 + 1];
        rng.NextBytes(a);
        rng.NextBytes(b);
        var ms = new MemoryStream();
        await WireFraming.WriteFrameAsync(ms, a);
        await WireFraming.WriteFrameAsync(ms, b);
        ms.Position = 0;
        Assert.Equal(a, await WireFraming.ReadFrameAsync(ms));
        Assert.Equal(b, await WireFraming.ReadFrameAsync(ms));
        Assert.Null(await WireFraming.ReadFrameAsync(ms)); // clean end between frames
    }

    [Fact]
    public async Task Reads_a_frame_delivered_one_byte_at_a_time()
    {
        var payload = "{\"type\":\"init_request\"}"u8.ToArray();
        var stream = new TrickleStream(Frame((ulong)payload.Length, payload));
        Assert.Equal(payload, await WireFraming.ReadFrameAsync(stream));
    }

    [Fact]
    public async Task Empty_frame_is_rejected_but_the_stream_stays_aligned()
    {
        var next = "{}"u8.ToArray();
        var ms = new MemoryStream(Frame(0, []).Concat(Frame(2, next)).ToArray());
        var e = await Assert.ThrowsAsync<WireFrameException>(() => WireFraming.ReadFrameAsync(ms));
        Assert.Contains("Empty frame", e.Message);
        Assert.False(e.StreamDesynchronized);
        Assert.Equal(next, await WireFraming.ReadFrameAsync(ms));
    }

    [Theory]
    [InlineData((ulong)WireFraming.MaxFrameBytes + 1)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue)]
    public async Task Oversized_frame_is_rejected_before_reading_its_payload(ulong length)
    {
        var ms = new MemoryStream(Frame(length, new byte[16]));
        var e = await Assert.ThrowsAsync<WireFrameException>(() => WireFraming.ReadFrameAsync(ms));
        Assert.Contains("exceeds the limit", e.Message);
        Assert.True(e.StreamDesynchronized);
        Assert.Equal(8, ms.Position);
    }

    [Fact]
    public async Task A_smaller_limit_is_honoured()
    {
        var ms = new MemoryStream(Frame(11, new byte[11]));
        var e = await Assert.ThrowsAsync<WireFrameException>(() => WireFraming.ReadFrameAsync(ms, maxFrameBytes: 10));
        Assert.Contains("11 bytes exceeds the limit of 10", e.Message);
    }

    [Fact]
    public async Task Truncated_header_and_payload_are_rejected()
    {
        var e1 = await Assert.ThrowsAsync<WireFrameException>(() => WireFraming.ReadFrameAsync(new MemoryStream(new byte[] { 0, 0, 0 })));
        Assert.Contains("3 of 8 length bytes", e1.Message);
        Assert.True(e1.StreamDesynchronized);
        var e2 = await Assert.ThrowsAsync<WireFrameException>(() => WireFraming.ReadFrameAsync(new MemoryStream(Frame(100, new byte[10]))));
        Assert.Contains("10 of 100 payload bytes", e2.Message);
        Assert.True(e2.StreamDesynchronized);
        // Truncated after the growth point of the buffer.
        var big = Frame(3u << 20, new byte[(1 << 20) + 5]);
        var e3 = await Assert.ThrowsAsync<WireFrameException>(() => WireFraming.ReadFrameAsync(new MemoryStream(big)));
        Assert.Contains($"{(1 << 20) + 5} of {3 << 20} payload bytes", e3.Message);
    }

    [Fact]
    public async Task Writer_rejects_empty_and_oversized_payloads()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => WireFraming.WriteFrameAsync(new MemoryStream(), ReadOnlyMemory<byte>.Empty));
        await Assert.ThrowsAsync<ArgumentException>(() => WireFraming.WriteFrameAsync(new MemoryStream(), new byte[WireFraming.MaxFrameBytes + 1]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => WireFraming.ReadFrameAsync(new MemoryStream(), WireFraming.MaxFrameBytes + 1));
    }

    [Fact(Timeout = 30000)]
    public async Task A_stalled_read_is_cancellable()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync((System.Net.IPEndPoint)listener.LocalEndpoint);
        using var accepted = await listener.AcceptTcpClientAsync();
        listener.Stop();
        await client.GetStream().WriteAsync(new byte[] { 0, 0, 0, 0, 0, 0, 0, 5, 1 }); // header + 1 of 5 bytes, then silence
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WireFraming.ReadFrameAsync(accepted.GetStream(), cancellationToken: cts.Token));
    }

    /// <summary>Returns at most one byte per read.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, System.Math.Min(count, 1));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..System.Math.Min(buffer.Length, 1)], cancellationToken);
    }
}
