using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// What <see cref="LoRAServerSocket"/> (event ids 101–123) and <see cref="LoRAServer"/> (201–208) log through the
/// host's <see cref="ILogger"/>: structured messages with named values and stable event ids. The rendered text
/// of each is the line <c>zklora serve</c> prints after its <c>[zklora serve HH:mm:ss]</c> prefix. Levels:
/// information for the normal course (listening, connections, sessions), warning for what a peer did wrong or
/// was refused, error for what the operator must look at (storage failures, a session that could not be proved,
/// bugs: those carry the exception). Values a peer chose (session ids before they are checked, error texts
/// that quote its request) are passed through <see cref="Printable"/>, so no logger sees a control character.
/// </summary>
internal static partial class ServerLog
{
    /// <summary>Untrusted text for a log value: control characters escaped (<see cref="WireMessages.Escape"/>), at most 8192 characters.</summary>
    public static string Printable(string text) => WireMessages.Escape(text, 8192);

    // LoRAServerSocket

    [LoggerMessage(EventId = 101, EventName = "Listening", Level = LogLevel.Information, Message = "listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 102, EventName = "ListeningTls", Level = LogLevel.Information, Message = "listening on {EndPoint} (TLS)")]
    public static partial void ListeningTls(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 103, EventName = "Stopped", Level = LogLevel.Information, Message = "stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 104, EventName = "AcceptFailed", Level = LogLevel.Error, Message = "accept failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 105, EventName = "RefusedBusy", Level = LogLevel.Warning,
        Message = "#{ConnectionId} {Peer}: refused, {MaxConnections} connections already open")]
    public static partial void RefusedBusy(ILogger logger, long connectionId, string peer, int maxConnections);

    [LoggerMessage(EventId = 106, EventName = "RefusedPerClient", Level = LogLevel.Warning,
        Message = "#{ConnectionId} {Peer}: refused, {MaxConnectionsPerClient} connections from this address already open")]
    public static partial void RefusedPerClient(ILogger logger, long connectionId, string peer, int maxConnectionsPerClient);

    [LoggerMessage(EventId = 107, EventName = "Connected", Level = LogLevel.Information, Message = "#{ConnectionId} {Peer}: connected")]
    public static partial void Connected(ILogger logger, long connectionId, string peer);

    [LoggerMessage(EventId = 108, EventName = "ConnectedTls", Level = LogLevel.Information, Message = "#{ConnectionId} {Peer}: connected ({TlsProtocol})")]
    public static partial void ConnectedTls(ILogger logger, long connectionId, string peer, SslProtocols tlsProtocol);

    [LoggerMessage(EventId = 109, EventName = "IdleClosing", Level = LogLevel.Information, Message = "#{ConnectionId} {Peer}: idle for {IdleSeconds:0} s, closing")]
    public static partial void IdleClosing(ILogger logger, long connectionId, string peer, double idleSeconds);

    [LoggerMessage(EventId = 110, EventName = "BadFrame", Level = LogLevel.Warning, Message = "#{ConnectionId} {Peer}: bad frame: {Error}")]
    public static partial void BadFrame(ILogger logger, long connectionId, string peer, string error);

    [LoggerMessage(EventId = 111, EventName = "ReadTimeout", Level = LogLevel.Warning, Message = "#{ConnectionId} {Peer}: read timeout")]
    public static partial void ReadTimeout(ILogger logger, long connectionId, string peer);

    [LoggerMessage(EventId = 112, EventName = "ConnectionError", Level = LogLevel.Warning, Message = "#{ConnectionId} {Peer}: connection error: {Error}")]
    public static partial void ConnectionError(ILogger logger, long connectionId, string peer, string error);

    [LoggerMessage(EventId = 113, EventName = "UnexpectedError", Level = LogLevel.Error, Message = "#{ConnectionId} {Peer}: unexpected error")]
    public static partial void UnexpectedError(ILogger logger, long connectionId, string peer, Exception exception);

    [LoggerMessage(EventId = 114, EventName = "Closed", Level = LogLevel.Information, Message = "#{ConnectionId} {Peer}: closed")]
    public static partial void Closed(ILogger logger, long connectionId, string peer);

    [LoggerMessage(EventId = 115, EventName = "PlainFrameOnTls", Level = LogLevel.Warning,
        Message = "#{ConnectionId} {Peer}: refused, a plain (non-TLS) frame on a TLS server")]
    public static partial void PlainFrameOnTls(ILogger logger, long connectionId, string peer);

    [LoggerMessage(EventId = 116, EventName = "TlsHandshakeTimeout", Level = LogLevel.Warning,
        Message = "#{ConnectionId} {Peer}: TLS handshake not completed within {TimeoutSeconds:0.###} s, closing")]
    public static partial void TlsHandshakeTimeout(ILogger logger, long connectionId, string peer, double timeoutSeconds);

    [LoggerMessage(EventId = 117, EventName = "TlsHandshakeFailed", Level = LogLevel.Warning, Message = "#{ConnectionId} {Peer}: TLS handshake failed: {Error}")]
    public static partial void TlsHandshakeFailed(ILogger logger, long connectionId, string peer, string error);

    [LoggerMessage(EventId = 118, EventName = "SessionOpened", Level = LogLevel.Information, Message = "#{ConnectionId} {Peer}: session '{SessionId}' opened")]
    public static partial void SessionOpened(ILogger logger, long connectionId, string peer, string sessionId);

    [LoggerMessage(EventId = 119, EventName = "EndInferenceReceived", Level = LogLevel.Information,
        Message = "#{ConnectionId} {Peer}: end_inference for session '{SessionId}'")]
    public static partial void EndInferenceReceived(ILogger logger, long connectionId, string peer, string sessionId);

    [LoggerMessage(EventId = 120, EventName = "SessionProved", Level = LogLevel.Information,
        Message = "#{ConnectionId} {Peer}: session '{SessionId}': {Calls} calls, {Proofs} proofs written")]
    public static partial void SessionProved(ILogger logger, long connectionId, string peer, string sessionId, int calls, int proofs);

    [LoggerMessage(EventId = 121, EventName = "ShuttingDownDuringRequest", Level = LogLevel.Information,
        Message = "#{ConnectionId} {Peer}: shutting down during a request")]
    public static partial void ShuttingDownDuringRequest(ILogger logger, long connectionId, string peer);

    [LoggerMessage(EventId = 122, EventName = "InternalError", Level = LogLevel.Error, Message = "#{ConnectionId} {Peer}: internal error")]
    public static partial void InternalError(ILogger logger, long connectionId, string peer, Exception exception);

    [LoggerMessage(EventId = 123, EventName = "RequestRefused", Level = LogLevel.Warning, Message = "#{ConnectionId} {Peer}: error: {Error}")]
    public static partial void RequestRefused(ILogger logger, long connectionId, string peer, string error);

    // LoRAServer

    [LoggerMessage(EventId = 201, EventName = "SessionLogCreateFailed", Level = LogLevel.Error, Message = "session '{SessionId}': cannot create its log: {Error}")]
    public static partial void SessionLogCreateFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 202, EventName = "SessionLogWriteFailed", Level = LogLevel.Error, Message = "session '{SessionId}': cannot write its log: {Error}")]
    public static partial void SessionLogWriteFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 203, EventName = "EndInferenceLogFailed", Level = LogLevel.Error, Message = "session '{SessionId}': cannot log end_inference: {Error}")]
    public static partial void EndInferenceLogFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 204, EventName = "RecoveryStarted", Level = LogLevel.Information,
        Message = "recovery: finishing {Sessions} session(s) whose end_inference was accepted before a restart")]
    public static partial void RecoveryStarted(ILogger logger, int sessions);

    [LoggerMessage(EventId = 205, EventName = "RecoveryProved", Level = LogLevel.Information, Message = "recovery: session '{SessionId}': {Proofs} proofs written")]
    public static partial void RecoveryProved(ILogger logger, string sessionId, int proofs);

    [LoggerMessage(EventId = 206, EventName = "RecoveryFailed", Level = LogLevel.Error,
        Message = "recovery: session '{SessionId}' could not be proved: {Error}; it stays open")]
    public static partial void RecoveryFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 207, EventName = "EndFailedLogFailed", Level = LogLevel.Error,
        Message = "session '{SessionId}': cannot log that its proving failed: {Error}")]
    public static partial void EndFailedLogFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 208, EventName = "SessionLogUnreadable", Level = LogLevel.Warning,
        Message = "recovery: session log {Path} is unreadable ({Error}); moved aside to .corrupt")]
    public static partial void SessionLogUnreadable(ILogger logger, string path, string error);
}
