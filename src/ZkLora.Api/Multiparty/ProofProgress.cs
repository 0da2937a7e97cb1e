using System.Numerics;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using ZkLora.Model;
using ZkLora.Proofs;
using Fp = ZkLora.Math.FieldElement<ZkLora.Math.PallasBase>;
using FsEntry = ZkLora.Proofs.TranscriptEntry;

namespace ZkLora.Api.Multiparty;

/// <summary>Progress of a session's proving.</summary>
/// <param name="Done">Proofs finished.</param>
/// <param name="Total">Proofs to write.</param>
/// <param name="Current">The call just proved (<c>module#index</c>), if any.</param>
public sealed record ProofProgress(int Done, int Total, string? Current);
