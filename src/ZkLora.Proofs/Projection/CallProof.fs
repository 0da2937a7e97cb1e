/// The per-call proof of the projection backend (docs/projection-protocol.md §4): one
/// proof for all T rows of a module call against the committed adapter C_W, checking the
/// three contract identities by random projections, with every intermediate range-checked
/// by a logUp lookup of its 10-bit limbs and nothing that depends on A, B or the
/// intermediates in the clear.
///
/// Vector layout (positions on G, and on H for the limb segment): [0, nW) weights (C_W);
/// [mOff, mOff + 2^10) multiplicities m_v (C_1); p (rank), q (rank), c (1) (P, Q, V); then
/// the limb segment: limbs ℓ_i on H (C_1), their inverses 1/(ℓ_i − α) on G (C_inv) — per
/// (t, j) the limbs of h + 2^(ib−s), e1, raw⁺, raw⁻; per (t, k) of r − r_lo; per clipped
/// (t, k) of r_hi − r — then zero padding to a power of two. One Hadamard-plus-linear proof
/// opens P0 = λ_W·C_W + C_1 + λ_P·P + λ_Q·Q + λ_V·V + λ_I·C_inv − α·⟨1, H_seg⟩
/// (λ squeezed last: segment separation).
module ZkLora.Proofs.Projection.CallProof

open System
open System.Numerics
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Commitment
open ZkLora.Math.Transcript
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Projection.ProjectionCommon
open ZkLora.Proofs.Projection.AdapterProof

/// Domain of the call-proof transcript (v2: logUp limbs instead of committed bits).
[<Literal>]
let Domain = "zklora/projection-call/v2"

/// Bits per limb; the lookup table is [0, 2^LimbBits) (ProjectionCommon.LogUp).
[<Literal>]
let LimbBits = LogUp.LimbBits

/// Entries of the lookup table.
let TableSize = LogUp.TableSize

/// The public statement of one proof: T rows of one module call.
type CallStatement =
    { /// The statement digest the proof is bound to (32 bytes).
      Digest: byte[]
      Shape: AdapterShape
      Num: BigInteger
      Den: BigInteger
      /// T × in_dim inputs.
      X: BigInteger[][]
      /// T × out_dim outputs.
      Delta: BigInteger[][]
      /// The adapter commitment C_W.
      Adapter: VestaAffine }

/// A per-call proof.
type CallProof =
    { /// C_1: multiplicities on G[mOff, …), limbs on H_seg.
      Limbs: VestaAffine
      /// C_inv: the limbs' inverses 1/(ℓ_i − α) on G_seg.
      Inverses: VestaAffine
      P: VestaAffine
      Q: VestaAffine
      V: VestaAffine
      Product: ProductProof
      Constraint: HadamardProof }

let internal itemEntries (m: int) = LogUp.itemEntries m

/// The public layout derived from a statement (checked by the verifier first).
type internal Layout =
    { T: int
      NW: int
      MH: int
      S: int
      MR: int
      NOut: int
      Lo: BigInteger[]
      Hi: BigInteger[]
      Clipped: int[]
      /// Per range item: its bit width and its first entry in the limb segment. Items:
      /// 4·e + kind for (t, j) = (e / rank, e % rank), kind 0 = h + 2^(ib−s), 1 = e1,
      /// 2 = raw⁺, 3 = raw⁻; then InItems + e for outputs; then InItems + OutItems + ci
      /// for clipped outputs.
      ItemBits: int[]
      ItemPos: int[]
      InItems: int
      OutItems: int
      MOff: int
      POff: int
      QOff: int
      COff: int
      Vector: HadamardLayout }

/// Item index of kind (0 h, 1 e1, 2 raw⁺, 3 raw⁻) of the e-th (t, j).
let internal inItem (e: int) (kind: int) = 4 * e + kind
/// Item index of the e-th output's lower remainder.
let internal outItem (l: Layout) (e: int) = l.InItems + e
/// Item index of the ci-th clipped output's upper remainder.
let internal clipItem (l: Layout) (ci: int) = l.InItems + l.OutItems + ci

