using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ZkLora.Api.Multiparty;

/// <summary>Limits and logging of a <see cref="LoRAServerSocket"/>.</summary>
public sealed record LoRAServerSocketOptions
{
    /// <summary>Largest request frame (at most <see cref="WireFraming.MaxFrameBytes"/>, 64 MiB).</summary>
    public int MaxFrameBytes { get; init; } = WireFraming.MaxFrameBytes;

    /// <summary>Most connections served at once; further connections get an error response and are closed.</summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>Most connections served at once for one remote address (so one client cannot take every slot).</summary>
    public int MaxConnectionsPerClient { get; init; } = 8;

    /// <summary>Largest response frame (at most <see cref="WireFraming.MaxFrameBytes"/>); a call whose response would be larger is refused and not recorded.</summary>
    public int MaxResponseBytes { get; init; } = WireFraming.MaxFrameBytes;

    /// <summary>How long a connection may sit idle between requests; then it is closed without a message (clients reconnect).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>On shutdown, how long connections in the middle of a request get to receive their final frame before they are closed.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed to receive the rest of a request frame once its first byte has arrived; then an error is sent and the connection closed.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Time allowed to send one response.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Receives the endpoint's log (null: <see cref="NullLogger.Instance"/>, nothing): listening and stopping,
    /// connections, sessions opened and proved (information), refused connections, bad frames, timeouts and refused
    /// requests (warning), accept failures and internal errors (error, with the exception), as structured messages
    /// with named values (<c>ConnectionId</c>, <c>Peer</c>, <c>SessionId</c>, <c>Error</c>, …) and stable event ids
    /// (101–123). Values a peer chose have their control characters escaped.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// The server certificate, with its private key, for TLS (null: plain TCP). Every connection
    /// must then complete a TLS handshake within <see cref="TlsHandshakeTimeout"/> before its first
    /// frame; frames, limits and timeouts are the same inside TLS. See <see cref="LoRAServerSocket.LoadCertificate"/>.
    /// </summary>
    public X509Certificate2? TlsCertificate { get; init; }

    /// <summary>Intermediate certificates sent with <see cref="TlsCertificate"/> (empty: the certificate alone).</summary>
    public X509Certificate2Collection? TlsIntermediates { get; init; }

    /// <summary>Time allowed for a connection's TLS handshake (with TLS only); then the connection is closed and its slot freed.</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
