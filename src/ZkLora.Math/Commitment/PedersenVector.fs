/// Transparent Pedersen vector commitments on Vesta (scalar field Fp, the circuit field).
///
/// C = Σ_i v_i·G_i + r·h with G_i, H_i, g, h, U all hashed to the curve from fixed domain
/// strings (`HashToCurve`), so nobody knows a discrete-log relation between any two of them
/// and there is no trusted setup.
///
/// Security: *binding* — two openings of one C to different (v, r) give a non-trivial
/// discrete-log relation among independent hashed generators (discrete-log assumption on
/// Vesta). *Hiding* — for r uniform from the CSPRNG, C is a uniform group element
/// independent of v (perfectly hiding). Commitments on disjoint generator segments add to a
/// commitment of the concatenated vector with the sum of the blinds; the protocols built on
/// this rely on that (every party computes the segments from the same public layout).
namespace ZkLora.Math.Commitment

open System
open System.Threading.Tasks
open ZkLora.Math

/// An indexed sequence of independent generators for one domain: element i is
/// `HashToCurve(domain, i)` whatever prefix length was derived, so a longer derivation
/// extends a shorter one. Derived on demand and cached (thread-safe); with a store, points
/// already stored are loaded (each checked, see `GeneratorStore`) instead of derived, and
/// newly derived ones are stored.
[<Sealed>]
type GeneratorSequence(domain: string, store: GeneratorStore option) =
    let sync = obj ()
    let mutable points: VestaAffine[] = [||]
    // the attempt counters a store saves with the points (kept only when there is a store)
    let mutable counters: uint32[] = if store.IsSome then [||] else null

    /// A sequence without a store (every point is derived).
    new(domain: string) = GeneratorSequence(domain, None)

    /// The domain string the points are hashed from.
    member _.Domain = domain

    /// At least `count` points (a cached array whose first `count` entries are elements
    /// 0 … count−1; it may be longer). Extends the cache to a power of two.
    member _.Get(count: int) : VestaAffine[] =
        if count < 0 then invalidArg "count" "count must be non-negative"
        lock sync (fun () ->
            if points.Length < count then
                let target = max count (if count <= 1 then 1 else 1 <<< (32 - Numerics.BitOperations.LeadingZeroCount(uint32 (count - 1))))
                let next = Array.zeroCreate<VestaAffine> target
                Array.blit points 0 next 0 points.Length
                let mutable from = points.Length
                match store with
                | Some s ->
                    let nextCounters = Array.zeroCreate<uint32> target
                    Array.blit counters 0 nextCounters 0 counters.Length
                    let loaded, loadedCounters = s.TryLoad(domain, from, target - from)
                    Array.blit loaded 0 next from loaded.Length
                    Array.blit loadedCounters 0 nextCounters from loadedCounters.Length
                    from <- from + loaded.Length
                    if from < target then
                        HashToCurve<VestaBase, PallasBase>.DeriveInto(domain, next, nextCounters, from, target)
                        s.Save(domain, next, nextCounters, target)
                    counters <- nextCounters
                | None -> HashToCurve<VestaBase, PallasBase>.DeriveInto(domain, next, null, from, target)
                points <- next
            points)

module internal PedersenDomain =
    /// Domain prefix of every generator of the Pedersen vector commitments.
    [<Literal>]
    let Root = "zklora/pedersen-vector/v1"

/// The vector generators G_0, G_1, … and H_0, H_1, … of the Pedersen vector commitments, as
/// one owner holds them: a prover or verifier context (inside `PublicParameters`), a test, a
/// benchmark. Every instance yields the same points (public, derived from fixed domain strings),
/// so instances only separate memory: the points an owner needed (up to 2^23 of G for a
/// 1024-row call, about half a GiB) are freed with it instead of staying resident in the
/// process. Thread-safe.
[<Sealed>]
type PedersenGenerators(store: GeneratorStore option) =
    let g = GeneratorSequence(PedersenDomain.Root + "/G", store)
    let h = GeneratorSequence(PedersenDomain.Root + "/H", store)
    /// Generators derived in this process only (no store).
    new() = PedersenGenerators(None)
    /// The store points are loaded from and saved to, if any.
    member _.Store = store
    /// The vector generators G_0, G_1, …
    member _.G = g
    /// The second vector generators H_0, H_1, … (used by two-vector arguments).
    member _.H = h

/// Pedersen vector commitments on the project's transparent Vesta generators.
[<RequireQualifiedAccess>]
module PedersenVector =
    /// Domain prefix of every generator of this module.
    [<Literal>]
    let Domain = PedersenDomain.Root
    /// The blinding generator h.
    let blindingGenerator : VestaAffine = Vesta.hashToCurve (Domain + "/h") 0u
    /// The value generator g (commitments to single scalars, t-polynomial coefficients).
    let valueGenerator : VestaAffine = Vesta.hashToCurve (Domain + "/g") 0u
    /// The inner-product generator U of the inner product argument.
    let innerProductGenerator : VestaAffine = Vesta.hashToCurve (Domain + "/U") 0u

    /// A uniformly random scalar from the OS CSPRNG.
    let randomScalar () : Fp = Fp.Random()

    /// `count` uniformly random scalars from the OS CSPRNG.
    let randomScalars (count: int) : Fp[] =
        let a = Array.zeroCreate<Fp> count
        ZkLora.Math.Randomness.fill (Span a)
        a

    /// Σ values_i·points_i (variable time in the scalars: use only where the scalars'
    /// timing may leak — the MSM is the project's, as in the IPA prover).
    let msm (points: ReadOnlyMemory<VestaAffine>) (values: ReadOnlyMemory<Fp>) : Vesta =
        if points.Length <> values.Length then invalidArg "values" "one scalar per point is required"
        if values.Length = 0 then Vesta.identity else Vesta.msmMemory points values

    /// Σ values_i·G_(offset+i) + blind·h (blind multiplied in constant time).
    let commitAt (generators: PedersenGenerators) (offset: int) (values: Fp[]) (blind: Fp) : Vesta =
        if offset < 0 then invalidArg "offset" "offset must be non-negative"
        let gens = generators.G.Get(offset + values.Length)
        let body = msm (ReadOnlyMemory(gens, offset, values.Length)) (ReadOnlyMemory values)
        body + Vesta.ofAffine blindingGenerator * blind

    /// Σ values_i·G_i + blind·h.
    let commit (generators: PedersenGenerators) (values: Fp[]) (blind: Fp) : Vesta = commitAt generators 0 values blind

    /// The strict 32-byte compressed encoding of a commitment.
    let encode (c: Vesta) : byte[] = Vesta.toBytes c

    /// Strict decoding (wrong length, non-canonical or off-curve encodings are errors).
    let decode (bytes: ReadOnlySpan<byte>) : Result<Vesta, string> =
        VestaAffine.TryReadBytes bytes |> Result.map Vesta.ofAffine
