/// A zero-knowledge proof that a committed vector has Boolean entries on a segment and
/// satisfies one public linear equation: the aggregated Bulletproofs range proof
/// (Bünz et al. 2018, §4.1–4.3) generalised from "⟨bits, 2^n⟩ = committed v" to an
/// arbitrary linear constraint ⟨a, d⟩ = K over the whole vector (bits and other entries).
/// Range proofs are the special case where the bit segment holds binary digits and d ties
/// them to the values they decompose.
///
/// Statement: P0 = ⟨a, G[0..n)⟩ + α·h (n a power of two), a segment
/// Bits = [BitStart, BitStart + BitCount), a public d ∈ Fp^n and K ∈ Fp. Claim:
/// a_i ∈ {0, 1} for i ∈ Bits and ⟨a, d⟩ = K. β_i = 1 on Bits, 0 elsewhere.
///
/// Protocol (Fiat–Shamir; the caller has absorbed the statement and P0 before):
/// 1. a_R = a − 1 on Bits, 0 elsewhere; A_R = ⟨a_R, H⟩ + α_R·h. s_L ∈ Fp^n, s_R ∈ Fp^n
///    (0 off Bits), ρ uniform; S = ⟨s_L, G⟩ + ⟨s_R, H⟩ + ρ·h. Absorb A_R, S; squeeze y, z.
/// 2. l(X) = a − zβ + s_L·X, r(X) = y^n ∘ (a_R + zβ + s_R·X) + z²·d, t(X) = ⟨l(X), r(X)⟩
///    = t0 + t1·X + t2·X². T_i = t_i·g + τ_i·h (i = 1, 2). Absorb; squeeze x.
/// 3. Send τ_x = τ1·x + τ2·x², μ = α + α_R + ρ·x, t̂ = ⟨l(x), r(x)⟩. Absorb; squeeze w.
/// 4. Inner product argument for l = l(x), r = r(x) on G and H'_i = y^-i·H_i with w·U.
/// Verifier: t̂·g + τ_x·h = (z²K + δ(y, z))·g + x·T1 + x²·T2 with
/// δ = (z − z²)·Σ_Bits y^i − z³·Σ_Bits d_i, and the IPA on
/// P = P0 + A_R + x·S − z·⟨β, G⟩ + ⟨zβ + z²·y^-n∘d, H⟩ − μ·h + w·t̂·U.
///
/// Soundness: with a, a_R fixed (binding) before y, z,
/// t0 − (z²K + δ) = Σ y^i·a_i·a_R,i + z·Σ_Bits y^i·(a_i − a_R,i − 1) + z²·(⟨a, d⟩ − K)
/// (off Bits a cheating prover may put any a_R,i into A_R; that only adds y^i·a_i·a_R,i to
/// the z⁰ coefficient, which must vanish as well, and never touches the z¹, z² ones). It vanishes
/// at random (y, z) with probability ≤ (n + 2)/p unless every coefficient is 0, i.e.
/// a_i·a_R,i = 0 and a_R,i = a_i − 1 on Bits (so a_i ∈ {0, 1}) and ⟨a, d⟩ = K. The
/// t-commitments and three values of x extract t0 (Bulletproofs Thm. 2); x, w and the
/// IPA rounds add ≤ (2 + 1 + 2·log n)/p-size terms.
/// Zero knowledge (special honest-verifier, then Fiat–Shamir): A_R, S, T1, T2 are
/// perfectly hiding commitments; τ_x, μ are uniform (τ2, ρ); every entry of l and r that
/// depends on a secret is masked by an independent uniform s_L,i or s_R,i (r off Bits is
/// public: z²·d_i), so (l, r) and hence the IPA transcript are simulatable.
namespace ZkLora.Math.Commitment

open System
open ZkLora.Math
open ZkLora.Math.Transcript

/// The public shape of a bit-constraint statement.
type BitLayout =
    { /// Vector length (a power of two).
      Length: int
      /// First index of the Boolean segment.
      BitStart: int
      /// Number of Boolean entries.
      BitCount: int }

/// A bit-constraint (generalised range) proof.
type BitConstraintProof =
    { AR: VestaAffine
      S: VestaAffine
      T1: VestaAffine
      T2: VestaAffine
      TauX: Fp
      Mu: Fp
      THat: Fp
      Ipa: IpaProof }

