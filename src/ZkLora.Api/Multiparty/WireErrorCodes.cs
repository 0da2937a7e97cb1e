namespace ZkLora.Api.Multiparty;

/// <summary>The wire names of <see cref="WireErrorCode"/> (the <c>code</c> member of an error frame).</summary>
public static class WireErrorCodes
{
    private static readonly (WireErrorCode Code, string Name)[] Names =
    [
        (WireErrorCode.InvalidFrame, "invalid_frame"),
        (WireErrorCode.FrameTooLarge, "frame_too_large"),
        (WireErrorCode.ReadTimeout, "read_timeout"),
        (WireErrorCode.Busy, "busy"),
        (WireErrorCode.TlsRequired, "tls_required"),
        (WireErrorCode.InvalidRequest, "invalid_request"),
        (WireErrorCode.UnknownRequestType, "unknown_request_type"),
        (WireErrorCode.UnknownModule, "unknown_module"),
        (WireErrorCode.InvalidInput, "invalid_input"),
        (WireErrorCode.UnknownSession, "unknown_session"),
        (WireErrorCode.InvalidSessionToken, "invalid_session_token"),
        (WireErrorCode.SessionExists, "session_exists"),
        (WireErrorCode.SessionEnded, "session_ended"),
        (WireErrorCode.SessionProving, "session_proving"),
        (WireErrorCode.SessionNotProving, "session_not_proving"),
        (WireErrorCode.NothingToProve, "nothing_to_prove"),
        (WireErrorCode.BudgetExceeded, "budget_exceeded"),
        (WireErrorCode.StorageUnavailable, "storage_unavailable"),
        (WireErrorCode.ProofFailed, "proof_failed"),
        (WireErrorCode.ShuttingDown, "shutting_down"),
        (WireErrorCode.InternalError, "internal_error"),
    ];

    /// <summary>The code's wire name, e.g. <c>unknown_request_type</c>.</summary>
    /// <param name="code">A code other than <see cref="WireErrorCode.Unspecified"/>.</param>
    /// <returns>The snake_case name sent in the error frame's <c>code</c> member.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="WireErrorCode.Unspecified"/> (it has no wire name: its frame has no <c>code</c>) or an undefined value.</exception>
    public static string ToWireName(this WireErrorCode code)
    {
        foreach (var (c, name) in Names)
            if (c == code) return name;
        throw new ArgumentOutOfRangeException(nameof(code), code, "Unspecified and undefined codes have no wire name.");
    }

    /// <summary>Reads a wire name (exact, case-sensitive).</summary>
    /// <param name="name">The <c>code</c> member of an error frame.</param>
    /// <param name="code">The code, or <see cref="WireErrorCode.Unspecified"/> when the name is not one of the set.</param>
    /// <returns>True when <paramref name="name"/> is a code of this protocol version.</returns>
    public static bool TryParse(string? name, out WireErrorCode code)
    {
        foreach (var (c, n) in Names)
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                code = c;
                return true;
            }
        code = WireErrorCode.Unspecified;
        return false;
    }
}
