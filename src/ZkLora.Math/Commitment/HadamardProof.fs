/// A zero-knowledge argument for a Hadamard relation plus one linear relation between two
/// committed vectors (the core of Bulletproofs' arithmetic-circuit argument, Bünz et al.
/// 2018 §5, reduced to what the projection backend's logUp range argument needs).
///
/// Statement: P0 = ⟨a_L, G[0..n)⟩ + ⟨a_R, H[0..n)⟩ + α·h (n a power of two), a segment
/// Seg = [SegStart, SegStart + SegCount), a public target c (c_i = cSeg on Seg, 0
/// elsewhere), public d_L ∈ Fp^n, d_R ∈ Fp^Seg (0 off Seg) and K. Claim:
///   a_L,i·a_R,i = c_i for every i, and ⟨a_L, d_L⟩ + ⟨a_R, d_R⟩ = K.
/// (The honest a_R is 0 off Seg; a cheating prover's a_R off Seg is only constrained by
/// a_L,i·a_R,i = 0 and never enters the linear relation, whose d_R is 0 there.)
///
/// Protocol (Fiat–Shamir; the caller has absorbed the statement and P0 before):
/// 1. s_L ∈ Fp^n, s_R ∈ Fp^Seg (0 off Seg), ρ uniform (CSPRNG);
///    S = ⟨s_L, G⟩ + ⟨s_R, H⟩ + ρ·h. Absorb S; squeeze y ≠ 0, z.
/// 2. l(X) = a_L + z·y^-n∘d_R + s_L·X, r(X) = y^n∘(a_R + s_R·X) + z·d_L,
///    t(X) = ⟨l(X), r(X)⟩ = t0 + t1·X + t2·X²; T_i = t_i·g + τ_i·h. Absorb T1, T2; squeeze x.
/// 3. Send τ_x = τ1·x + τ2·x², μ = α + ρ·x, t̂ = ⟨l(x), r(x)⟩. Absorb; squeeze w.
/// 4. Inner product argument (InnerProductArgument) for l(x), r(x) on G and H'_i = y^-i·H_i
///    with w·U.
/// Verifier: t̂·g + τ_x·h = δ·g + x·T1 + x²·T2 with
///   δ = cSeg·Σ_Seg y^i + z·K + z²·Σ_Seg y^-i·d_R,i·d_L,i,
/// and the IPA on P = P0 + x·S + ⟨z·y^-n∘d_R, G⟩ + ⟨z·y^-n∘d_L, H⟩ − μ·h + w·t̂·U.
///
/// Soundness: t0 − δ = Σ_i y^i·(a_L,i·a_R,i − c_i) + z·(⟨a_L, d_L⟩ + ⟨a_R, d_R⟩ − K) for the
/// openings fixed (binding) before y, z; a non-zero polynomial of degree n − 1 in y and 1 in z
/// vanishes at a random (y, z) with probability ≤ n/p. The t-commitments and three values of
/// x extract t0 (Bulletproofs Thm. 2); the IPA extracts l, r (Thm. 1).
/// Zero knowledge (special honest-verifier, then Fiat–Shamir): S, T1, T2 are perfectly
/// hiding; τ_x and μ are uniform (τ2, ρ); every entry of l(x) is masked by its own s_L,i,
/// every entry of r(x) on Seg by its own s_R,i, and off Seg r(x)_i = z·d_L,i is public for
/// the honest prover (a_R = 0 there); so (l, r) and hence the IPA transcript are simulatable.
namespace ZkLora.Math.Commitment

open System
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Transcript

/// The public shape of a Hadamard statement.
type HadamardLayout =
    { /// Vector length (a power of two).
      Length: int
      /// First index of the segment where c_i = cSeg and a_R may be non-zero.
      SegStart: int
      /// Length of the segment.
      SegCount: int }

/// A Hadamard-plus-linear proof.
type HadamardProof =
    { S: VestaAffine
      T1: VestaAffine
      T2: VestaAffine
      TauX: Fp
      Mu: Fp
      THat: Fp
      Ipa: IpaProof }

/// A verification reduced to one multi-scalar multiplication that must be the identity:
/// Σ GScalars_i·G_i + Σ HScalars_i·H_i + Σ Scalars_j·Points_j = 0. Checks over the same
/// generators can be combined with random weights (`DeferredCheck.combine`) and decided by
/// one MSM.
type DeferredCheck =
    { GScalars: Fp[]
      HScalars: Fp[]
      Scalars: Fp[]
      Points: VestaAffine[] }

