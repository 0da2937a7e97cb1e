using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>A contributor's answer to <c>proof_progress</c>.</summary>
/// <param name="SessionId">Echo of the request.</param>
/// <param name="State"><c>queued</c> (waiting for another session's proving: sessions are proved one at a time) or <c>proving</c>.</param>
/// <param name="Done">Proofs finished.</param>
/// <param name="Total">Proofs to write (0 while queued).</param>
public sealed record ProofProgressResponse(string SessionId, string State, int Done, int Total);
