/// The per-call proof of the projection backend (docs/projection-protocol.md §4): one
/// proof for all T rows of a module call against the committed adapter C_W, checking the
/// three contract identities by random projections, with every intermediate range-checked
/// by committed bits and nothing that depends on A, B or the intermediates in the clear.
///
/// Vector layout (positions on G): [0, nW) weights (C_W); then bits —
/// per (t, j): h + 2^(ib−s) in ib − s + 1 bits, e1 in s bits, raw⁺ and raw⁻ in ib − 1 bits
/// each; per (t, k): r − r_lo in nOut bits; per clipped (t, k): r_hi − r in nOut bits —
/// then p (rank), q (rank), c (1), zero padding to a power of two. The bit-constraint proof
/// opens P0 = λ_W·C_W + C_bits + λ_P·P + λ_Q·Q + λ_V·V (λ squeezed last: segment separation).
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

/// Domain of the call-proof transcript.
[<Literal>]
let Domain = "zklora/projection-call/v1"

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
    { Bits: VestaAffine
      P: VestaAffine
      Q: VestaAffine
      V: VestaAffine
      Product: ProductProof
      Constraint: BitConstraintProof }

/// The public layout derived from a statement (checked by the verifier first).
type internal Layout =
    { T: int
      NW: int
      MH: int
      S: int
      MR: int
      PerIn: int
      NOut: int
      Lo: BigInteger[]
      Hi: BigInteger[]
      Clipped: int[]
      InStart: int
      OutStart: int
      ClipStart: int
      POff: int
      QOff: int
      COff: int
      Vector: BitLayout }

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
            let perIn = mh + sb + 2 * mr
            // sizes in 64 bits first: the policy's dimensions could overflow 32-bit offsets
            let nW64 = int64 s.Rank * int64 s.InDim + int64 s.OutDim * int64 s.Rank
            let used =
                nW64 + int64 t * int64 s.Rank * int64 perIn + int64 t * int64 s.OutDim * int64 nOut
                + int64 clipped.Length * int64 nOut + 2L * int64 s.Rank + 1L
            if used > int64 Policy.maxVectorLength then Error(sprintf "call proof: %d committed entries exceed the policy's %d" used Policy.maxVectorLength)
            else
                let nW = weightCount s
                let inStart = nW
                let outStart = inStart + t * s.Rank * perIn
                let clipStart = outStart + t * s.OutDim * nOut
                let pOff = clipStart + clipped.Length * nOut
                let len = nextPowerOfTwo (int used)
                Ok { T = t; NW = nW; MH = mh; S = sb; MR = mr; PerIn = perIn; NOut = nOut
                     Lo = lo; Hi = hi; Clipped = clipped
                     InStart = inStart; OutStart = outStart; ClipStart = clipStart
                     POff = pOff; QOff = pOff + s.Rank; COff = pOff + 2 * s.Rank
                     Vector = { Length = len; BitStart = nW; BitCount = pOff - nW } }

/// The statement parts absorbed before the first challenge, in order (labels).
let internal absorbedParts =
    [ "statement digest"; "in_dim"; "rank"; "out_dim"; "rows"; "config"; "num"; "den"; "x"; "delta"; "adapter commitment"; "bits commitment" ]

let private transcriptWithout (omit: string option) (st: CallStatement) (bits: VestaAffine) =
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
    part "bits commitment" (fun () -> absorbPoint t "bits commitment" bits)
    t

let private transcriptFor (st: CallStatement) (bits: VestaAffine) = transcriptWithout None st bits

/// The projection challenges after the bit commitment.
type private Projections = { Rho: Fp[]; Sigma: Fp[]; Tau: Fp[] }

let private projections (t: Transcript) (st: CallStatement) =
    let rho = Transcript.squeezeChallenge t "rho"
    let sigma = Transcript.squeezeChallenge t "sigma"
    let tau = Transcript.squeezeChallenge t "tau"
    { Rho = InnerProductArgument.powers rho st.X.Length
      Sigma = InnerProductArgument.powers sigma st.Shape.Rank
      Tau = InnerProductArgument.powers tau st.Shape.OutDim }

let private absorbPhase2 (t: Transcript) (p: VestaAffine) (q: VestaAffine) (v: VestaAffine) =
    absorbPoint t "p commitment" p
    absorbPoint t "q commitment" q
    absorbPoint t "c commitment" v