[<RequireQualifiedAccess>]
module BitConstraintProof =
    let private checkLayout (l: BitLayout) =
        if l.Length <= 0 || (l.Length &&& (l.Length - 1)) <> 0 then invalidArg "layout" "the length must be a power of two"
        if l.BitStart < 0 || l.BitCount < 0 || l.BitStart + l.BitCount > l.Length then invalidArg "layout" "the bit segment must lie inside the vector"

    let private absorbPoint (t: Transcript) (label: string) (p: VestaAffine) = t.AbsorbPoint(label, ReadOnlySpan(p.ToBytes()))

    let private nonZero (t: Transcript) (label: string) =
        let c = Transcript.squeezeChallenge t label
        if c.IsZero then None else Some c

    /// Number of IPA rounds for a layout.
    let rounds (l: BitLayout) = Numerics.BitOperations.Log2(uint32 l.Length)

    let private proveWith (generators: PedersenGenerators) (check: bool) (t: Transcript) (layout: BitLayout) (a: Fp[]) (alpha: Fp) (d: Fp[]) (k: Fp) : BitConstraintProof =
        checkLayout layout
        let n = layout.Length
        if a.Length <> n || d.Length <> n then invalidArg "a" "a and d must have the layout's length"
        let b0, b1 = layout.BitStart, layout.BitStart + layout.BitCount
        if check then
            for i in b0 .. b1 - 1 do
                if not (a[i].IsZero || a[i] = Fp.One) then invalidOp (sprintf "bit-constraint proof: entry %d is not a bit" i)
            if InnerProductArgument.inner a 0 d 0 n <> k then invalidOp "bit-constraint proof: the linear constraint does not hold"
        let g = generators.G.Get n
        let hg = generators.H.Get n
        let hPoint = Vesta.ofAffine PedersenVector.blindingGenerator
        let gPoint = Vesta.ofAffine PedersenVector.valueGenerator
        // A_R = ⟨a_R, H⟩ + α_R·h = ⟨a_bits, H_seg⟩ − ⟨1, H_seg⟩ + α_R·h (two 1-bit MSMs)
        let alphaR = PedersenVector.randomScalar ()
        let bitsSeg = Array.sub a b0 layout.BitCount
        let ones = Array.create layout.BitCount Fp.One
        let hSeg = ReadOnlyMemory(hg, b0, layout.BitCount)
        let aR = PedersenVector.msm hSeg (ReadOnlyMemory bitsSeg) - PedersenVector.msm hSeg (ReadOnlyMemory ones) + hPoint * alphaR
        let sL = PedersenVector.randomScalars n
        let sRSeg = PedersenVector.randomScalars layout.BitCount
        let rho = PedersenVector.randomScalar ()
        let sPoint =
            PedersenVector.msm (ReadOnlyMemory(g, 0, n)) (ReadOnlyMemory sL)
            + PedersenVector.msm hSeg (ReadOnlyMemory sRSeg) + hPoint * rho
        let aRA, sA = Vesta.toAffine aR, Vesta.toAffine sPoint
        absorbPoint t "bits A_R" aRA
        absorbPoint t "bits S" sA
        let y = Transcript.squeezeChallenge t "bits y"
        let z = Transcript.squeezeChallenge t "bits z"
        if y.IsZero then invalidOp "bit-constraint proof: zero challenge y"
        let z2 = z * z
        let yp = InnerProductArgument.powers y n
        // l0, r0, r1 (l1 = s_L)
        let l0 = Array.zeroCreate<Fp> n
        let r0 = Array.zeroCreate<Fp> n
        let r1 = Array.zeroCreate<Fp> n
        Threading.Tasks.Parallel.For(0, n, fun i ->
            let inBits = i >= b0 && i < b1
            if inBits then
                l0[i] <- a[i] - z
                r0[i] <- yp[i] * (a[i] - Fp.One + z) + z2 * d[i]
                r1[i] <- yp[i] * sRSeg[i - b0]
            else
                l0[i] <- a[i]
                r0[i] <- z2 * d[i]) |> ignore
        let t1 = InnerProductArgument.inner l0 0 r1 0 n + InnerProductArgument.inner sL 0 r0 0 n
        let t2 = InnerProductArgument.inner sL 0 r1 0 n
        let tau1, tau2 = PedersenVector.randomScalar (), PedersenVector.randomScalar ()
        let t1A = Vesta.toAffine (gPoint * t1 + hPoint * tau1)
        let t2A = Vesta.toAffine (gPoint * t2 + hPoint * tau2)
        absorbPoint t "bits T1" t1A
        absorbPoint t "bits T2" t2A
        let x = Transcript.squeezeChallenge t "bits x"
        let l = Array.zeroCreate<Fp> n
        let r = Array.zeroCreate<Fp> n
        Threading.Tasks.Parallel.For(0, n, fun i ->
            l[i] <- l0[i] + x * sL[i]
            r[i] <- r0[i] + x * r1[i]) |> ignore
        let tHat = InnerProductArgument.inner l 0 r 0 n
        let tauX = tau1 * x + tau2 * x * x
        let mu = alpha + alphaR + rho * x
        Transcript.absorbScalar t "bits tau_x" tauX
        Transcript.absorbScalar t "bits mu" mu
        Transcript.absorbScalar t "bits t_hat" tHat
        let w = Transcript.squeezeChallenge t "bits w"
        let ipa = InnerProductArgument.prove generators t (y.Invert()) w l r
        { AR = aRA; S = sA; T1 = t1A; T2 = t2A; TauX = tauX; Mu = mu; THat = tHat; Ipa = ipa }

    /// Proves the statement for the witness (a, α) with P0 = ⟨a, G⟩ + α·h. Throws
    /// (a bug in the caller, never an expected failure) if the witness does not satisfy it.
    let prove (generators: PedersenGenerators) (t: Transcript) (layout: BitLayout) (a: Fp[]) (alpha: Fp) (d: Fp[]) (k: Fp) : BitConstraintProof =
        proveWith generators true t layout a alpha d k

    /// The same prover without the witness checks: what a cheating prover can run on a false
    /// statement. Tests use it to show that the verifier rejects such proofs; never use it
    /// to produce real proofs.
    let proveUnchecked (generators: PedersenGenerators) (t: Transcript) (layout: BitLayout) (a: Fp[]) (alpha: Fp) (d: Fp[]) (k: Fp) : BitConstraintProof =
        proveWith generators false t layout a alpha d k

    /// Verifies a proof against P0 (Error names the failing check).
    let verify (generators: PedersenGenerators) (t: Transcript) (layout: BitLayout) (p0: Vesta) (d: Fp[]) (k: Fp) (proof: BitConstraintProof) : Result<unit, string> =
        checkLayout layout
        let n = layout.Length
        if d.Length <> n then invalidArg "d" "d must have the layout's length"
        let b0, b1 = layout.BitStart, layout.BitStart + layout.BitCount
        absorbPoint t "bits A_R" proof.AR
        absorbPoint t "bits S" proof.S
        let y = Transcript.squeezeChallenge t "bits y"
        let z = Transcript.squeezeChallenge t "bits z"
        if y.IsZero then Error "bit-constraint proof: zero challenge y"
        else
        absorbPoint t "bits T1" proof.T1
        absorbPoint t "bits T2" proof.T2
        let x = Transcript.squeezeChallenge t "bits x"
        Transcript.absorbScalar t "bits tau_x" proof.TauX
        Transcript.absorbScalar t "bits mu" proof.Mu
        Transcript.absorbScalar t "bits t_hat" proof.THat
        let w = Transcript.squeezeChallenge t "bits w"
        let yInv = y.Invert()
        match InnerProductArgument.verify t n yInv w proof.Ipa with
        | Error e -> Error e
        | Ok ipa ->
        let z2 = z * z
        let yp = InnerProductArgument.powers y n
        let mutable sumY = Fp.Zero
        let mutable sumD = Fp.Zero
        for i in b0 .. b1 - 1 do
            sumY <- sumY + yp[i]
            sumD <- sumD + d[i]
        let delta = (z - z2) * sumY - z2 * z * sumD
        // t̂·g + τ_x·h − (z²K + δ)·g − x·T1 − x²·T2 = 0
        let tCheck =
            PedersenVector.msm
                (ReadOnlyMemory [| PedersenVector.valueGenerator; PedersenVector.blindingGenerator; proof.T1; proof.T2 |])
                (ReadOnlyMemory [| proof.THat - z2 * k - delta; proof.TauX; -x; -(x * x) |])
        if not tCheck.IsIdentity then Error "bit-constraint proof: the t-polynomial check failed"
        else
        let yInvP = InnerProductArgument.powers yInv n
        let gScalars = ipa.GScalars
        let hScalars = ipa.HScalars
        Threading.Tasks.Parallel.For(0, n, fun i ->
            let inBits = i >= b0 && i < b1
            let hs = z2 * yInvP[i] * d[i]
            if inBits then
                gScalars[i] <- gScalars[i] - z
                hScalars[i] <- hScalars[i] + z + hs
            else
                hScalars[i] <- hScalars[i] + hs) |> ignore
        let g = generators.G.Get n
        let hg = generators.H.Get n
        let extraPoints =
            Array.append [| Vesta.toAffine p0; proof.AR; proof.S; PedersenVector.blindingGenerator; PedersenVector.innerProductGenerator |] ipa.Points
        let extraScalars = Array.append [| Fp.One; Fp.One; x; -proof.Mu; w * proof.THat |] ipa.Scalars
        let points = Array.concat [ Array.sub g 0 n; Array.sub hg 0 n; extraPoints ]
        let scalars = Array.concat [ gScalars; hScalars; extraScalars ]
        let total = PedersenVector.msm (ReadOnlyMemory points) (ReadOnlyMemory scalars)
        if total.IsIdentity then Ok() else Error "bit-constraint proof: the inner product argument check failed"