let private checkStatement (st: CallStatement) : Result<Layout, string> =
    let s = st.Shape
    let cfg = s.Config
    let checks =
        [ (fun () -> Policy.checkConfig cfg)
          (fun () -> Policy.checkShape s.InDim s.Rank s.OutDim)
          (fun () -> Policy.checkScaling st.Num st.Den)
          (fun () -> if isNull st.Digest || st.Digest.Length <> 32 then Error "statement digest must be 32 bytes" else Ok())
          (fun () ->
              if isNull st.X || isNull st.Delta || st.X.Length < 1 || st.X.Length > Policy.maxRows || st.Delta.Length <> st.X.Length then
                  Error(sprintf "rows: x and delta must have the same number of rows in 1..%d" Policy.maxRows)
              else Ok())
          (fun () ->
              let vb = valueBound cfg
              let bad (m: BigInteger[][]) cols = m |> Array.exists (fun r -> isNull r || r.Length <> cols || r |> Array.exists (fun v -> BigInteger.Abs v > vb))
              if bad st.X s.InDim then Error "x: wrong shape or a value outside ±value_bound"
              elif bad st.Delta s.OutDim then Error "delta: wrong shape or a value outside ±value_bound"
              else Ok()) ]
    match checks |> List.tryPick (fun c -> match c () with Error e -> Some e | Ok() -> None) with
    | Some e -> Error e
    | None ->
        let t = st.X.Length
        let sb, ib = cfg.ScaleBits, cfg.IntermediateBits
        let nOut = outputBits cfg st.Num st.Den
        let lo = Array.zeroCreate<BigInteger> (t * s.OutDim)
        let hi = Array.zeroCreate<BigInteger> (t * s.OutDim)
        let mutable empty = None
        for r in 0 .. t - 1 do
            for k in 0 .. s.OutDim - 1 do
                match outputInterval cfg st.Num st.Den (st.Delta[r][k]) with
                | None -> if empty.IsNone then empty <- Some(r, k)
                | Some(l, h) ->
                    lo[r * s.OutDim + k] <- l
                    hi[r * s.OutDim + k] <- h
        match empty with
        | Some(r, k) -> Error(sprintf "delta[%d][%d] = %O is not an output of the contract for this scaling and config" r k (st.Delta[r][k]))
        | None ->
            let full = (BigInteger.One <<< nOut) - BigInteger.One
            let clipped = [| for e in 0 .. lo.Length - 1 do if hi[e] - lo[e] <> full then e |]
            let mh = ib - sb + 1
            let mr = ib - 1
            let perIn = itemEntries mh + itemEntries sb + 2 * itemEntries mr
            let perOut = itemEntries nOut
            // sizes in 64 bits first: the policy's dimensions could overflow 32-bit offsets
            let nW64 = int64 s.Rank * int64 s.InDim + int64 s.OutDim * int64 s.Rank
            let seg64 = int64 t * int64 s.Rank * int64 perIn + int64 t * int64 s.OutDim * int64 perOut + int64 clipped.Length * int64 perOut
            let used = nW64 + int64 TableSize + 2L * int64 s.Rank + 1L + seg64
            if used > int64 Policy.maxVectorLength then Error(sprintf "call proof: %d committed entries exceed the policy's %d" used Policy.maxVectorLength)
            else
                let nW = weightCount s
                let inItems = 4 * t * s.Rank
                let outItems = t * s.OutDim
                let items = inItems + outItems + clipped.Length
                let bits = Array.zeroCreate<int> items
                let pos = Array.zeroCreate<int> items
                let mutable p = 0
                let kindBits = [| mh; sb; mr; mr |]
                for i in 0 .. items - 1 do
                    let m = if i < inItems then kindBits[i % 4] else nOut
                    bits[i] <- m
                    pos[i] <- p
                    p <- p + itemEntries m
                let mOff = nW
                let pOff = mOff + TableSize
                let segStart = pOff + 2 * s.Rank + 1
                Ok { T = t; NW = nW; MH = mh; S = sb; MR = mr; NOut = nOut
                     Lo = lo; Hi = hi; Clipped = clipped
                     ItemBits = bits; ItemPos = pos; InItems = inItems; OutItems = outItems
                     MOff = mOff; POff = pOff; QOff = pOff + s.Rank; COff = pOff + 2 * s.Rank
                     Vector = { Length = nextPowerOfTwo (segStart + p); SegStart = segStart; SegCount = p } }

/// The committed vector's length before the power-of-two padding, in the worst case for a
/// statement of this shape, config, scaling and row count (every output clipped: two output
/// items), in 64 bits: the layout of `checkStatement` with clipped = all outputs. Used to plan
/// memory before any value is known; the actual length is at most this.
let maxVectorEntries (s: AdapterShape) (num: BigInteger) (den: BigInteger) (rows: int64) : int64 =
    let cfg = s.Config
    let perIn = itemEntries (cfg.IntermediateBits - cfg.ScaleBits + 1) + itemEntries cfg.ScaleBits + 2 * itemEntries (cfg.IntermediateBits - 1)
    let perOut = itemEntries (outputBits cfg num den)
    let nW = int64 s.Rank * int64 s.InDim + int64 s.OutDim * int64 s.Rank
    nW + int64 TableSize + 2L * int64 s.Rank + 1L + rows * int64 s.Rank * int64 perIn + 2L * rows * int64 s.OutDim * int64 perOut

