using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// <c>lora_forward</c>: one module call's input activations. <paramref name="InputShape"/> is
/// [rows, in_dim] or [batch, seq, in_dim]; <paramref name="Rows"/> is the input flattened to
/// rows × in_dim (row-major over the leading dimensions), every value finite.
/// </summary>
/// <param name="SessionId">The inference session (ArtifactNames alphabet).</param>
/// <param name="SessionToken">The session's secret, as <c>open_session</c> returned it.</param>
/// <param name="SubmoduleName">The injection point, e.g. <c>transformer.h.0.attn.c_attn</c>.</param>
/// <param name="InputShape">Shape of the input as sent.</param>
/// <param name="Rows">The input as rows × in_dim.</param>
public sealed record LoraForwardRequest(string SessionId, string SessionToken, string SubmoduleName, long[] InputShape, double[][] Rows) : WireRequest;
