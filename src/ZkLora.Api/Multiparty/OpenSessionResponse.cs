using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>A contributor's answer to <c>open_session</c>.</summary>
/// <param name="SessionId">Echo of the request.</param>
/// <param name="SessionToken">The session's secret (256 bits from a CSPRNG, 64 hex digits): every later request of the session must carry it.</param>
public sealed record OpenSessionResponse(string SessionId, string SessionToken);
