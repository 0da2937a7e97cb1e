/// The public parameters of every commitment the project makes, as one object a host owns.
///
/// Both backends are transparent: the Pedersen vector generators (projection backend) and the
/// IPA parameters per k (PLONK backend) are hashed to the curve from fixed domain strings, so
/// nothing here is secret or trusted — any two instances hold the same points. What an instance
/// owns is their *memory*: points are derived on first use and kept while the instance lives
/// (a 1024-row GPT-2 call needs 2^23 Pedersen generators, about half a GiB; a k = 20 PLONK
/// circuit 2^20 IPA generators). A prover or verifier context holds one; hosts that run several
/// contexts in one process may share one instance to derive the points once, and a
/// `GeneratorStore` keeps the Pedersen generators between processes (loaded points are checked,
/// so a store needs no trust; see GeneratorStore.fs).
///
/// Process-wide state that remains, deliberately: the Poseidon round constants and the curve's
/// endomorphism constants (fixed, a few KB), and evaluation domains, which are cached only
/// through weak references (cheap to rebuild, collected once no proof uses them).
namespace ZkLora.Math.Commitment

open ZkLora.Math

/// See the file comment: the Pedersen generators and the PLONK commitment scheme of one owner.
[<Sealed>]
type PublicParameters(store: GeneratorStore option) =
    let pedersen = PedersenGenerators(store)
    let plonk =
        match store with
        | None -> VestaIpa.create ()
        | Some s -> VestaIpa.createWith (fun domain count -> GeneratorSequence(domain, Some s).Get count |> Array.truncate count)
    /// Parameters derived in this process only.
    new() = PublicParameters(None)
    /// Parameters whose generators (Pedersen and, per k, the PLONK backend's IPA parameters) are
    /// loaded from (each checked) and saved to `store`.
    new(store: GeneratorStore) = PublicParameters(Some store)
    /// The Pedersen vector generators G, H (projection backend).
    member _.Pedersen : PedersenGenerators = pedersen
    /// The IPA-over-Vesta commitment scheme with its per-k parameters (PLONK backend).
    member _.Plonk : ICommitmentScheme<VestaAffine> = plonk :> ICommitmentScheme<VestaAffine>
