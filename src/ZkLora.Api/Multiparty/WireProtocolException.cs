using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A wire message is well framed but its content is not acceptable: invalid UTF-8 or JSON, an
/// unknown request type, missing or extra fields, a wrong shape, a non-finite number, an unknown
/// module, or an error reported by the peer. The message is meant for the peer and the user.
/// </summary>
public sealed class WireProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong, in words a user can act on.</param>
    public WireProtocolException(string message) : base(message) { }
}
