using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;
using FsManifest = ZkLora.Proofs.Manifest;

namespace ZkLora.Api.Multiparty;

/// <summary>Result of a served <c>lora_forward</c>.</summary>
/// <param name="Call">What was recorded.</param>
/// <param name="Output">The dequantized delta (q / 2^scale_bits), rows × out_dim.</param>
public sealed record LoraForwardResult(RecordedCall Call, double[][] Output);