/// The combined linear cproof ⟨a, d⟩ = K (see docs/projection-protocol.md §4.4).
let private linearConstraint (st: CallStatement) (l: Layout) (pr: Projections) (gamma: Fp) (beta: Fp) : Fp[] * Fp =
    let s = st.Shape
    let cfg = s.Config
    let n = l.Vector.Length
    let d = Array.zeroCreate<Fp> n
    let bp = InnerProductArgument.powers beta 6
    let gp = InnerProductArgument.powers gamma s.Rank
    let two = InnerProductArgument.powers (Fp.OfUInt64 2UL) (max 2 (max l.MH (max l.MR (max l.NOut (l.S + 1)))))
    let twoS = Fp.OfBigInteger(scale cfg)
    let hOff = Fp.OfBigInteger(BigInteger.One <<< (cfg.IntermediateBits - cfg.ScaleBits))
    let half = Fp.OfBigInteger(if cfg.ScaleBits = 0 then BigInteger.Zero else scale cfg / BigInteger 2)
    let sumRho = Array.fold (+) Fp.Zero pr.Rho
    let sumSigma = Array.fold (+) Fp.Zero pr.Sigma
    let sumGamma = Array.fold (+) Fp.Zero gp
    // I1 on A: σ^j·Σ_t ρ^t·x_ti
    let xu = Array.init s.InDim (fun i ->
        let mutable acc = Fp.Zero
        for r in 0 .. l.T - 1 do acc <- acc + pr.Rho[r] * Fp.OfBigInteger(st.X[r][i])
        acc)
    for j in 0 .. s.Rank - 1 do
        for i in 0 .. s.InDim - 1 do d[j * s.InDim + i] <- bp[0] * pr.Sigma[j] * xu[i]
    // I6 on B: −β⁵·γ^j·τ^k
    let bOff = s.Rank * s.InDim
    for k in 0 .. s.OutDim - 1 do
        for j in 0 .. s.Rank - 1 do d[bOff + k * s.Rank + j] <- -(bp[5] * gp[j] * pr.Tau[k])
    // per (t, j) bits: I1 (β⁰), I2 (β¹), I5 (β⁴)
    Parallel.For(0, l.T * s.Rank, fun e ->
        let r, j = e / s.Rank, e % s.Rank
        let c = pr.Rho[r] * pr.Sigma[j]
        let bs0 = l.InStart + e * l.PerIn
        // h bits: I1 −2^s·2^k·c, I2 +2^s·2^k·c, I5 −γ^j·ρ^t·2^k
        let hCoeff = -(bp[0] * twoS * c) + bp[1] * twoS * c - bp[4] * gp[j] * pr.Rho[r]
        for k in 0 .. l.MH - 1 do d[bs0 + k] <- hCoeff * two[k]
        let eBase = bs0 + l.MH
        let eCoeff = -(bp[0] * c) + bp[1] * c
        for k in 0 .. l.S - 1 do d[eBase + k] <- eCoeff * two[k]
        let pBase = eBase + l.S
        let mBase = pBase + l.MR
        for k in 0 .. l.MR - 1 do
            d[pBase + k] <- -(bp[1] * c * two[k])
            d[mBase + k] <- bp[1] * c * two[k]) |> ignore
    // per (t, k) bits: I3 (β²) and, when clipped, I4 (β³)
    let clippedIndex = Collections.Generic.Dictionary<int, int>()
    l.Clipped |> Array.iteri (fun i e -> clippedIndex[e] <- i)
    let mutable k3 = Fp.Zero
    let mutable k4 = Fp.Zero
    let outCoeff = Array.init (l.T * s.OutDim) (fun e -> pr.Rho[e / s.OutDim] * pr.Tau[e % s.OutDim])
    for e in 0 .. outCoeff.Length - 1 do
        k3 <- k3 + outCoeff[e] * Fp.OfBigInteger(l.Lo[e])
    for ci in 0 .. l.Clipped.Length - 1 do
        let e = l.Clipped[ci]
        k4 <- k4 + outCoeff[e] * Fp.OfBigInteger(l.Hi[e] - l.Lo[e])
    Parallel.For(0, outCoeff.Length, fun e ->
        let bs0 = l.OutStart + e * l.NOut
        let mutable ci = 0
        let clipped = clippedIndex.TryGetValue(e, &ci)
        let coeff = -(bp[2] * outCoeff[e]) + (if clipped then bp[3] * outCoeff[e] else Fp.Zero)
        for k in 0 .. l.NOut - 1 do d[bs0 + k] <- coeff * two[k]
        if clipped then
            let hiBase = l.ClipStart + ci * l.NOut
            for k in 0 .. l.NOut - 1 do d[hiBase + k] <- bp[3] * outCoeff[e] * two[k]) |> ignore
    // p (I5), q (I6), c (I3)
    for j in 0 .. s.Rank - 1 do
        d[l.POff + j] <- bp[4] * gp[j]
        d[l.QOff + j] <- bp[5] * gp[j]
    d[l.COff] <- bp[2]
    let cIn = sumRho * sumSigma
    let k0 = -((half + twoS * hOff) * cIn)
    let k1 = (twoS * hOff + half) * cIn
    let k5 = -(hOff * sumGamma * sumRho)
    let kTotal = bp[0] * k0 + bp[1] * k1 + bp[2] * k3 + bp[3] * k4 + bp[4] * k5
    d, kTotal

