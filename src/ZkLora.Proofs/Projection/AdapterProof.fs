/// Commit-once adapter weights for the projection backend (docs/projection-protocol.md §3):
/// a hiding Pedersen vector commitment C_W = ⟨w, G[0..nW)⟩ + r_W·h to w = A (rank × in,
/// row-major) ‖ B (out × rank, row-major), made once when the manifest is written, and a
/// one-time proof that every weight is within ±value_bound.
///
/// Range argument (v3, logUp limbs as in the call proof): each weight gives one range item
/// u = w + o of m = vb − 1 bits, o = 2^(m−1) (o = 0 for m = 0), split into 10-bit limbs looked
/// up in [0, 2^10). u ∈ [0, 2^m) is exactly w ∈ R = [−2^(m−1), 2^(m−1) − 1] (the *adapter
/// range*), a subset of ±value_bound = ±(2^m − 1): the proof shows a slightly stronger bound
/// than the contract's, with half the items of the v2 split w = m⁺ − m⁻ (whose two items gave
/// exactly ±value_bound). Weights in ±value_bound but outside R (|w| ≥ 2^(vb−2), i.e. real
/// weights of magnitude ≥ 2^(vb−2−scale_bits) — 2^41 with the default config) are refused at
/// commit with a clear error; the PLONK backend proves them. C_1 commits the multiplicities (G)
/// and the limbs (H), then α, ε are squeezed, C_inv commits 1/(ℓ − α), and one
/// Hadamard-plus-linear proof shows inv·(ℓ − α) = 1, the logUp sum, the shifted top limbs and
/// Σ_i ε^i·(w_i + o − V(u_i)) = 0 (Schwartz–Zippel: a false entry survives with probability
/// ≤ nW/p), on P0 = λ_W·C_W + C_1 + λ_I·C_inv − α·⟨1, H_seg⟩ with λ squeezed after every
/// commitment (segment separation).
/// No wrap: V(u_i) < 2^m ≤ 2^63 and o < 2^62, so w_i ≡ V(u_i) − o is the integer in R (a field
/// element congruent to an integer of magnitude below p/2 is that integer). Zero knowledge:
/// C_W, C_1, C_inv are hiding; the Hadamard proof is zero knowledge; nothing else is sent.
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
let Domain = "zklora/projection-adapter/v3"

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

/// An adapter proof: the limb commitment C_1 (multiplicities on G, limbs on H), the
/// inverse commitment C_inv and the Hadamard-plus-linear proof.
type AdapterRangeProof =
    { Limbs: VestaAffine
      Inverses: VestaAffine
      Proof: HadamardProof }

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
            // the adapter proof's vector (weights, table, one (vb − 1)-bit item per weight), in 64 bits
            let nW = int64 s.Rank * int64 s.InDim + int64 s.OutDim * int64 s.Rank
            let used = nW + int64 LogUp.TableSize + nW * int64 (LogUp.itemEntries (s.Config.ValueBits - 1))
            if used > int64 Policy.maxVectorLength then
                Error(sprintf "adapter proof: %d committed entries exceed the policy's %d" used Policy.maxVectorLength)
            else Ok()

/// The item offset o = 2^(vb−2) (0 when vb = 1): the item of w is w + o, of vb − 1 bits.
let itemOffset (c: FixedPointConfig) =
    if c.ValueBits >= 2 then BigInteger.One <<< (c.ValueBits - 2) else BigInteger.Zero

/// The adapter range [−o, 2^(vb−1) − 1 − o] = [−2^(vb−2), 2^(vb−2) − 1] ({0} for vb = 1) that the
/// adapter proof shows for every weight; inside ±value_bound.
let adapterRange (c: FixedPointConfig) : BigInteger * BigInteger =
    let o = itemOffset c
    -o, (BigInteger.One <<< (c.ValueBits - 1)) - BigInteger.One - o

/// Shapes of A (rank × in) and B (out × rank), and every weight inside the adapter range.
let checkWeights (s: AdapterShape) (a: BigInteger[][]) (b: BigInteger[][]) =
    let lo, hi = adapterRange s.Config
    let shapeOk (m: BigInteger[][]) rows cols = not (isNull m) && m.Length = rows && m |> Array.forall (fun r -> not (isNull r) && r.Length = cols)
    let outside (m: BigInteger[][]) = m |> Array.concat |> Array.tryFind (fun v -> v < lo || v > hi)
    let rangeError name (v: BigInteger) =
        Error(sprintf "adapter: %s has the weight %O, outside the projection backend's adapter range [%O, %O] (= ±2^(value_bits − 2); the contract's ±value_bound is wider): use the PLONK backend for such weights" name v lo hi)
    if not (shapeOk a s.Rank s.InDim) then Error "adapter: A has the wrong shape"
    elif not (shapeOk b s.OutDim s.Rank) then Error "adapter: B has the wrong shape"
    else
        match outside a, outside b with
        | Some v, _ -> rangeError "A" v
        | None, Some v -> rangeError "B" v
        | None, None -> Ok()