/// The statement parts absorbed before the first challenge, in order (labels).
let internal absorbedParts =
    [ "statement digest"; "in_dim"; "rank"; "out_dim"; "rows"; "config"; "num"; "den"; "x"; "delta"; "adapter commitment"; "limb commitment" ]

let private transcriptWithout (omit: string option) (st: CallStatement) (limbs: VestaAffine) =
    let t = Transcript.create Domain
    let part label f = if omit <> Some label then f ()
    part "statement digest" (fun () -> Transcript.absorbBytes t "statement digest" st.Digest)
    part "in_dim" (fun () -> absorbInt t "in_dim" st.Shape.InDim)
    part "rank" (fun () -> absorbInt t "rank" st.Shape.Rank)
    part "out_dim" (fun () -> absorbInt t "out_dim" st.Shape.OutDim)
    part "rows" (fun () -> absorbInt t "rows" st.X.Length)
    part "config" (fun () -> absorbConfig t st.Shape.Config)
    part "num" (fun () -> absorbInteger t "num" st.Num)
    part "den" (fun () -> absorbInteger t "den" st.Den)
    part "x" (fun () -> absorbMatrix t "x" st.X)
    part "delta" (fun () -> absorbMatrix t "delta" st.Delta)
    part "adapter commitment" (fun () -> absorbPoint t "adapter commitment" st.Adapter)
    part "limb commitment" (fun () -> absorbPoint t "limb commitment" limbs)
    t

let private transcriptFor (st: CallStatement) (limbs: VestaAffine) = transcriptWithout None st limbs

/// The projection challenges and the logUp point α, squeezed after C_1.
type private Projections = { Rho: Fp[]; Sigma: Fp[]; Tau: Fp[]; Alpha: Fp }

let private projections (t: Transcript) (st: CallStatement) =
    let rho = Transcript.squeezeChallenge t "rho"
    let sigma = Transcript.squeezeChallenge t "sigma"
    let tau = Transcript.squeezeChallenge t "tau"
    let alpha = Transcript.squeezeChallenge t "logup alpha"
    { Rho = InnerProductArgument.powers rho st.X.Length
      Sigma = InnerProductArgument.powers sigma st.Shape.Rank
      Tau = InnerProductArgument.powers tau st.Shape.OutDim
      Alpha = alpha }

let private absorbPhase2 (t: Transcript) (inv: VestaAffine) (p: VestaAffine) (q: VestaAffine) (v: VestaAffine) =
    absorbPoint t "inverse commitment" inv
    absorbPoint t "p commitment" p
    absorbPoint t "q commitment" q
    absorbPoint t "c commitment" v

let private tableInverses (alpha: Fp) = LogUp.tableInverses alpha

