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
public sealed record EndInferenceOutcome(ContributorEndpoint Contributor, EndInferenceResponse? Response, string? Error)
{
    /// <summary>
    /// When the contributor answered with an error frame, its code (e.g. <see cref="WireErrorCode.ProofFailed"/>:
    /// the session stays open and can be ended again); <see cref="WireErrorCode.Unspecified"/> on success, for a
    /// failure that was not an error frame (connection, timeout, malformed answer), and for a
    /// <c>zklora.wire.v2</c> contributor's codeless error.
    /// </summary>
    public WireErrorCode ErrorCode { get; init; }
}
