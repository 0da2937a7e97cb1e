using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>A contributor's answer to <c>end_inference</c>.</summary>
/// <param name="SessionId">Echo of the request.</param>
/// <param name="RecordedCalls">How many module calls the contributor recorded for the session.</param>
/// <param name="ProofsWritten">How many proofs it wrote.</param>
public sealed record EndInferenceResponse(string SessionId, int RecordedCalls, int ProofsWritten);