/// The combined linear relation ⟨a_L, d_L⟩ + ⟨a_R, d_R⟩ = K (docs/projection-protocol.md
/// §4.4) before the λ scaling, with a_R = ℓ − α on the limb segment.
let private linearConstraint (st: CallStatement) (l: Layout) (pr: Projections) (tinv: Fp[]) (gamma: Fp) (beta: Fp) (psi: Fp)
                             : Fp[] * Fp[] * Fp =
    let s = st.Shape
    let cfg = s.Config
    let n = l.Vector.Length
    let s0 = l.Vector.SegStart
    let dL = Array.zeroCreate<Fp> n
    let dR = Array.zeroCreate<Fp> l.Vector.SegCount
    let bp = InnerProductArgument.powers beta 8
    let gp = InnerProductArgument.powers gamma s.Rank
    let limbScale = InnerProductArgument.powers (Fp.OfUInt64(uint64 TableSize)) (l.ItemBits |> Array.fold max 1 |> fun m -> (m + LimbBits - 1) / LimbBits + 1)
    let twoS = Fp.OfBigInteger(scale cfg)
    let hOff = Fp.OfBigInteger(BigInteger.One <<< (cfg.IntermediateBits - cfg.ScaleBits))
    let half = Fp.OfBigInteger(if cfg.ScaleBits = 0 then BigInteger.Zero else scale cfg / BigInteger 2)
    let sumRho = Array.fold (+) Fp.Zero pr.Rho
    let sumSigma = Array.fold (+) Fp.Zero pr.Sigma
    let sumGamma = Array.fold (+) Fp.Zero gp
    let items = l.ItemBits.Length
    let psiP = InnerProductArgument.powers psi items
    // an item's value v = Σ_k 2^(bk)·ℓ_k enters with coefficient c; its partial top limb's
    // shifted copy must equal 2^(b − rem)·top (family β⁶, weighted by ψ^item)
    let addItem (item: int) (c: Fp) =
        let m = l.ItemBits[item]
        if m > 0 then
            let p = l.ItemPos[item]
            let full = (m + LimbBits - 1) / LimbBits
            for k in 0 .. full - 1 do dR[p + k] <- dR[p + k] + c * limbScale[k]
            let rem = m % LimbBits
            if rem <> 0 then
                let sc = bp[6] * psiP[item]
                dR[p + full] <- dR[p + full] + sc
                dR[p + full - 1] <- dR[p + full - 1] - sc * Fp.OfUInt64(1UL <<< (LimbBits - rem))
    // I1 on A: σ^j·Σ_t ρ^t·x_ti
    let xu = Array.init s.InDim (fun i ->
        let mutable acc = Fp.Zero
        for r in 0 .. l.T - 1 do acc <- acc + pr.Rho[r] * Fp.OfBigInteger(st.X[r][i])
        acc)
    for j in 0 .. s.Rank - 1 do
        for i in 0 .. s.InDim - 1 do dL[j * s.InDim + i] <- bp[0] * pr.Sigma[j] * xu[i]
    // I6 on B: −β⁵·γ^j·τ^k
    let bOff = s.Rank * s.InDim
    for k in 0 .. s.OutDim - 1 do
        for j in 0 .. s.Rank - 1 do dL[bOff + k * s.Rank + j] <- -(bp[5] * gp[j] * pr.Tau[k])
    // per (t, j): I1 (β⁰), I2 (β¹), I5 (β⁴) — items of one (t, j) occupy disjoint entries
    Parallel.For(0, l.T * s.Rank, fun e ->
        let r, j = e / s.Rank, e % s.Rank
        let c = pr.Rho[r] * pr.Sigma[j]
        addItem (inItem e 0) (-(bp[0] * twoS * c) + bp[1] * twoS * c - bp[4] * gp[j] * pr.Rho[r])
        addItem (inItem e 1) (-(bp[0] * c) + bp[1] * c)
        addItem (inItem e 2) (-(bp[1] * c))
        addItem (inItem e 3) (bp[1] * c)) |> ignore
    // per (t, k): I3 (β²) and, when clipped, I4 (β³)
    let clippedIndex = Collections.Generic.Dictionary<int, int>()
    l.Clipped |> Array.iteri (fun i e -> clippedIndex[e] <- i)
    let outCoeff = Array.init (l.T * s.OutDim) (fun e -> pr.Rho[e / s.OutDim] * pr.Tau[e % s.OutDim])
    let mutable k3 = Fp.Zero
    let mutable k4 = Fp.Zero
    for e in 0 .. outCoeff.Length - 1 do
        k3 <- k3 + outCoeff[e] * Fp.OfBigInteger(l.Lo[e])
    for ci in 0 .. l.Clipped.Length - 1 do
        let e = l.Clipped[ci]
        k4 <- k4 + outCoeff[e] * Fp.OfBigInteger(l.Hi[e] - l.Lo[e])
    Parallel.For(0, outCoeff.Length, fun e ->
        let mutable ci = 0
        let clipped = clippedIndex.TryGetValue(e, &ci)
        addItem (outItem l e) (-(bp[2] * outCoeff[e]) + (if clipped then bp[3] * outCoeff[e] else Fp.Zero))
        if clipped then addItem (clipItem l ci) (bp[3] * outCoeff[e])) |> ignore
    // p (I5), q (I6), c (I3)
    for j in 0 .. s.Rank - 1 do
        dL[l.POff + j] <- bp[4] * gp[j]
        dL[l.QOff + j] <- bp[5] * gp[j]
    dL[l.COff] <- bp[2]
    // logUp (β⁷): Σ_i 1/(ℓ_i − α) − Σ_v m_v/(v − α) = 0
    for v in 0 .. TableSize - 1 do dL[l.MOff + v] <- -(bp[7] * tinv[v])
    for i in 0 .. l.Vector.SegCount - 1 do dL[s0 + i] <- bp[7]
    let cIn = sumRho * sumSigma
    let k0 = -((half + twoS * hOff) * cIn)
    let k1 = (twoS * hOff + half) * cIn
    let k5 = -(hOff * sumGamma * sumRho)
    let kTotal = bp[0] * k0 + bp[1] * k1 + bp[2] * k3 + bp[3] * k4 + bp[4] * k5
    // the limbs enter as a_R = ℓ − α: Σ dR·ℓ = ⟨a_R, dR⟩ + α·Σ dR
    let sumDR = Array.fold (+) Fp.Zero dR
    dL, dR, kTotal - pr.Alpha * sumDR