[<RequireQualifiedAccess>]
module DeferredCheck =
    /// Decides one check with one MSM.
    let isIdentity (generators: PedersenGenerators) (c: DeferredCheck) : bool =
        let n, m = c.GScalars.Length, c.HScalars.Length
        // three MSMs over the cached arrays instead of one over copies (2n points and scalars
        // fewer in memory; the sum is the same point)
        let g = PedersenVector.msm (ReadOnlyMemory(generators.G.Get n, 0, n)) (ReadOnlyMemory c.GScalars)
        let h = PedersenVector.msm (ReadOnlyMemory(generators.H.Get m, 0, m)) (ReadOnlyMemory c.HScalars)
        let rest = PedersenVector.msm (ReadOnlyMemory c.Points) (ReadOnlyMemory c.Scalars)
        (g + h + rest).IsIdentity

    /// Σ_k ω_k·check_k with independent uniform ω_k from the CSPRNG: if any check is not the
    /// identity, the combination is the identity with probability ≤ 1/p (the ω are drawn after
    /// the proofs are fixed). The generator scalars add up position by position, so the
    /// combined MSM has max_k n_k G and H terms, not Σ_k n_k.
    let combine (checks: DeferredCheck[]) : DeferredCheck =
        if checks.Length = 1 then checks[0]
        else
        let n = checks |> Array.fold (fun m c -> max m c.GScalars.Length) 0
        let m = checks |> Array.fold (fun m c -> max m c.HScalars.Length) 0
        let g = Array.zeroCreate<Fp> n
        let h = Array.zeroCreate<Fp> m
        let omegas = PedersenVector.randomScalars checks.Length
        checks |> Array.iteri (fun k c ->
            let om = omegas[k]
            let addInto (dst: Fp[]) (src: Fp[]) =
                if src.Length >= 4096 then
                    Parallel.For(0, src.Length, fun i -> dst[i] <- dst[i] + om * src[i]) |> ignore
                else
                    for i in 0 .. src.Length - 1 do dst[i] <- dst[i] + om * src[i]
            addInto g c.GScalars
            addInto h c.HScalars)
        let scalars = Array.concat [ for k in 0 .. checks.Length - 1 -> checks[k].Scalars |> Array.map (fun s -> omegas[k] * s) ]
        let points = Array.concat [ for c in checks -> c.Points ]
        { GScalars = g; HScalars = h; Scalars = scalars; Points = points }

    /// Verifies `count` proofs with one shared final MSM: `deferred i` runs proof i's own
    /// (transcript) checks and returns its final check; the checks are then combined
    /// (`combine`) and decided at once. Ok iff every proof is accepted, except with
    /// probability ≤ 1/p. Error names the first proof (as "<what> i") whose own checks fail;
    /// a failing shared check names no proof (verify one by one to find it).
    let verifyAll (generators: PedersenGenerators) (what: string) (count: int) (deferred: int -> Result<DeferredCheck, string>) : Result<unit, string> =
        if count <= 0 then Ok()
        else
            let checks = Array.zeroCreate<DeferredCheck> count
            let mutable error = None
            let mutable i = 0
            while error.IsNone && i < count do
                match deferred i with
                | Error e -> error <- Some(sprintf "%s %d: %s" what i e)
                | Ok c -> checks[i] <- c
                i <- i + 1
            match error with
            | Some e -> Error e
            | None ->
                if isIdentity generators (combine checks) then Ok()
                else Error(sprintf "%ss: the batch's shared final check failed" what)

