using System.Numerics;
using System.Security.Cryptography;
using ZkLora.Model;
using ZkLora.Proofs;
using static TorchSharp.torch;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;

namespace ZkLora.Api.Multiparty;

/// <summary>What one contributor answered to <c>end_inference</c>.</summary>
/// <param name="Contributor">The contributor.</param>
/// <param name="Response">Its answer, or null when it failed.</param>
/// <param name="Error">Its error, or null on success.</param>
public sealed record EndInferenceOutcome(ContributorEndpoint Contributor, EndInferenceResponse? Response, string? Error);