/// Segment weights λ_W, λ_P, λ_Q, λ_V, λ_I (C_1 has weight 1), squeezed after every
/// commitment (docs/projection-protocol.md §4.6, "segment separation").
let private segmentWeights (t: Transcript) : Fp[] option =
    let ls = Array.init 5 (fun i -> Transcript.squeezeChallenge t (sprintf "lambda %d" i))
    if ls |> Array.exists (fun v -> v.IsZero) then None else Some ls

/// Multiplies the G-side segments of v by f(λ_segment) (weights, p, q, c, inverses).
let private scaleSegments (l: Layout) (rank: int) (ls: Fp[]) (f: Fp -> Fp) (v: Fp[]) =
    let fw, fp, fq, fc, fi = f ls[0], f ls[1], f ls[2], f ls[3], f ls[4]
    for i in 0 .. l.NW - 1 do v[i] <- v[i] * fw
    for j in 0 .. rank - 1 do
        v[l.POff + j] <- v[l.POff + j] * fp
        v[l.QOff + j] <- v[l.QOff + j] * fq
    v[l.COff] <- v[l.COff] * fc
    let s0 = l.Vector.SegStart
    Parallel.For(0, l.Vector.SegCount, fun i -> v[s0 + i] <- v[s0 + i] * fi) |> ignore

let private gensOf (generators: PedersenGenerators) (l: Layout) (rank: int) =
    let g = generators.G.Get l.Vector.Length
    Array.sub g l.POff rank, Array.sub g l.QOff rank, g[l.COff]

/// The range items' values of a call, from the exact contract (layout order).
let private witness (st: CallStatement) (l: Layout) (secret: AdapterSecret) : Result<BigInteger[], string> =
    let s = st.Shape
    let cfg = s.Config
    let sc = scale cfg
    let half = if cfg.ScaleBits = 0 then BigInteger.Zero else sc / BigInteger 2
    let hOff = BigInteger.One <<< (cfg.IntermediateBits - cfg.ScaleBits)
    match deltaRows cfg secret.A secret.B st.X st.Num st.Den with
    | Error e -> Error("the contract fails on this call: " + e)
    | Ok delta ->
    let mismatch =
        seq { for r in 0 .. l.T - 1 do for k in 0 .. s.OutDim - 1 do if delta[r][k] <> st.Delta[r][k] then yield (r, k) } |> Seq.tryHead
    match mismatch with
    | Some(r, k) -> Error(sprintf "delta[%d][%d] is %O, the contract gives %O" r k (st.Delta[r][k]) (delta[r][k]))
    | None ->
    let values = Array.zeroCreate<BigInteger> l.ItemBits.Length
    let h = Array.init l.T (fun _ -> Array.zeroCreate<BigInteger> s.Rank)
    Parallel.For(0, l.T * s.Rank, fun e ->
        let r, j = e / s.Rank, e % s.Rank
        let mutable raw = BigInteger.Zero
        for i in 0 .. s.InDim - 1 do raw <- raw + secret.A[j][i] * st.X[r][i]
        let hv = divRound raw sc
        h[r][j] <- hv
        values[inItem e 0] <- hv + hOff
        values[inItem e 1] <- raw + half - sc * hv
        values[inItem e 2] <- BigInteger.Max(raw, BigInteger.Zero)
        values[inItem e 3] <- BigInteger.Max(-raw, BigInteger.Zero)) |> ignore
    let clippedIndex = Collections.Generic.Dictionary<int, int>()
    l.Clipped |> Array.iteri (fun i e -> clippedIndex[e] <- i)
    Parallel.For(0, l.T * s.OutDim, fun e ->
        let r, k = e / s.OutDim, e % s.OutDim
        let mutable rv = BigInteger.Zero
        for j in 0 .. s.Rank - 1 do rv <- rv + secret.B[k][j] * h[r][j]
        values[outItem l e] <- rv - l.Lo[e]
        let mutable ci = 0
        if clippedIndex.TryGetValue(e, &ci) then values[clipItem l ci] <- l.Hi[e] - rv) |> ignore
    Ok values

