using System.Buffers.Binary;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A frame could not be read: the peer announced an empty or oversized frame, or closed the
/// connection in the middle of one. The message says which; after an oversized or truncated
/// frame the stream is no longer aligned on a frame boundary (<see cref="StreamDesynchronized"/>).
/// </summary>
public sealed class WireFrameException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong with the frame.</param>
    /// <param name="streamDesynchronized">True when the next bytes on the stream are not a frame header.</param>
    public WireFrameException(string message, bool streamDesynchronized) : base(message) =>
        StreamDesynchronized = streamDesynchronized;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong with the frame.</param>
    /// <param name="streamDesynchronized">True when the next bytes on the stream are not a frame header.</param>
    /// <param name="code">The code a server answers it with (<see cref="WireErrorCode.InvalidFrame"/> or <see cref="WireErrorCode.FrameTooLarge"/>).</param>
    public WireFrameException(string message, bool streamDesynchronized, WireErrorCode code) : base(message)
    {
        StreamDesynchronized = streamDesynchronized;
        Code = code;
    }

    /// <summary>What was wrong, for machines: <see cref="WireErrorCode.FrameTooLarge"/> for an oversized frame, <see cref="WireErrorCode.InvalidFrame"/> for an empty or truncated one.</summary>
    public WireErrorCode Code { get; }

    /// <summary>True when the stream cannot be read further (the connection must be closed after replying).</summary>
    public bool StreamDesynchronized { get; }
}
