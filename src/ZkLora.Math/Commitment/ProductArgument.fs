/// A zero-knowledge argument that two committed short vectors have a committed inner
/// product: for P = ⟨p, Gp⟩ + ρ_p·h, Q = ⟨q, Gq⟩ + ρ_q·h and V = c·gc + γ·h, that
/// c = ⟨p, q⟩. (Bulletproofs' t-polynomial step without the log-size compression; meant
/// for vectors of a LoRA rank, where sending them blinded costs less than the rounds.)
///
/// Prover: s_p, s_q, σ_p, σ_q, τ1, τ2 uniform (CSPRNG); S_P = ⟨s_p, Gp⟩ + σ_p·h,
/// S_Q = ⟨s_q, Gq⟩ + σ_q·h, t1 = ⟨p, s_q⟩ + ⟨s_p, q⟩, t2 = ⟨s_p, s_q⟩,
/// T_i = t_i·gc + τ_i·h. Absorb S_P, S_Q, T1, T2; squeeze x ≠ 0. Send
/// l = p + x·s_p, r = q + x·s_q, μ_p = ρ_p + x·σ_p, μ_q = ρ_q + x·σ_q, τ = γ + x·τ1 + x²·τ2
/// (and absorb them, so later challenges bind them).
/// Verifier: P + x·S_P = ⟨l, Gp⟩ + μ_p·h, Q + x·S_Q = ⟨r, Gq⟩ + μ_q·h,
/// V + x·T1 + x²·T2 = ⟨l, r⟩·gc + τ·h.
///
/// Soundness (special soundness, 3 challenges): two accepting transcripts open P, S_P and
/// Q, S_Q (binding); three give c + x·t1 + x²·t2 = ⟨p + x·s_p, q + x·s_q⟩ at three points, so
/// the two quadratics are equal and c = ⟨p, q⟩. Fiat–Shamir error ≈ 2/p per query.
/// Zero knowledge: l, r are uniform (masked by s_p, s_q), μ_p, μ_q, τ are uniform
/// (σ_p, σ_q, τ1), and S_P, S_Q, T1 follow from them and T2 (perfectly hiding), so a
/// simulator samples l, r, μ_p, μ_q, τ, T2 and solves for S_P, S_Q, T1.
namespace ZkLora.Math.Commitment

open System
open ZkLora.Math
open ZkLora.Math.Transcript

/// A product argument.
type ProductProof =
    { SP: VestaAffine
      SQ: VestaAffine
      T1: VestaAffine
      T2: VestaAffine
      L: Fp[]
      R: Fp[]
      MuP: Fp
      MuQ: Fp
      Tau: Fp }