let private limbsOf (l: Layout) (values: BigInteger[]) = LogUp.limbsOf l.ItemBits l.ItemPos l.Vector.SegCount values

let private multiplicities (ell: Fp[]) = LogUp.multiplicities ell

/// What a cheating prover (tests only) changes: the transcript parts it leaves out, its
/// committed p, q, c after the projections, and its limbs, multiplicities and inverses.
type internal Cheat =
    { Omit: string option
      Phase2: Fp[] -> Fp[] -> Fp -> Fp[] * Fp[] * Fp
      /// Added to C_1 on the weight generators: the opened weights then claim to be
      /// (adapter weights + shift) — the cross-segment forgery λ_W defeats.
      WeightShift: Fp[] option
      /// Edits the limb segment (multiplicities are then counted from the edited limbs).
      Limbs: Fp[] -> unit
      /// Edits the multiplicities after counting.
      Mult: Fp[] -> unit
      /// Edits the inverses 1/(ℓ − α) after computing them.
      Inv: Fp[] -> unit }

let internal honest =
    { Omit = None; Phase2 = (fun p q c -> p, q, c); WeightShift = None; Limbs = ignore; Mult = ignore; Inv = ignore }

let private proveCore (generators: PedersenGenerators) (check: bool) (cheat: Cheat) (st: CallStatement) (l: Layout) (secret: AdapterSecret) (values: BigInteger[]) : CallProof =
    let s = st.Shape
    let cfg = s.Config
    let n = l.Vector.Length
    let s0, segCount = l.Vector.SegStart, l.Vector.SegCount
    let ell = limbsOf l values
    cheat.Limbs ell
    let mult = multiplicities ell
    cheat.Mult mult
    // C_1 = ⟨m, G_m⟩ + ⟨ℓ, H_seg⟩ + r_1·h: small scalars (the MSM shapes its windows to them)
    let blind1 = PedersenVector.randomScalar ()
    let g = generators.G.Get n
    let hg = generators.H.Get n
    let hPt = Vesta.ofAffine PedersenVector.blindingGenerator
    let limbsPoint =
        let honestPart =
            PedersenVector.msm (ReadOnlyMemory(g, l.MOff, TableSize)) (ReadOnlyMemory mult)
            + PedersenVector.msm (ReadOnlyMemory(hg, s0, segCount)) (ReadOnlyMemory ell) + hPt * blind1
        match cheat.WeightShift with
        | None -> honestPart
        | Some shift -> honestPart + PedersenVector.commitAt generators 0 shift Fp.Zero
    let limbsA = Vesta.toAffine limbsPoint
    use t = transcriptWithout cheat.Omit st limbsA
    let pr = projections t st
    // inverses 1/(ℓ_i − α)
    let inv = Array.zeroCreate<Fp> segCount
    Parallel.For(0, segCount, fun i -> inv[i] <- ell[i] - pr.Alpha) |> ignore
    if inv |> Array.exists (fun v -> v.IsZero) then invalidOp "call proof: α hit a limb (probability ≤ #limbs/p)"
    Fp.BatchInvert(Span inv)
    cheat.Inv inv
    let blindI = PedersenVector.randomScalar ()
    let invA = Vesta.toAffine (PedersenVector.msm (ReadOnlyMemory(g, s0, segCount)) (ReadOnlyMemory inv) + hPt * blindI)
    // p_j = Σ_t ρ^t·h_tj (h from its item), q_j = Σ_k τ^k·B_kj, c = ⟨p, q⟩
    let hOff = BigInteger.One <<< (cfg.IntermediateBits - cfg.ScaleBits)
    let p = Array.init s.Rank (fun j ->
        let mutable acc = Fp.Zero
        for r in 0 .. l.T - 1 do acc <- acc + pr.Rho[r] * Fp.OfBigInteger(values[inItem (r * s.Rank + j) 0] - hOff)
        acc)
    let q = Array.init s.Rank (fun j ->
        let mutable acc = Fp.Zero
        for k in 0 .. s.OutDim - 1 do acc <- acc + pr.Tau[k] * Fp.OfBigInteger(secret.B[k][j])
        acc)
    let c = Array.fold2 (fun acc x y -> acc + x * y) Fp.Zero p q
    let p, q, c = cheat.Phase2 p q c
    let gp, gq, gc = gensOf generators l s.Rank
    let rhoP, rhoQ, gamma = PedersenVector.randomScalar (), PedersenVector.randomScalar (), PedersenVector.randomScalar ()
    let pC = PedersenVector.msm (ReadOnlyMemory gp) (ReadOnlyMemory p) + hPt * rhoP
    let qC = PedersenVector.msm (ReadOnlyMemory gq) (ReadOnlyMemory q) + hPt * rhoQ
    let vC = Vesta.ofAffine gc * c + hPt * gamma
    let pA, qA, vA = Vesta.toAffine pC, Vesta.toAffine qC, Vesta.toAffine vC
    absorbPhase2 t invA pA qA vA
    let product =
        if check then ProductArgument.prove t gp gq gc p rhoP q rhoQ c gamma
        else ProductArgument.proveUnchecked t gp gq gc p rhoP q rhoQ c gamma
    let gammaC = Transcript.squeezeChallenge t "gamma"
    let betaC = Transcript.squeezeChallenge t "beta"
    let psiC = Transcript.squeezeChallenge t "psi"
    let tinv =
        match tableInverses pr.Alpha with
        | Some v -> v
        | None -> invalidOp "call proof: α is a table value (probability 2^10/p)"
    let dL, dR, k = linearConstraint st l pr tinv gammaC betaC psiC
    let ls =
        match segmentWeights t with
        | Some ls -> ls
        | None -> invalidOp "call proof: zero segment weight (probability 5/p)"
    // a_L = (λ_W·w ‖ m ‖ λ_P·p ‖ λ_Q·q ‖ λ_V·c ‖ λ_I·inv), a_R = ℓ − α on the segment
    let aL = Array.zeroCreate<Fp> n
    Array.blit (weightVector s secret.A secret.B) 0 aL 0 l.NW
    Array.blit mult 0 aL l.MOff TableSize
    Array.blit p 0 aL l.POff s.Rank
    Array.blit q 0 aL l.QOff s.Rank
    aL[l.COff] <- c
    Array.blit inv 0 aL s0 segCount
    scaleSegments l s.Rank ls id aL
    scaleSegments l s.Rank ls (fun v -> v.Invert()) dL
    match cheat.WeightShift with
    | Some shift ->
        // what C_1 contributes on the weight generators is not scaled by λ_W
        for i in 0 .. l.NW - 1 do aL[i] <- aL[i] + (Fp.One - ls[0]) * shift[i]
    | None -> ()
    let aR = Array.zeroCreate<Fp> segCount
    Parallel.For(0, segCount, fun i -> aR[i] <- ell[i] - pr.Alpha) |> ignore
    let alpha = ls[0] * secret.Blind + blind1 + ls[1] * rhoP + ls[2] * rhoQ + ls[3] * gamma + ls[4] * blindI
    let cproof =
        if check then HadamardProof.prove generators t l.Vector aL aR alpha ls[4] dL dR k
        else HadamardProof.proveUnchecked generators t l.Vector aL aR alpha ls[4] dL dR k
    { Limbs = limbsA; Inverses = invA; P = pA; Q = qA; V = vA; Product = product; Constraint = cproof }