/// Segment weights λ_W, λ_P, λ_Q, λ_V (λ_bits = 1), squeezed after every commitment.
/// The bit-constraint proof opens P0 = λ_W·C_W + C_bits + λ_P·P + λ_Q·Q + λ_V·V: a
/// commitment's components on another segment's generators then enter with a different
/// random weight than that segment's own values, so they cannot stand in for them
/// (docs/projection-protocol.md §4.3, "segment separation").
let private segmentWeights (t: Transcript) : Fp[] option =
    let ls = Array.init 4 (fun i -> Transcript.squeezeChallenge t (sprintf "lambda %d" i))
    if ls |> Array.exists (fun v -> v.IsZero) then None else Some ls

/// Multiplies the non-bit segments of v by f(λ_segment) (weights, p, q, c).
let private scaleSegments (l: Layout) (rank: int) (ls: Fp[]) (f: Fp -> Fp) (v: Fp[]) =
    let fw, fp, fq, fc = f ls[0], f ls[1], f ls[2], f ls[3]
    for i in 0 .. l.NW - 1 do v[i] <- v[i] * fw
    for j in 0 .. rank - 1 do
        v[l.POff + j] <- v[l.POff + j] * fp
        v[l.QOff + j] <- v[l.QOff + j] * fq
    v[l.COff] <- v[l.COff] * fc

let private gensOf (l: Layout) (rank: int) =
    let g = PedersenVector.G.Get l.Vector.Length
    Array.sub g l.POff rank, Array.sub g l.QOff rank, g[l.COff]

/// The witness of a call: every intermediate, from the exact contract.
let private witness (st: CallStatement) (l: Layout) (secret: AdapterSecret) : Result<Fp[], string> =
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
    let a = Array.create l.Vector.Length Fp.Zero
    Array.blit (weightVector s secret.A secret.B) 0 a 0 l.NW
    let h = Array.init l.T (fun _ -> Array.zeroCreate<BigInteger> s.Rank)
    Parallel.For(0, l.T * s.Rank, fun e ->
        let r, j = e / s.Rank, e % s.Rank
        let mutable raw = BigInteger.Zero
        for i in 0 .. s.InDim - 1 do raw <- raw + secret.A[j][i] * st.X[r][i]
        let hv = divRound raw sc
        h[r][j] <- hv
        let e1 = raw + half - sc * hv
        let bs0 = l.InStart + e * l.PerIn
        writeBits a bs0 (hv + hOff) l.MH
        writeBits a (bs0 + l.MH) e1 l.S
        writeBits a (bs0 + l.MH + l.S) (BigInteger.Max(raw, BigInteger.Zero)) l.MR
        writeBits a (bs0 + l.MH + l.S + l.MR) (BigInteger.Max(-raw, BigInteger.Zero)) l.MR) |> ignore
    let clippedIndex = Collections.Generic.Dictionary<int, int>()
    l.Clipped |> Array.iteri (fun i e -> clippedIndex[e] <- i)
    Parallel.For(0, l.T * s.OutDim, fun e ->
        let r, k = e / s.OutDim, e % s.OutDim
        let mutable rv = BigInteger.Zero
        for j in 0 .. s.Rank - 1 do rv <- rv + secret.B[k][j] * h[r][j]
        writeBits a (l.OutStart + e * l.NOut) (rv - l.Lo[e]) l.NOut
        let mutable ci = 0
        if clippedIndex.TryGetValue(e, &ci) then writeBits a (l.ClipStart + ci * l.NOut) (l.Hi[e] - rv) l.NOut) |> ignore
    Ok a

