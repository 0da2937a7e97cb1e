using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary><c>open_session</c>: opens a session under a new id; the answer carries the session's secret token.</summary>
/// <param name="SessionId">The id (ArtifactNames alphabet; never used before on this contributor).</param>
public sealed record OpenSessionRequest(string SessionId) : WireRequest;