[<RequireQualifiedAccess>]
module ProductArgument =
    let private absorbPoint (t: Transcript) (label: string) (p: VestaAffine) = t.AbsorbPoint(label, ReadOnlySpan(p.ToBytes()))

    let private dot (a: Fp[]) (b: Fp[]) = Array.fold2 (fun acc x y -> acc + x * y) Fp.Zero a b

    let private absorbResponses (t: Transcript) (proof: ProductProof) =
        for v in proof.L do Transcript.absorbScalar t "product l" v
        for v in proof.R do Transcript.absorbScalar t "product r" v
        Transcript.absorbScalar t "product mu_p" proof.MuP
        Transcript.absorbScalar t "product mu_q" proof.MuQ
        Transcript.absorbScalar t "product tau" proof.Tau

    let private proveWith (check: bool) (t: Transcript) (gp: VestaAffine[]) (gq: VestaAffine[]) (gc: VestaAffine)
              (p: Fp[]) (rhoP: Fp) (q: Fp[]) (rhoQ: Fp) (c: Fp) (gamma: Fp) : ProductProof =
        let m = p.Length
        if q.Length <> m || gp.Length <> m || gq.Length <> m then invalidArg "q" "p, q, Gp and Gq must have the same length"
        if check && dot p q <> c then invalidOp "product argument: c is not ⟨p, q⟩"
        let h = Vesta.ofAffine PedersenVector.blindingGenerator
        let g = Vesta.ofAffine gc
        let sp, sq = PedersenVector.randomScalars m, PedersenVector.randomScalars m
        let sigP, sigQ = PedersenVector.randomScalar (), PedersenVector.randomScalar ()
        let tau1, tau2 = PedersenVector.randomScalar (), PedersenVector.randomScalar ()
        let spA = Vesta.toAffine (PedersenVector.msm (ReadOnlyMemory gp) (ReadOnlyMemory sp) + h * sigP)
        let sqA = Vesta.toAffine (PedersenVector.msm (ReadOnlyMemory gq) (ReadOnlyMemory sq) + h * sigQ)
        let t1 = dot p sq + dot sp q
        let t2 = dot sp sq
        let t1A = Vesta.toAffine (g * t1 + h * tau1)
        let t2A = Vesta.toAffine (g * t2 + h * tau2)
        absorbPoint t "product S_P" spA
        absorbPoint t "product S_Q" sqA
        absorbPoint t "product T1" t1A
        absorbPoint t "product T2" t2A
        let x = Transcript.squeezeChallenge t "product x"
        if x.IsZero then invalidOp "product argument: zero challenge"
        let proof =
            { SP = spA; SQ = sqA; T1 = t1A; T2 = t2A
              L = Array.init m (fun i -> p[i] + x * sp[i])
              R = Array.init m (fun i -> q[i] + x * sq[i])
              MuP = rhoP + x * sigP
              MuQ = rhoQ + x * sigQ
              Tau = gamma + x * tau1 + x * x * tau2 }
        absorbResponses t proof
        proof

    /// Proves c = ⟨p, q⟩ for the openings (p, ρ_p), (q, ρ_q), (c, γ). Throws if c ≠ ⟨p, q⟩.
    let prove t gp gq gc p rhoP q rhoQ c gamma = proveWith true t gp gq gc p rhoP q rhoQ c gamma

    /// The prover without the check c = ⟨p, q⟩ (a cheating prover, for tests of the verifier).
    let proveUnchecked t gp gq gc p rhoP q rhoQ c gamma = proveWith false t gp gq gc p rhoP q rhoQ c gamma

    /// Verifies a product argument for the commitments P, Q, V.
    let verify (t: Transcript) (gp: VestaAffine[]) (gq: VestaAffine[]) (gc: VestaAffine)
               (pC: Vesta) (qC: Vesta) (vC: Vesta) (proof: ProductProof) : Result<unit, string> =
        let m = gp.Length
        if gq.Length <> m then invalidArg "gq" "Gp and Gq must have the same length"
        if proof.L.Length <> m || proof.R.Length <> m then Error "product argument: wrong vector length"
        else
        absorbPoint t "product S_P" proof.SP
        absorbPoint t "product S_Q" proof.SQ
        absorbPoint t "product T1" proof.T1
        absorbPoint t "product T2" proof.T2
        let x = Transcript.squeezeChallenge t "product x"
        absorbResponses t proof
        if x.IsZero then Error "product argument: zero challenge"
        else
        let h = PedersenVector.blindingGenerator
        let isZero (points: VestaAffine[]) (scalars: Fp[]) =
            (PedersenVector.msm (ReadOnlyMemory points) (ReadOnlyMemory scalars)).IsIdentity
        let okP = isZero (Array.append [| Vesta.toAffine pC; proof.SP; h |] gp) (Array.append [| Fp.One; x; -proof.MuP |] (Array.map (fun v -> -v) proof.L))
        let okQ = isZero (Array.append [| Vesta.toAffine qC; proof.SQ; h |] gq) (Array.append [| Fp.One; x; -proof.MuQ |] (Array.map (fun v -> -v) proof.R))
        let okT = isZero [| Vesta.toAffine vC; proof.T1; proof.T2; gc; h |] [| Fp.One; x; x * x; -(dot proof.L proof.R); -proof.Tau |]
        if not okP then Error "product argument: the P opening check failed"
        elif not okQ then Error "product argument: the Q opening check failed"
        elif not okT then Error "product argument: the inner-product check failed"
        else Ok()