/// What a cheating prover (tests only) changes: the transcript parts it leaves out, and
/// its committed p, q, c after the projections.
type internal Cheat =
    { Omit: string option
      Phase2: Fp[] -> Fp[] -> Fp -> Fp[] * Fp[] * Fp
      /// Added to the bit commitment on the weight generators: the vector's weights then
      /// claim to be (adapter weights + shift) — the cross-segment forgery λ_W defeats.
      WeightShift: Fp[] option }

let internal honest = { Omit = None; Phase2 = (fun p q c -> p, q, c); WeightShift = None }

let private proveCore (check: bool) (cheat: Cheat) (st: CallStatement) (l: Layout) (secret: AdapterSecret) (a: Fp[]) : CallProof =
    let s = st.Shape
    let cfg = s.Config
    let bitBlind = PedersenVector.randomScalar ()
    let bitsPoint =
        let honestBits = PedersenVector.commitAt l.Vector.BitStart (Array.sub a l.Vector.BitStart l.Vector.BitCount) bitBlind
        match cheat.WeightShift with
        | None -> honestBits
        | Some shift -> honestBits + PedersenVector.commitAt 0 shift Fp.Zero
    let bits = Vesta.toAffine bitsPoint
    use t = transcriptWithout cheat.Omit st bits
    let pr = projections t st
    // p_j = Σ_t ρ^t·h_tj (h read back from its bits), q_j = Σ_k τ^k·B_kj, c = ⟨p, q⟩
    let hOff = Fp.OfBigInteger(BigInteger.One <<< (cfg.IntermediateBits - cfg.ScaleBits))
    let two = InnerProductArgument.powers (Fp.OfUInt64 2UL) l.MH
    let hAt r j =
        let bs0 = l.InStart + (r * s.Rank + j) * l.PerIn
        let mutable v = Fp.Zero
        for k in 0 .. l.MH - 1 do v <- v + a[bs0 + k] * two[k]
        v - hOff
    let p = Array.init s.Rank (fun j -> Seq.fold (fun acc r -> acc + pr.Rho[r] * hAt r j) Fp.Zero (seq { 0 .. l.T - 1 }))
    let q = Array.init s.Rank (fun j -> Seq.fold (fun acc k -> acc + pr.Tau[k] * Fp.OfBigInteger(secret.B[k][j])) Fp.Zero (seq { 0 .. s.OutDim - 1 }))
    let c = Array.fold2 (fun acc x y -> acc + x * y) Fp.Zero p q
    let p, q, c = cheat.Phase2 p q c
    let gp, gq, gc = gensOf l s.Rank
    let rhoP, rhoQ, gamma = PedersenVector.randomScalar (), PedersenVector.randomScalar (), PedersenVector.randomScalar ()
    let hPt = Vesta.ofAffine PedersenVector.blindingGenerator
    let pC = PedersenVector.msm (ReadOnlyMemory gp) (ReadOnlyMemory p) + hPt * rhoP
    let qC = PedersenVector.msm (ReadOnlyMemory gq) (ReadOnlyMemory q) + hPt * rhoQ
    let vC = Vesta.ofAffine gc * c + hPt * gamma
    let pA, qA, vA = Vesta.toAffine pC, Vesta.toAffine qC, Vesta.toAffine vC
    absorbPhase2 t pA qA vA
    let product =
        if check then ProductArgument.prove t gp gq gc p rhoP q rhoQ c gamma
        else ProductArgument.proveUnchecked t gp gq gc p rhoP q rhoQ c gamma
    let gammaC = Transcript.squeezeChallenge t "gamma"
    let betaC = Transcript.squeezeChallenge t "beta"
    let d, k = linearConstraint st l pr gammaC betaC
    let ls =
        match segmentWeights t with
        | Some ls -> ls
        | None -> invalidOp "call proof: zero segment weight (probability 4/p)"
    Array.blit p 0 a l.POff s.Rank
    Array.blit q 0 a l.QOff s.Rank
    a[l.COff] <- c
    // the opened vector: λ-scaled segments; d scaled by 1/λ keeps ⟨a, d⟩ = K
    scaleSegments l s.Rank ls id a
    scaleSegments l s.Rank ls (fun v -> v.Invert()) d
    match cheat.WeightShift with
    | Some shift ->
        // what C_bits contributes on the weight generators is not scaled by λ_W
        for i in 0 .. l.NW - 1 do a[i] <- a[i] + (Fp.One - ls[0]) * shift[i]
    | None -> ()
    let alpha = ls[0] * secret.Blind + bitBlind + ls[1] * rhoP + ls[2] * rhoQ + ls[3] * gamma
    let cproof =
        if check then BitConstraintProof.prove t l.Vector a alpha d k
        else BitConstraintProof.proveUnchecked t l.Vector a alpha d k
    { Bits = bits; P = pA; Q = qA; V = vA; Product = product; Constraint = cproof }

