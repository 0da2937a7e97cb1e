using System.Numerics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;

namespace ZkLora.Api.Multiparty;

/// <summary>Proof generation failed for a session (a bad call, a witness that does not open the manifest, an I/O error); nothing misleading was written.</summary>
public sealed class ProofGenerationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the call.</param>
    public ProofGenerationException(string message) : base(message) { }
}
