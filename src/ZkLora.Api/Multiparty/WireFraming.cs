using System.Buffers.Binary;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// The zkLoRA wire framing (docs/wire-protocol.md): every message is one frame, an 8-byte big-endian
/// unsigned length followed by that many bytes of UTF-8 JSON. Lengths of 0 and above the
/// limit are rejected before any payload is read, so a peer cannot make the reader allocate
/// more than the limit.
/// </summary>
public static class WireFraming
{
    /// <summary>The largest frame payload accepted: 64 MiB.</summary>
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    /// <summary>First payload buffer size; it doubles as bytes arrive, up to the announced length.</summary>
    private const int InitialBufferBytes = 1 << 20;

    /// <summary>Size of the length prefix.</summary>
    public const int HeaderBytes = 8;

    /// <summary>
    /// Reads one frame. Returns null when the stream ends cleanly before the first header byte
    /// (the peer closed the connection between frames).
    /// </summary>
    /// <param name="stream">A readable stream.</param>
    /// <param name="maxFrameBytes">Largest payload accepted (at most <see cref="MaxFrameBytes"/>).</param>
    /// <param name="cancellationToken">Cancels the read (use it for read timeouts).</param>
    /// <returns>The payload, or null at a clean end of stream.</returns>
    /// <exception cref="WireFrameException">Empty frame, oversized frame, or a stream that ends inside a frame.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static async Task<byte[]?> ReadFrameAsync(Stream stream, int maxFrameBytes = MaxFrameBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (maxFrameBytes < 1 || maxFrameBytes > MaxFrameBytes)
            throw new ArgumentOutOfRangeException(nameof(maxFrameBytes), $"The frame limit must be in [1, {MaxFrameBytes}].");
        var header = new byte[HeaderBytes];
        int got = await ReadAtMostAsync(stream, header, cancellationToken).ConfigureAwait(false);
        if (got == 0) return null;
        if (got < HeaderBytes)
            throw new WireFrameException($"The connection closed inside a frame header ({got} of {HeaderBytes} length bytes received).", true, WireErrorCode.InvalidFrame);
        ulong length = BinaryPrimitives.ReadUInt64BigEndian(header);
        if (length == 0)
            throw new WireFrameException("Empty frame: the length prefix is 0; every frame must carry a JSON message.", false, WireErrorCode.InvalidFrame);
        if (length > (ulong)maxFrameBytes)
            throw new WireFrameException($"Frame of {length} bytes exceeds the limit of {maxFrameBytes} bytes.", true, WireErrorCode.FrameTooLarge);
        // Grow the buffer as bytes arrive, so a peer that announces a large frame and sends
        // nothing costs at most InitialBufferBytes, not the announced size.
        int size = (int)length;
        var payload = new byte[System.Math.Min(size, InitialBufferBytes)];
        int filled = 0;
        while (true)
        {
            got = await ReadAtMostAsync(stream, payload.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            filled += got;
            if (filled < payload.Length)
                throw new WireFrameException($"The connection closed inside a frame ({filled} of {size} payload bytes received).", true, WireErrorCode.InvalidFrame);
            if (filled == size) return payload;
            Array.Resize(ref payload, (int)System.Math.Min(size, 2L * payload.Length));
        }
    }

    /// <summary>Writes one frame (length prefix and payload) and flushes.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="payload">The UTF-8 JSON message, 1 to <see cref="MaxFrameBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="ArgumentException">The payload is empty or larger than the limit.</exception>
    public static async Task WriteFrameAsync(Stream stream, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (payload.Length == 0) throw new ArgumentException("A frame must not be empty.", nameof(payload));
        if (payload.Length > MaxFrameBytes)
            throw new ArgumentException($"A frame of {payload.Length} bytes exceeds the limit of {MaxFrameBytes} bytes.", nameof(payload));
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteUInt64BigEndian(header, (ulong)payload.Length);
        await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fills <paramref name="buffer"/> unless the stream ends first; returns the bytes read.</summary>
    private static async Task<int> ReadAtMostAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
