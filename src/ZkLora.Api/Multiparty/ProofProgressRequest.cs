using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// <c>proof_progress</c>: how far the proving of a session whose <c>end_inference</c> was accepted has
/// come. Sent on a second connection while the first waits for <c>end_inference_response</c>; a
/// server that predates it answers "Unknown request type", and the client stops asking.
/// </summary>
/// <param name="SessionId">The session being proved.</param>
/// <param name="SessionToken">The session's secret, as <c>open_session</c> returned it.</param>
public sealed record ProofProgressRequest(string SessionId, string SessionToken) : WireRequest;
