/// Commit-once adapter weights for the projection backend (docs/projection-protocol.md §3):
/// a hiding Pedersen vector commitment C_W = ⟨w, G[0..nW)⟩ + r_W·h to w = A (rank × in,
/// row-major) ‖ B (out × rank, row-major), made once when the manifest is written, and a
/// one-time proof that every weight is within ±value_bound.
///
/// Range argument: each weight is w = m⁺ − m⁻ with m⁺, m⁻ ∈ [0, 2^(vb−1)) given by
/// vb − 1 committed bits each; the set of such differences is exactly
/// [−(2^(vb−1) − 1), 2^(vb−1) − 1] = ±value_bound. The bits are committed in
/// C_bits on G[nW..), and one bit-constraint proof shows that they are bits and that
/// Σ_i ε^i·(w_i − Σ_k 2^k·m⁺_ik + Σ_k 2^k·m⁻_ik) = 0 for a challenge ε squeezed after
/// C_W and C_bits (Schwartz–Zippel: a false entry survives with probability ≤ nW/p), on
/// P0 = λ_W·C_W + C_bits with λ_W squeezed after both ("segment separation": components of
/// C_bits on the weight generators enter with weight 1/λ_W in the constraint, so they cannot
/// replace the committed weights; probability ≤ 3/p).
/// No wrap: |w_i|, Σ 2^k·m^± < 2^64, far below p/2, so the field identity is the
/// integer identity. Zero knowledge: C_W and C_bits are hiding; the bit-constraint proof
/// is zero knowledge; nothing else is sent.
module ZkLora.Proofs.Projection.AdapterProof

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Commitment
open ZkLora.Math.Transcript
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Projection.ProjectionCommon

/// Domain of the adapter-proof transcript.
[<Literal>]
let Domain = "zklora/projection-adapter/v1"

/// The public shape of a committed adapter.
type AdapterShape =
    { InDim: int
      Rank: int
      OutDim: int
      Config: FixedPointConfig }

/// The secret side of a committed adapter: weights and the commitment's blind.
type AdapterSecret =
    { A: BigInteger[][]
      B: BigInteger[][]
      Blind: Fp }

/// An adapter proof: the bit commitment and the bit-constraint proof.
type AdapterRangeProof =
    { Bits: VestaAffine
      Proof: BitConstraintProof }

/// Number of weights (the length of the weight segment at the start of every vector).
let weightCount (s: AdapterShape) = s.Rank * s.InDim + s.OutDim * s.Rank

/// The weights in vector order as Fp.
let weightVector (s: AdapterShape) (a: BigInteger[][]) (b: BigInteger[][]) : Fp[] =
    let w = Array.zeroCreate<Fp> (weightCount s)
    for j in 0 .. s.Rank - 1 do
        for i in 0 .. s.InDim - 1 do w[j * s.InDim + i] <- Fp.OfBigInteger(a[j][i])
    let off = s.Rank * s.InDim
    for k in 0 .. s.OutDim - 1 do
        for j in 0 .. s.Rank - 1 do w[off + k * s.Rank + j] <- Fp.OfBigInteger(b[k][j])
    w

let private checkShape (s: AdapterShape) =
    match Policy.checkConfig s.Config with
    | Error e -> Error e
    | Ok() ->
        match Policy.checkShape s.InDim s.Rank s.OutDim with
        | Error e -> Error e
        | Ok() ->
            // the adapter proof's vector (weights and their 2·(vb − 1) bits), in 64 bits
            let nW = int64 s.Rank * int64 s.InDim + int64 s.OutDim * int64 s.Rank
            let used = nW * int64 (2 * s.Config.ValueBits - 1)
            if used > int64 Policy.maxVectorLength then
                Error(sprintf "adapter proof: %d committed entries exceed the policy's %d" used Policy.maxVectorLength)
            else Ok()

let private checkWeights (s: AdapterShape) (a: BigInteger[][]) (b: BigInteger[][]) =
    let vb = valueBound s.Config
    let bad (m: BigInteger[][]) rows cols =
        isNull m || m.Length <> rows || m |> Array.exists (fun r -> isNull r || r.Length <> cols || r |> Array.exists (fun v -> BigInteger.Abs v > vb))
    if bad a s.Rank s.InDim then Error "adapter: A has the wrong shape or a weight outside ±value_bound"
    elif bad b s.OutDim s.Rank then Error "adapter: B has the wrong shape or a weight outside ±value_bound"
    else Ok()

/// Commits to (A, B) with a fresh CSPRNG blind. The secret must be kept with the salts.
let commit (s: AdapterShape) (a: BigInteger[][]) (b: BigInteger[][]) : Result<VestaAffine * AdapterSecret, string> =
    match checkShape s |> Result.bind (fun () -> checkWeights s a b) with
    | Error e -> Error e
    | Ok() ->
        let blind = PedersenVector.randomScalar ()
        let c = PedersenVector.commit (weightVector s a b) blind
        Ok(Vesta.toAffine c, { A = a; B = b; Blind = blind })

let private layoutOf (s: AdapterShape) =
    let nW = weightCount s
    let per = 2 * (s.Config.ValueBits - 1)
    let used = nW + nW * per
    { Length = nextPowerOfTwo used; BitStart = nW; BitCount = nW * per }, per

let private transcriptFor (s: AdapterShape) (commitment: VestaAffine) (bits: VestaAffine) =
    let t = Transcript.create Domain
    absorbInt t "in_dim" s.InDim
    absorbInt t "rank" s.Rank
    absorbInt t "out_dim" s.OutDim
    absorbConfig t s.Config
    absorbPoint t "adapter commitment" commitment
    absorbPoint t "adapter bits" bits
    t

