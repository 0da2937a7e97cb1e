using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using ZkLora.Proofs;

namespace ZkLora.Api.Multiparty;

/// <summary>A contributor's answer to <c>lora_forward</c>.</summary>
/// <param name="SessionId">Echo of the request.</param>
/// <param name="SubmoduleName">Echo of the request.</param>
/// <param name="InvocationIndex">The contributor's index of this call for (session, module), from 0.</param>
/// <param name="InputShape">The input shape as the contributor read it.</param>
/// <param name="OutputShape">The input's leading dimensions and out_dim.</param>
/// <param name="Output">The dequantized delta (q_delta / 2^scale_bits) as rows × out_dim doubles.</param>
/// <param name="QDelta">The exact quantized delta, rows × out_dim.</param>
/// <param name="ScalingNum">LoRA scaling numerator.</param>
/// <param name="ScalingDen">LoRA scaling denominator.</param>
/// <param name="FixedPoint">The fixed-point configuration used.</param>
public sealed record LoraForwardResponse(
    string SessionId, string SubmoduleName, long InvocationIndex, long[] InputShape, long[] OutputShape,
    double[][] Output, BigInteger[][] QDelta, BigInteger ScalingNum, BigInteger ScalingDen, FixedPointSettings FixedPoint);