/// Proves a call: checks the statement as the verifier will, recomputes every
/// intermediate with the exact contract (Error if the recorded δ differs) and proves.
let prove (generators: PedersenGenerators) (st: CallStatement) (secret: AdapterSecret) : Result<CallProof, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        match witness st l secret with
        | Error e -> Error e
        | Ok values -> Ok(proveCore generators true honest st l secret values)

/// A cheating prover for tests: runs the protocol on given (possibly false) item values
/// without any check.
let internal proveWithValues (generators: PedersenGenerators) (cheat: Cheat) (st: CallStatement) (secret: AdapterSecret) (edit: BigInteger[] -> unit) : Result<CallProof, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        let values =
            match witness st l secret with
            | Ok v -> v
            | Error _ ->
                // a false statement: start from the honest intermediates of the contract's δ
                let honestSt = { st with Delta = (deltaRows st.Shape.Config secret.A secret.B st.X st.Num st.Den |> function Ok d -> d | Error e -> failwith e) }
                match checkStatement honestSt with
                | Error e -> failwith e
                | Ok lh ->
                    if lh.Vector <> l.Vector then failwith "the false statement has another layout"
                    match witness honestSt lh secret with
                    | Ok v -> v
                    | Error e -> failwith e
        edit values
        Ok(proveCore generators false cheat st l secret values)

/// The layout facts a test needs to edit a witness.
let internal layoutOf (st: CallStatement) = checkStatement st