/// Commits to (A, B) with a fresh CSPRNG blind. The secret must be kept with the salts.
let commit (generators: PedersenGenerators) (s: AdapterShape) (a: BigInteger[][]) (b: BigInteger[][]) : Result<VestaAffine * AdapterSecret, string> =
    match checkShape s |> Result.bind (fun () -> checkWeights s a b) with
    | Error e -> Error e
    | Ok() ->
        let blind = PedersenVector.randomScalar ()
        let c = PedersenVector.commit generators (weightVector s a b) blind
        Ok(Vesta.toAffine c, { A = a; B = b; Blind = blind })

/// The public layout: weights [0, nW), multiplicities [nW, nW + 2^10), then the limb
/// segment with the items u_i = w_i + o (item i), each of vb − 1 bits.
let private layoutOf (s: AdapterShape) =
    let nW = weightCount s
    let per = LogUp.itemEntries (s.Config.ValueBits - 1)
    let segStart = nW + LogUp.TableSize
    let segCount = nW * per
    { Length = nextPowerOfTwo (segStart + segCount); SegStart = segStart; SegCount = segCount }, per

/// What the transcript absorbs, in order (labels): the statement before the first challenge,
/// then the inverse commitment before β, ψ and the λs.
let internal absorbedParts = [ "in_dim"; "rank"; "out_dim"; "config"; "adapter commitment"; "adapter limbs"; "adapter inverses" ]

let private transcriptWithout (omit: string option) (s: AdapterShape) (commitment: VestaAffine) (limbs: VestaAffine) =
    let t = Transcript.create Domain
    let part label f = if omit <> Some label then f ()
    part "in_dim" (fun () -> absorbInt t "in_dim" s.InDim)
    part "rank" (fun () -> absorbInt t "rank" s.Rank)
    part "out_dim" (fun () -> absorbInt t "out_dim" s.OutDim)
    part "config" (fun () -> absorbConfig t s.Config)
    part "adapter commitment" (fun () -> absorbPoint t "adapter commitment" commitment)
    part "adapter limbs" (fun () -> absorbPoint t "adapter limbs" limbs)
    t

let private transcriptFor = transcriptWithout None

/// d_L, d_R and K before the λ scaling (a_R = ℓ − α on the segment): β⁰ the weight items
/// Σ ε^i·(w_i + o − V(u_i)) = 0 (o moved to K), β¹ the shifted top limbs (ψ^item), β² the logUp sum.
let private constraintOf (s: AdapterShape) (layout: HadamardLayout) (per: int) (alpha: Fp) (eps: Fp) (beta: Fp) (psi: Fp) (tinv: Fp[]) =
    let nW = weightCount s
    let m = s.Config.ValueBits - 1
    let dL = Array.zeroCreate<Fp> layout.Length
    let dR = Array.zeroCreate<Fp> layout.SegCount
    let bp = InnerProductArgument.powers beta 3
    let ep = InnerProductArgument.powers eps nW
    let scales = LogUp.limbScale ((m + LogUp.LimbBits - 1) / LogUp.LimbBits)
    let psiP = InnerProductArgument.powers psi nW
    Threading.Tasks.Parallel.For(0, nW, fun i ->
        dL[i] <- bp[0] * ep[i]
        LogUp.addItem dR scales (bp[1] * psiP[i]) m (i * per) (-(bp[0] * ep[i]))) |> ignore
    for v in 0 .. LogUp.TableSize - 1 do dL[nW + v] <- -(bp[2] * tinv[v])
    for i in 0 .. layout.SegCount - 1 do dL[layout.SegStart + i] <- bp[2]
    let sumDR = Array.fold (+) Fp.Zero dR
    let sumEps = Array.fold (+) Fp.Zero ep
    // ⟨a_L, d_L⟩ + ⟨ℓ, d_R⟩ = −β⁰·o·Σ ε^i, and ℓ = a_R + α on the segment
    dL, dR, -(bp[0] * Fp.OfBigInteger(itemOffset s.Config) * sumEps) - alpha * sumDR

/// The segment weights λ_W (weights) and λ_I (inverses), C_1 weight 1, squeezed after every
/// commitment (docs/projection-protocol.md §3, §4.6).
let private lambdas (t: Transcript) =
    let lw = Transcript.squeezeChallenge t "lambda weights"
    let li = Transcript.squeezeChallenge t "lambda inverses"
    if lw.IsZero || li.IsZero then None else Some(lw, li)

