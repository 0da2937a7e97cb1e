using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary><c>end_inference</c>: the session is over; the contributor proves its recorded calls.</summary>
/// <param name="SessionId">The session to close.</param>
/// <param name="SessionToken">The session's secret, as <c>open_session</c> returned it.</param>
public sealed record EndInferenceRequest(string SessionId, string SessionToken) : WireRequest;