/// Proves a call: checks the statement as the verifier will, recomputes every
/// intermediate with the exact contract (Error if the recorded δ differs) and proves.
let prove (st: CallStatement) (secret: AdapterSecret) : Result<CallProof, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        match witness st l secret with
        | Error e -> Error e
        | Ok a -> Ok(proveCore true honest st l secret a)

/// A cheating prover for tests: runs the protocol on a given (possibly false) vector of
/// committed values without any check.
let internal proveWithVector (cheat: Cheat) (st: CallStatement) (secret: AdapterSecret) (edit: Fp[] -> unit) : Result<CallProof, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        let a =
            match witness st l secret with
            | Ok a -> a
            | Error _ ->
                // a false statement: start from the honest intermediates of the contract's δ
                let honest = { st with Delta = (deltaRows st.Shape.Config secret.A secret.B st.X st.Num st.Den |> function Ok d -> d | Error e -> failwith e) }
                match checkStatement honest with
                | Error e -> failwith e
                | Ok lh ->
                    if lh.Vector <> l.Vector then failwith "the false statement has another layout"
                    match witness honest lh secret with
                    | Ok a -> a
                    | Error e -> failwith e
        edit a
        Ok(proveCore false cheat st l secret a)

/// The layout facts a test needs to edit a witness.
let internal layoutOf (st: CallStatement) = checkStatement st

/// Verifies a call proof (Error says which check failed).
let verify (st: CallStatement) (proof: CallProof) : Result<unit, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        let s = st.Shape
        use t = transcriptFor st proof.Bits
        let pr = projections t st
        absorbPhase2 t proof.P proof.Q proof.V
        let gp, gq, gc = gensOf l s.Rank
        match ProductArgument.verify t gp gq gc (Vesta.ofAffine proof.P) (Vesta.ofAffine proof.Q) (Vesta.ofAffine proof.V) proof.Product with
        | Error e -> Error("call proof: " + e)
        | Ok() ->
            let gammaC = Transcript.squeezeChallenge t "gamma"
            let betaC = Transcript.squeezeChallenge t "beta"
            let d, k = linearConstraint st l pr gammaC betaC
            match segmentWeights t with
            | None -> Error "call proof: zero segment weight"
            | Some ls ->
            scaleSegments l s.Rank ls (fun v -> v.Invert()) d
            let p0 =
                Vesta.ofAffine st.Adapter * ls[0] + Vesta.ofAffine proof.Bits + Vesta.ofAffine proof.P * ls[1]
                + Vesta.ofAffine proof.Q * ls[2] + Vesta.ofAffine proof.V * ls[3]
            BitConstraintProof.verify t l.Vector p0 d k proof.Constraint |> Result.mapError (fun e -> "call proof: " + e)

/// Strict binary encoding.
let encode (p: CallProof) : byte[] =
    let w = ProofBytesWriter()
    for pt in [ p.Bits; p.P; p.Q; p.V; p.Product.SP; p.Product.SQ; p.Product.T1; p.Product.T2 ] do w.Point pt
    for v in p.Product.L do w.Scalar v
    for v in p.Product.R do w.Scalar v
    w.Scalar p.Product.MuP
    w.Scalar p.Product.MuQ
    w.Scalar p.Product.Tau
    w.Bits p.Constraint
    w.ToArray()

/// Strict decoding for a statement (its size is fixed by the statement's layout).
let decode (st: CallStatement) (bytes: byte[]) : Result<CallProof, string> =
    match checkStatement st with
    | Error e -> Error e
    | Ok l ->
        let rank = st.Shape.Rank
        let rounds = BitConstraintProof.rounds l.Vector
        decodeWith bytes (fun r ->
            let pts = Array.init 8 (fun _ -> r.Point())
            let lv = Array.init rank (fun _ -> r.Scalar())
            let rv = Array.init rank (fun _ -> r.Scalar())
            let muP = r.Scalar()
            let muQ = r.Scalar()
            let tau = r.Scalar()
            { Bits = pts[0]; P = pts[1]; Q = pts[2]; V = pts[3]
              Product = { SP = pts[4]; SQ = pts[5]; T1 = pts[6]; T2 = pts[7]; L = lv; R = rv; MuP = muP; MuQ = muQ; Tau = tau }
              Constraint = r.Bits rounds })