/// d and K of the linear constraint for challenge ε.
let private constraintOf (s: AdapterShape) (layout: BitLayout) (eps: Fp) =
    let nW = weightCount s
    let half = s.Config.ValueBits - 1
    let d = Array.zeroCreate<Fp> layout.Length
    let two = InnerProductArgument.powers (Fp.OfUInt64 2UL) half
    let ep = InnerProductArgument.powers eps nW
    Threading.Tasks.Parallel.For(0, nW, fun i ->
        d[i] <- ep[i]
        let b = nW + i * 2 * half
        for k in 0 .. half - 1 do
            d[b + k] <- -(ep[i] * two[k])
            d[b + half + k] <- ep[i] * two[k]) |> ignore
    d, Fp.Zero

/// The weight segment's random weight λ_W (the bits have weight 1), squeezed after both
/// commitments: P0 = λ_W·C_W + C_bits, so components of C_bits on the weight generators
/// cannot stand in for the committed weights (docs/projection-protocol.md §3).
let private weightLambda (t: Transcript) =
    let l = Transcript.squeezeChallenge t "lambda weights"
    if l.IsZero then None else Some l

let private proveWith (check: bool) (shift: Fp[] option) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) : AdapterRangeProof =
    let layout, per = layoutOf s
    let half = per / 2
    let nW = weightCount s
    let w = weightVector s secret.A secret.B
    let a = Array.create layout.Length Fp.Zero
    Array.blit w 0 a 0 nW
    let flat = Array.append (Array.concat secret.A) (Array.concat secret.B)
    // weights outside the bound only reach here from tests of a cheating prover: their
    // parts are truncated to vb − 1 bits, so the linear constraint is false
    let mask = (BigInteger.One <<< half) - BigInteger.One
    Threading.Tasks.Parallel.For(0, nW, fun i ->
        let v = flat[i]
        let mPlus = if v.Sign > 0 then v else BigInteger.Zero
        let mMinus = if v.Sign < 0 then -v else BigInteger.Zero
        writeBits a (nW + i * per) (mPlus &&& mask) half
        writeBits a (nW + i * per + half) (mMinus &&& mask) half) |> ignore
    let bitBlind = PedersenVector.randomScalar ()
    let bitsPoint = PedersenVector.commitAt nW (Array.sub a nW layout.BitCount) bitBlind
    let bitsPoint = match shift with Some sh -> bitsPoint + PedersenVector.commitAt 0 sh Fp.Zero | None -> bitsPoint
    let bits = Vesta.toAffine bitsPoint
    use t = transcriptFor s commitment bits
    let eps = Transcript.squeezeChallenge t "adapter epsilon"
    let d, k = constraintOf s layout eps
    let lw = match weightLambda t with Some l -> l | None -> invalidOp "adapter proof: zero λ (probability 1/p)"
    let lwInv = lw.Invert()
    for i in 0 .. nW - 1 do
        a[i] <- a[i] * lw
        d[i] <- d[i] * lwInv
    match shift with
    | Some sh -> for i in 0 .. nW - 1 do a[i] <- a[i] + (Fp.One - lw) * sh[i]
    | None -> ()
    let prove = if check then BitConstraintProof.prove else BitConstraintProof.proveUnchecked
    { Bits = bits; Proof = prove t layout a (lw * secret.Blind + bitBlind) d k }

/// Proves that the committed weights are within ±value_bound (once per adapter).
let prove (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) : Result<AdapterRangeProof, string> =
    match checkShape s |> Result.bind (fun () -> checkWeights s secret.A secret.B) with
    | Error e -> Error e
    | Ok() -> Ok(proveWith true None s commitment secret)

/// A cheating prover that skips the weight checks (for tests of the verifier only).
let internal proveUnchecked (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) =
    proveWith false None s commitment secret

/// A cheating prover whose bit commitment also carries `shift` on the weight generators, so
/// that C_W + C_bits would open to (committed weights + shift) ‖ bits (tests only).
let internal proveShifted (shift: Fp[]) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) =
    proveWith false (Some shift) s commitment secret

/// Verifies an adapter proof for a commitment.
let verify (s: AdapterShape) (commitment: VestaAffine) (proof: AdapterRangeProof) : Result<unit, string> =
    match checkShape s with
    | Error e -> Error e
    | Ok() ->
        let layout, _ = layoutOf s
        use t = transcriptFor s commitment proof.Bits
        let eps = Transcript.squeezeChallenge t "adapter epsilon"
        let d, k = constraintOf s layout eps
        match weightLambda t with
        | None -> Error "adapter proof: zero λ"
        | Some lw ->
        let lwInv = lw.Invert()
        for i in 0 .. weightCount s - 1 do d[i] <- d[i] * lwInv
        let p0 = Vesta.ofAffine commitment * lw + Vesta.ofAffine proof.Bits
        BitConstraintProof.verify t layout p0 d k proof.Proof
        |> Result.mapError (fun e -> "adapter proof: " + e)

/// Strict binary encoding.
let encode (p: AdapterRangeProof) : byte[] =
    let w = ProofBytesWriter()
    w.Point p.Bits
    w.Bits p.Proof
    w.ToArray()

/// Strict decoding for a shape (the size is fixed by the shape).
let decode (s: AdapterShape) (bytes: byte[]) : Result<AdapterRangeProof, string> =
    match checkShape s with
    | Error e -> Error e
    | Ok() ->
        let layout, _ = layoutOf s
        let rounds = BitConstraintProof.rounds layout
        decodeWith bytes (fun r ->
            let bits = r.Point()
            { Bits = bits; Proof = r.Bits rounds })
