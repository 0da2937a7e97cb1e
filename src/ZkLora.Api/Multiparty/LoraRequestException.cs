using System.Numerics;
using Microsoft.FSharp.Collections;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;
using FsFixedPoint = ZkLora.Proofs.FixedPoint;
using FsManifest = ZkLora.Proofs.Manifest;

namespace ZkLora.Api.Multiparty;

/// <summary>A request from a base-model user cannot be served; the message is sent back to it.</summary>
public sealed class LoraRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong with the request.</param>
    public LoraRequestException(string message) : base(message) { }
}