let private scaleOpened (s: AdapterShape) (layout: HadamardLayout) (lw: Fp) (li: Fp) (v: Fp[]) =
    for i in 0 .. weightCount s - 1 do v[i] <- v[i] * lw
    for i in 0 .. layout.SegCount - 1 do v[layout.SegStart + i] <- v[layout.SegStart + i] * li

let private challenges (t: Transcript) =
    let alpha = Transcript.squeezeChallenge t "logup alpha"
    let eps = Transcript.squeezeChallenge t "adapter epsilon"
    alpha, eps

let private proveWith (generators: PedersenGenerators) (omit: string option) (check: bool) (shift: Fp[] option) (edit: BigInteger[] -> unit) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) : AdapterRangeProof =
    let layout, per = layoutOf s
    let nW = weightCount s
    let m = s.Config.ValueBits - 1
    let w = weightVector s secret.A secret.B
    let flat = Array.append (Array.concat secret.A) (Array.concat secret.B)
    // weights outside the adapter range only reach here from tests of a cheating prover:
    // their items are truncated to vb − 1 bits, so the linear relation is false
    let mask = (BigInteger.One <<< m) - BigInteger.One
    let offset = itemOffset s.Config
    let values = Array.init nW (fun i -> (flat[i] + offset) &&& mask)
    edit values
    let bits = Array.create nW m
    let pos = Array.init nW (fun i -> i * per)
    let ell = LogUp.limbsOf bits pos layout.SegCount values
    let mult = LogUp.multiplicities ell
    let g = generators.G.Get layout.Length
    let hg = generators.H.Get layout.Length
    let hPt = Vesta.ofAffine PedersenVector.blindingGenerator
    let blind1 = PedersenVector.randomScalar ()
    let limbsPoint =
        PedersenVector.msm (ReadOnlyMemory(g, nW, LogUp.TableSize)) (ReadOnlyMemory mult)
        + PedersenVector.msm (ReadOnlyMemory(hg, layout.SegStart, layout.SegCount)) (ReadOnlyMemory ell) + hPt * blind1
    let limbsPoint = match shift with Some sh -> limbsPoint + PedersenVector.commitAt generators 0 sh Fp.Zero | None -> limbsPoint
    let limbsA = Vesta.toAffine limbsPoint
    use t = transcriptWithout omit s commitment limbsA
    let alpha, eps = challenges t
    let inv = match LogUp.inverses ell alpha with Some v -> v | None -> invalidOp "adapter proof: α hit a limb (probability ≤ N/p)"
    let blindI = PedersenVector.randomScalar ()
    let invA = Vesta.toAffine (PedersenVector.msm (ReadOnlyMemory(g, layout.SegStart, layout.SegCount)) (ReadOnlyMemory inv) + hPt * blindI)
    if omit <> Some "adapter inverses" then absorbPoint t "adapter inverses" invA
    let beta = Transcript.squeezeChallenge t "beta"
    let psi = Transcript.squeezeChallenge t "psi"
    let tinv = match LogUp.tableInverses alpha with Some v -> v | None -> invalidOp "adapter proof: α is a table value (probability 2^10/p)"
    let dL, dR, k = constraintOf s layout per alpha eps beta psi tinv
    let lw, li = match lambdas t with Some l -> l | None -> invalidOp "adapter proof: zero λ (probability 2/p)"
    let aL = Array.zeroCreate<Fp> layout.Length
    Array.blit w 0 aL 0 nW
    Array.blit mult 0 aL nW LogUp.TableSize
    Array.blit inv 0 aL layout.SegStart layout.SegCount
    scaleOpened s layout lw li aL
    scaleOpened s layout (lw.Invert()) (li.Invert()) dL
    match shift with
    | Some sh -> for i in 0 .. nW - 1 do aL[i] <- aL[i] + (Fp.One - lw) * sh[i] // C_1's part is not scaled by λ_W
    | None -> ()
    let aR = Array.init layout.SegCount (fun i -> ell[i] - alpha)
    let blind = lw * secret.Blind + blind1 + li * blindI
    let prove = if check then HadamardProof.prove generators else HadamardProof.proveUnchecked generators
    { Limbs = limbsA; Inverses = invA; Proof = prove t layout aL aR blind li dL dR k }

/// Proves that the committed weights are within the adapter range (⊂ ±value_bound; once per adapter).
let prove (generators: PedersenGenerators) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) : Result<AdapterRangeProof, string> =
    match checkShape s |> Result.bind (fun () -> checkWeights s secret.A secret.B) with
    | Error e -> Error e
    | Ok() -> Ok(proveWith generators None true None ignore s commitment secret)

