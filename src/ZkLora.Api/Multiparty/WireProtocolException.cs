using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A wire message is well framed but its content is not acceptable: invalid UTF-8 or JSON, an
/// unknown request type, missing or extra fields, a wrong shape, a non-finite number, an unknown
/// module, or an error reported by the peer. The message is meant for the peer and the user;
/// decide on <see cref="Code"/> (and <see cref="IsErrorResponse"/>), never on the message.
/// </summary>
public sealed class WireProtocolException : Exception
{
    /// <summary>Creates the exception (code <see cref="WireErrorCode.Unspecified"/>).</summary>
    /// <param name="message">What was wrong, in words a user can act on.</param>
    public WireProtocolException(string message) : base(message) { }

    /// <summary>Creates the exception for a request this side refuses with <paramref name="code"/>.</summary>
    /// <param name="message">What was wrong, in words a user can act on.</param>
    /// <param name="code">The code the error frame carries.</param>
    public WireProtocolException(string message, WireErrorCode code) : base(message) => Code = code;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong, in words a user can act on.</param>
    /// <param name="code">The error's code.</param>
    /// <param name="isErrorResponse">True when the peer answered with an error frame (its code is <paramref name="code"/>).</param>
    public WireProtocolException(string message, WireErrorCode code, bool isErrorResponse) : base(message)
    {
        Code = code;
        IsErrorResponse = isErrorResponse;
    }

    /// <summary>
    /// The error's code. When <see cref="IsErrorResponse"/>: the code of the contributor's error frame
    /// (<see cref="WireErrorCode.Unspecified"/> when the frame carried none, as a <c>zklora.wire.v2</c>
    /// contributor's do). For a request a contributor refuses while parsing it: the code its error frame
    /// is sent with. <see cref="WireErrorCode.Unspecified"/> for a malformed response found by the client.
    /// </summary>
    public WireErrorCode Code { get; }

    /// <summary>True when the contributor answered with an error frame (rather than a malformed or unexpected response).</summary>
    public bool IsErrorResponse { get; }
}
