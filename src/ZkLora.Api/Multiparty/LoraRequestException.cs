using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;
using FsManifest = ZkLora.Proofs.Manifest;

namespace ZkLora.Api.Multiparty;

/// <summary>
/// A request from a base-model user cannot be served; the message and <see cref="Code"/> are sent
/// back to it in an error frame.
/// </summary>
public sealed class LoraRequestException : Exception
{
    /// <summary>Creates the exception (code <see cref="WireErrorCode.Unspecified"/>: its error frame carries no code).</summary>
    /// <param name="message">What was wrong with the request.</param>
    public LoraRequestException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong with the request.</param>
    /// <param name="code">Why, for machines: the code of the error frame.</param>
    public LoraRequestException(string message, WireErrorCode code) : base(message) => Code = code;

    /// <summary>Why the request is refused (the error frame's <c>code</c>).</summary>
    public WireErrorCode Code { get; }
}