/// A cheating prover that skips the weight checks (for tests of the verifier only).
let internal proveUnchecked (generators: PedersenGenerators) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) =
    proveWith generators None false None ignore s commitment secret

/// A cheating prover whose limb commitment also carries `shift` on the weight generators, so
/// that C_W + C_1 would open to (committed weights + shift) (tests only).
let internal proveShifted (generators: PedersenGenerators) (shift: Fp[]) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) =
    proveWith generators None false (Some shift) ignore s commitment secret

/// A cheating prover that edits the items (u_i = w_i + o at i) before the limbs are formed; an
/// item outside [0, 2^(vb−1)) becomes one field element in its first limb (tests only).
let internal proveWithItems (generators: PedersenGenerators) (edit: BigInteger[] -> unit) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) =
    proveWith generators None false None edit s commitment secret

/// An otherwise honest prover whose transcript skips one absorbed part (tests only: shows the
/// verifier's challenges depend on every part).
let internal proveOmitting (generators: PedersenGenerators) (part: string) (s: AdapterShape) (commitment: VestaAffine) (secret: AdapterSecret) =
    if not (List.contains part absorbedParts) then invalidArg (nameof part) part
    proveWith generators (Some part) true None ignore s commitment secret

/// Runs every check of an adapter proof except its final multi-scalar multiplication, returned as
/// a DeferredCheck that must be the identity (so a batch can share one MSM: `verifyMany`).
let verifyDeferred (s: AdapterShape) (commitment: VestaAffine) (proof: AdapterRangeProof) : Result<DeferredCheck, string> =
    match checkShape s with
    | Error e -> Error e
    | Ok() ->
        let layout, per = layoutOf s
        use t = transcriptFor s commitment proof.Limbs
        let alpha, eps = challenges t
        absorbPoint t "adapter inverses" proof.Inverses
        let beta = Transcript.squeezeChallenge t "beta"
        let psi = Transcript.squeezeChallenge t "psi"
        match LogUp.tableInverses alpha with
        | None -> Error "adapter proof: α is a table value"
        | Some tinv ->
        let dL, dR, k = constraintOf s layout per alpha eps beta psi tinv
        match lambdas t with
        | None -> Error "adapter proof: zero λ"
        | Some(lw, li) ->
        scaleOpened s layout (lw.Invert()) (li.Invert()) dL
        let p0 = Vesta.ofAffine commitment * lw + Vesta.ofAffine proof.Limbs + Vesta.ofAffine proof.Inverses * li
        match HadamardProof.verifyDeferred t layout p0 li dL dR k proof.Proof with
        | Error e -> Error("adapter proof: " + e)
        | Ok chk ->
            let hs = chk.HScalars
            for i in 0 .. layout.SegCount - 1 do hs[layout.SegStart + i] <- hs[layout.SegStart + i] - alpha
            Ok chk

/// Verifies an adapter proof for a commitment.
let verify (generators: PedersenGenerators) (s: AdapterShape) (commitment: VestaAffine) (proof: AdapterRangeProof) : Result<unit, string> =
    verifyDeferred s commitment proof
    |> Result.bind (fun chk -> if DeferredCheck.isIdentity generators chk then Ok() else Error "adapter proof: the final inner-product check failed")

/// Verifies several adapter proofs with one shared final MSM: each proof's deferred check is
/// multiplied by an independent uniform CSPRNG weight drawn after all proofs are fixed and the
/// checks are added (DeferredCheck.combine); a batch with a false member passes with probability
/// ≤ 1/p. Error names the first member whose own checks fail; a failing shared check does not
/// name a member (re-verify one by one for that).
let verifyMany (generators: PedersenGenerators) (items: (AdapterShape * VestaAffine * AdapterRangeProof)[]) : Result<unit, string> =
    if isNull items then Ok()
    else DeferredCheck.verifyAll generators "adapter proof" items.Length (fun i -> let s, c, p = items[i] in verifyDeferred s c p)

/// Strict binary encoding.
let encode (p: AdapterRangeProof) : byte[] =
    let w = ProofBytesWriter()
    w.Point p.Limbs
    w.Point p.Inverses
    w.Hadamard p.Proof
    w.ToArray()

/// Strict decoding for a shape (the size is fixed by the shape).
let decode (s: AdapterShape) (bytes: byte[]) : Result<AdapterRangeProof, string> =
    match checkShape s with
    | Error e -> Error e
    | Ok() ->
        let layout, _ = layoutOf s
        let rounds = HadamardProof.rounds layout
        decodeWith bytes (fun r ->
            let limbs = r.Point()
            let inv = r.Point()
            { Limbs = limbs; Inverses = inv; Proof = r.Hadamard rounds })