[<RequireQualifiedAccess>]
module HadamardProof =
    let private checkLayout (l: HadamardLayout) =
        if l.Length <= 0 || (l.Length &&& (l.Length - 1)) <> 0 then invalidArg "layout" "the length must be a power of two"
        if l.SegStart < 0 || l.SegCount < 0 || l.SegStart + l.SegCount > l.Length then invalidArg "layout" "the segment must lie inside the vector"

    let private absorbPoint (t: Transcript) (label: string) (p: VestaAffine) = t.AbsorbPoint(label, ReadOnlySpan(p.ToBytes()))

    /// Number of IPA rounds for a layout.
    let rounds (l: HadamardLayout) = Numerics.BitOperations.Log2(uint32 l.Length)

    let private forRange (n: int) (body: int -> unit) =
        if n < 4096 then
            for i in 0 .. n - 1 do body i
        else Parallel.For(0, n, body) |> ignore

    /// powers of x from x^start, count of them.
    let private powersFrom (x: Fp) (start: int) (count: int) =
        let p = Array.zeroCreate<Fp> count
        if count > 0 then
            p[0] <- x.Pow(uint64 start)
            for i in 1 .. count - 1 do p[i] <- p[i - 1] * x
        p

    let private proveWith (generators: PedersenGenerators) (check: bool) (t: Transcript) (layout: HadamardLayout) (aL: Fp[]) (aRSeg: Fp[]) (alpha: Fp)
                          (cSeg: Fp) (dL: Fp[]) (dRSeg: Fp[]) (k: Fp) : HadamardProof =
        checkLayout layout
        let n = layout.Length
        let s0, sc = layout.SegStart, layout.SegCount
        if aL.Length <> n || dL.Length <> n then invalidArg "aL" "a_L and d_L must have the layout's length"
        if aRSeg.Length <> sc || dRSeg.Length <> sc then invalidArg "aRSeg" "a_R and d_R must have the segment's length"
        if check then
            for i in 0 .. n - 1 do
                let target = if i >= s0 && i < s0 + sc then cSeg else Fp.Zero
                let ar = if i >= s0 && i < s0 + sc then aRSeg[i - s0] else Fp.Zero
                if aL[i] * ar <> target then invalidOp (sprintf "hadamard proof: entry %d breaks the Hadamard relation" i)
            if InnerProductArgument.inner aL 0 dL 0 n + InnerProductArgument.inner aRSeg 0 dRSeg 0 sc <> k then
                invalidOp "hadamard proof: the linear relation does not hold"
        let g = generators.G.Get n
        let hg = generators.H.Get n
        let hPoint = Vesta.ofAffine PedersenVector.blindingGenerator
        let gPoint = Vesta.ofAffine PedersenVector.valueGenerator
        let sL = PedersenVector.randomScalars n
        let sR = PedersenVector.randomScalars sc
        let rho = PedersenVector.randomScalar ()
        let sPoint =
            PedersenVector.msm (ReadOnlyMemory(g, 0, n)) (ReadOnlyMemory sL)
            + PedersenVector.msm (ReadOnlyMemory(hg, s0, sc)) (ReadOnlyMemory sR) + hPoint * rho
        let sA = Vesta.toAffine sPoint
        absorbPoint t "hadamard S" sA
        let y = Transcript.squeezeChallenge t "hadamard y"
        let z = Transcript.squeezeChallenge t "hadamard z"
        if y.IsZero then invalidOp "hadamard proof: zero challenge y"
        let yp = InnerProductArgument.powers y n
        let yInvSeg = powersFrom (y.Invert()) s0 sc
        // l0 = a_L + z·y^-i·d_R (Seg), l1 = s_L; r0 = y^i·a_R + z·d_L, r1 = y^i·s_R (Seg)
        let l0 = Array.copy aL
        let r0 = Array.zeroCreate<Fp> n
        forRange n (fun i -> r0[i] <- z * dL[i])
        let r1Seg = Array.zeroCreate<Fp> sc
        forRange sc (fun j ->
            let i = s0 + j
            l0[i] <- l0[i] + z * yInvSeg[j] * dRSeg[j]
            r0[i] <- r0[i] + yp[i] * aRSeg[j]
            r1Seg[j] <- yp[i] * sR[j])
        let t1 = InnerProductArgument.inner l0 s0 r1Seg 0 sc + InnerProductArgument.inner sL 0 r0 0 n
        let t2 = InnerProductArgument.inner sL s0 r1Seg 0 sc
        let tau1, tau2 = PedersenVector.randomScalar (), PedersenVector.randomScalar ()
        let t1A = Vesta.toAffine (gPoint * t1 + hPoint * tau1)
        let t2A = Vesta.toAffine (gPoint * t2 + hPoint * tau2)
        absorbPoint t "hadamard T1" t1A
        absorbPoint t "hadamard T2" t2A
        let x = Transcript.squeezeChallenge t "hadamard x"
        let l = Array.zeroCreate<Fp> n
        let r = r0
        forRange n (fun i -> l[i] <- l0[i] + x * sL[i])
        forRange sc (fun j -> r[s0 + j] <- r[s0 + j] + x * r1Seg[j])
        let tHat = InnerProductArgument.inner l 0 r 0 n
        let tauX = tau1 * x + tau2 * x * x
        let mu = alpha + rho * x
        Transcript.absorbScalar t "hadamard tau_x" tauX
        Transcript.absorbScalar t "hadamard mu" mu
        Transcript.absorbScalar t "hadamard t_hat" tHat
        let w = Transcript.squeezeChallenge t "hadamard w"
        let ipa = InnerProductArgument.prove generators t (y.Invert()) w l r
        { S = sA; T1 = t1A; T2 = t2A; TauX = tauX; Mu = mu; THat = tHat; Ipa = ipa }

    /// Proves the statement for the witness (a_L, a_R on the segment, α) with
    /// P0 = ⟨a_L, G⟩ + ⟨a_R, H_Seg⟩ + α·h. Throws (a caller bug) if the witness does not satisfy it.
    let prove generators t layout aL aRSeg alpha cSeg dL dRSeg k = proveWith generators true t layout aL aRSeg alpha cSeg dL dRSeg k

    /// The prover without the witness checks (a cheating prover, for tests of the verifier).
    let proveUnchecked generators t layout aL aRSeg alpha cSeg dL dRSeg k = proveWith generators false t layout aL aRSeg alpha cSeg dL dRSeg k

    /// Replays the transcript, checks the t-polynomial (a 4-point MSM) and returns the
    /// deferred inner-product check, which includes P0 with scalar 1. Error names the failing check.
    let verifyDeferred (t: Transcript) (layout: HadamardLayout) (p0: Vesta) (cSeg: Fp) (dL: Fp[]) (dRSeg: Fp[]) (k: Fp)
                       (proof: HadamardProof) : Result<DeferredCheck, string> =
        checkLayout layout
        let n = layout.Length
        let s0, sc = layout.SegStart, layout.SegCount
        if dL.Length <> n || dRSeg.Length <> sc then invalidArg "dL" "d_L and d_R must have the layout's lengths"
        absorbPoint t "hadamard S" proof.S
        let y = Transcript.squeezeChallenge t "hadamard y"
        let z = Transcript.squeezeChallenge t "hadamard z"
        if y.IsZero then Error "hadamard proof: zero challenge y"
        else
        absorbPoint t "hadamard T1" proof.T1
        absorbPoint t "hadamard T2" proof.T2
        let x = Transcript.squeezeChallenge t "hadamard x"
        Transcript.absorbScalar t "hadamard tau_x" proof.TauX
        Transcript.absorbScalar t "hadamard mu" proof.Mu
        Transcript.absorbScalar t "hadamard t_hat" proof.THat
        let w = Transcript.squeezeChallenge t "hadamard w"
        let yInv = y.Invert()
        match InnerProductArgument.verify t n yInv w proof.Ipa with
        | Error e -> Error e
        | Ok ipa ->
        let yInvP = InnerProductArgument.powers yInv n
        let ySeg = powersFrom y s0 sc
        let mutable sumY = Fp.Zero
        for j in 0 .. sc - 1 do sumY <- sumY + ySeg[j]
        let cross = InnerProductArgument.inner (Array.init sc (fun j -> yInvP[s0 + j] * dRSeg[j])) 0 dL s0 sc
        let delta = cSeg * sumY + z * k + z * z * cross
        let tCheck =
            PedersenVector.msm
                (ReadOnlyMemory [| PedersenVector.valueGenerator; PedersenVector.blindingGenerator; proof.T1; proof.T2 |])
                (ReadOnlyMemory [| proof.THat - delta; proof.TauX; -x; -(x * x) |])
        if not tCheck.IsIdentity then Error "hadamard proof: the t-polynomial check failed"
        else
        let gScalars = ipa.GScalars
        let hScalars = ipa.HScalars
        forRange n (fun i -> hScalars[i] <- hScalars[i] + z * yInvP[i] * dL[i])
        forRange sc (fun j ->
            let i = s0 + j
            gScalars[i] <- gScalars[i] + z * yInvP[i] * dRSeg[j])
        let points =
            Array.append [| Vesta.toAffine p0; proof.S; PedersenVector.blindingGenerator; PedersenVector.innerProductGenerator |] ipa.Points
        let scalars = Array.append [| Fp.One; x; -proof.Mu; w * proof.THat |] ipa.Scalars
        Ok { GScalars = gScalars; HScalars = hScalars; Scalars = scalars; Points = points }

    /// Verifies a proof against P0 (Error names the failing check).
    let verify (generators: PedersenGenerators) t layout p0 cSeg dL dRSeg k proof : Result<unit, string> =
        match verifyDeferred t layout p0 cSeg dL dRSeg k proof with
        | Error e -> Error e
        | Ok c -> if DeferredCheck.isIdentity generators c then Ok() else Error "hadamard proof: the inner product argument check failed"
