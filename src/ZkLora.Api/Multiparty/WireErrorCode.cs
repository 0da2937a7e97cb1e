namespace ZkLora.Api.Multiparty;

/// <summary>
/// The machine-readable code of a wire error frame (<c>{"type":"error","code":"…","error":"…"}</c>,
/// docs/wire-protocol.md, "Errors"): a closed set, written on the wire as the snake_case names that
/// <see cref="WireErrorCodes.ToWireName"/> gives. Decide on the code, never on the message: messages
/// are for people and may change. A <c>zklora.wire.v3</c> contributor sends a code with every error;
/// a <c>zklora.wire.v2</c> contributor sends none, which reads as <see cref="Unspecified"/>.
/// </summary>
public enum WireErrorCode
{
    /// <summary>No code: the error frame carried none (a <c>zklora.wire.v2</c> contributor), or the failure was not an error frame (a malformed response found by this side).</summary>
    Unspecified = 0,

    /// <summary><c>invalid_frame</c>: an empty frame (the connection stays open), or a connection closed inside a frame (closed).</summary>
    InvalidFrame,

    /// <summary><c>frame_too_large</c>: the announced frame length is above the limit; nothing of it was read and the connection is closed.</summary>
    FrameTooLarge,

    /// <summary><c>read_timeout</c>: a request frame did not arrive completely in time; the connection is closed.</summary>
    ReadTimeout,

    /// <summary><c>busy</c>: a capacity limit of the server is reached (connections in total or per address, open sessions in total or per client, recorded values of all sessions); try again later.</summary>
    Busy,

    /// <summary><c>tls_required</c>: a plain frame reached a contributor that requires TLS; the connection is closed.</summary>
    TlsRequired,

    /// <summary><c>invalid_request</c>: the request is not valid UTF-8 or JSON, not an object, or has an unknown, missing or repeated member, a member of the wrong JSON type, a bad session id or token syntax.</summary>
    InvalidRequest,

    /// <summary><c>unknown_request_type</c>: the request's <c>type</c> is not one this contributor knows (e.g. <c>proof_progress</c> sent to a contributor that predates it).</summary>
    UnknownRequestType,

    /// <summary><c>unknown_module</c>: <c>lora_forward</c> names a module this contributor does not serve.</summary>
    UnknownModule,

    /// <summary><c>invalid_input</c>: the <c>lora_forward</c> input has the wrong shape or width, is not rectangular, holds a non-number or non-finite value, or a value or delta outside the fixed-point bounds.</summary>
    InvalidInput,

    /// <summary><c>unknown_session</c>: no open session has this id; open it with <c>open_session</c> first.</summary>
    UnknownSession,

    /// <summary><c>invalid_session_token</c>: the token is not the one <c>open_session</c> returned for the session (also for a session opened in-process).</summary>
    InvalidSessionToken,

    /// <summary><c>session_exists</c>: <c>open_session</c> for an id that is already open.</summary>
    SessionExists,

    /// <summary><c>session_ended</c>: the session ended or expired; ids are never reused.</summary>
    SessionEnded,

    /// <summary><c>session_proving</c>: the session is being proved (no more calls can join it, and it cannot be ended again).</summary>
    SessionProving,

    /// <summary><c>session_not_proving</c>: <c>proof_progress</c> for a session whose <c>end_inference</c> has not been accepted.</summary>
    SessionNotProving,

    /// <summary><c>nothing_to_prove</c>: <c>end_inference</c> for a session with no recorded call.</summary>
    NothingToProve,

    /// <summary><c>budget_exceeded</c>: the request is above a per-call or per-session limit (rows or values per call, values per session, response frame size, proving memory or the proof system's limits for the call's size); send less.</summary>
    BudgetExceeded,

    /// <summary><c>storage_unavailable</c>: the server cannot write its session store (e.g. a full disk); nothing was changed, try again later.</summary>
    StorageUnavailable,

    /// <summary><c>proof_failed</c>: <c>end_inference</c> could not prove a call; the session stays open with its calls.</summary>
    ProofFailed,

    /// <summary><c>shutting_down</c>: the server is stopping; an <c>end_inference</c> that was accepted and logged is finished after its restart.</summary>
    ShuttingDown,

    /// <summary><c>internal_error</c>: an unexpected failure of the server; it keeps serving.</summary>
    InternalError,
}