/// Verifies a proof up to its final multi-scalar multiplication (returned deferred).
let private verifyDeferred (generators: PedersenGenerators) (st: CallStatement) (proof: CallProof) : Result<DeferredCheck, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        let s = st.Shape
        use t = transcriptFor st proof.Limbs
        let pr = projections t st
        absorbPhase2 t proof.Inverses proof.P proof.Q proof.V
        let gp, gq, gc = gensOf generators l s.Rank
        match ProductArgument.verify t gp gq gc (Vesta.ofAffine proof.P) (Vesta.ofAffine proof.Q) (Vesta.ofAffine proof.V) proof.Product with
        | Error e -> Error("call proof: " + e)
        | Ok() ->
            let gammaC = Transcript.squeezeChallenge t "gamma"
            let betaC = Transcript.squeezeChallenge t "beta"
            let psiC = Transcript.squeezeChallenge t "psi"
            match tableInverses pr.Alpha with
            | None -> Error "call proof: α is a table value"
            | Some tinv ->
            let dL, dR, k = linearConstraint st l pr tinv gammaC betaC psiC
            match segmentWeights t with
            | None -> Error "call proof: zero segment weight"
            | Some ls ->
            scaleSegments l s.Rank ls (fun v -> v.Invert()) dL
            let p0 =
                Vesta.ofAffine st.Adapter * ls[0] + Vesta.ofAffine proof.Limbs + Vesta.ofAffine proof.P * ls[1]
                + Vesta.ofAffine proof.Q * ls[2] + Vesta.ofAffine proof.V * ls[3] + Vesta.ofAffine proof.Inverses * ls[4]
            match HadamardProof.verifyDeferred t l.Vector p0 ls[4] dL dR k proof.Constraint with
            | Error e -> Error("call proof: " + e)
            | Ok chk ->
                // P0 also holds −α·⟨1, H_seg⟩ (a_R = ℓ − α): added to the H scalars
                let s0 = l.Vector.SegStart
                let hs = chk.HScalars
                let a = pr.Alpha
                Parallel.For(0, l.Vector.SegCount, fun i -> hs[s0 + i] <- hs[s0 + i] - a) |> ignore
                Ok chk

/// Verifies a call proof (Error says which check failed).
let verify (generators: PedersenGenerators) (st: CallStatement) (proof: CallProof) : Result<unit, string> =
    match verifyDeferred generators st proof with
    | Error e -> Error e
    | Ok chk -> if DeferredCheck.isIdentity generators chk then Ok() else Error "call proof: the final inner-product check failed"

/// Verifies several call proofs with one shared final multi-scalar multiplication: every
/// proof's transcript checks run alone, then the final checks are combined with independent
/// random weights (CSPRNG) into one MSM whose generator terms add up position by position
/// (size ≈ 2·max n, not Σ n). Ok iff every proof is accepted, except with probability
/// ≤ 1/p per batch; on Error the caller may verify one by one to find the culprit.
let verifyMany (generators: PedersenGenerators) (items: (CallStatement * CallProof)[]) : Result<unit, string> =
    if isNull items then Ok()
    else DeferredCheck.verifyAll generators "call proof" items.Length (fun i -> verifyDeferred generators (fst items[i]) (snd items[i]))

/// Strict binary encoding.
let encode (p: CallProof) : byte[] =
    let w = ProofBytesWriter()
    for pt in [ p.Limbs; p.Inverses; p.P; p.Q; p.V; p.Product.SP; p.Product.SQ; p.Product.T1; p.Product.T2 ] do w.Point pt
    for v in p.Product.L do w.Scalar v
    for v in p.Product.R do w.Scalar v
    w.Scalar p.Product.MuP
    w.Scalar p.Product.MuQ
    w.Scalar p.Product.Tau
    w.Hadamard p.Constraint
    w.ToArray()

/// Strict decoding for a statement (its size is fixed by the statement's layout).
let decode (st: CallStatement) (bytes: byte[]) : Result<CallProof, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        let rank = st.Shape.Rank
        let rounds = HadamardProof.rounds l.Vector
        decodeWith bytes (fun r ->
            let pts = Array.init 9 (fun _ -> r.Point())
            let lv = Array.init rank (fun _ -> r.Scalar())
            let rv = Array.init rank (fun _ -> r.Scalar())
            let muP = r.Scalar()
            let muQ = r.Scalar()
            let tau = r.Scalar()
            { Limbs = pts[0]; Inverses = pts[1]; P = pts[2]; Q = pts[3]; V = pts[4]
              Product = { SP = pts[5]; SQ = pts[6]; T1 = pts[7]; T2 = pts[8]; L = lv; R = rv; MuP = muP; MuQ = muQ; Tau = tau }
              Constraint = r.Hadamard rounds })
