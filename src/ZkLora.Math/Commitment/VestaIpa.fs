/// The proving system's production commitment scheme: the inner product argument over
/// the Vesta curve (whose scalar field is the circuit field Fp), with generators from the
/// curve module's hash-to-curve. Commitments are affine points in their strict 32-byte
/// compressed encoding.
module ZkLora.Math.Commitment.VestaIpa

open System
open ZkLora.Math

/// Vesta as the IPA's group (affine points; arithmetic through projective coordinates), its
/// generators obtained from `generators domain count` (which must return `Vesta.generators`'
/// points: hash-to-curve outputs of each index — derived, or loaded and checked).
let groupWith (generators: string -> int -> VestaAffine[]) =
    { new IGroup<VestaAffine> with
        member _.Name = "vesta"
        member _.Zero = VestaAffine.Identity
        member _.Add(a, b) = (Vesta.OfAffine(a).AddAffine b).ToAffine()
        member _.Sub(a, b) = (Vesta.OfAffine(a).AddAffine(-b)).ToAffine()
        member _.Mul(a, s) = (Vesta.OfAffine a * s).ToAffine()
        member _.Msm(scalars, points) = (Vesta.msmMemory points scalars).ToAffine()
        member _.Fold(points, half, u) = VestaFold.fold points half u
        member _.IsZero a = a.IsIdentity
        member _.EncodedSize = 32
        member _.Encode a = a.ToBytes()
        member _.Decode bytes = VestaAffine.TryReadBytes bytes
        member _.Generators(domain, count) = generators domain count }

/// Vesta as the IPA's group, generators derived in the process.
let group = groupWith (fun domain count -> Vesta.generators domain count)

/// Largest supported k.
[<Literal>]
let MaxK = 24

/// A new scheme instance: its parameters (2^k generators per k) are derived on first use and
/// kept by the instance, so whoever owns it (a prover or verifier context, through
/// `PublicParameters`) decides how long they stay resident. Instances are interchangeable:
/// the parameters are deterministic, so commitments, keys and proofs agree between them.
let create () : Ipa.IpaCommitmentScheme<VestaAffine> = Ipa.IpaCommitmentScheme<VestaAffine>(group, MaxK)

/// `create`, with the generators taken from `generators` (see `groupWith`).
let createWith (generators: string -> int -> VestaAffine[]) : Ipa.IpaCommitmentScheme<VestaAffine> =
    Ipa.IpaCommitmentScheme<VestaAffine>(groupWith generators, MaxK)
