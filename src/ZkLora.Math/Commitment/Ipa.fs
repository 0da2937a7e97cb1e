/// Inner-product-argument polynomial commitment (Bulletproofs / Halo, as in the Halo 2
/// book), transparent: every generator is hashed to the group, so nobody knows discrete
/// logarithms between them and there is no trusted setup.
///
/// Commitments are Pedersen vector commitments to a polynomial's values on the domain
/// H = {ω^i}: C = Σ v_i·G_i + r·W (hiding through the random blind r on the separate
/// generator W). Working in the Lagrange basis means committing to column values needs
/// no FFT and no generator FFT at setup; an opening at z proves ⟨v, b⟩ = p(z) with
/// b_i = L_i(z), which the verifier computes in O(n) field operations (next to the
/// O(n) multi-scalar multiplication every IPA verifier performs anyway).
///
/// Opening (zero knowledge): the prover commits S to a random vector s with ⟨s, b⟩ = 0;
/// with challenges ξ, ζ_U the claim becomes P = C + ξ·S + (v·ζ_U)·U for a' = v + ξ·s; k
/// halving rounds send L_j, R_j (each blinded on W) and fold a', b and the generators
/// with a 128-bit challenge u_j; finally the prover reveals the folded scalar c and the combined
/// blind f. The verifier checks
///     P + Σ (u_j⁻¹·L_j + u_j·R_j) = c·⟨s_u, G⟩ + (c·⟨s_u, b⟩·ζ_U)·U + f·W,
/// with s_u the vector of products of the u_j. Soundness: binding of Pedersen commitments
/// under the discrete-log assumption and the special soundness of the folding (an
/// extractor rewinds the u_j); ζ_U stops the prover mixing the U component into its
/// commitments; ξ binds S after C. Zero knowledge: s masks the revealed c, the random
/// round blinds and r mask f, and every sent point carries a fresh W blind.
module ZkLora.Math.Commitment.Ipa

open System
open System.Collections.Concurrent
open ZkLora.Math
open ZkLora.Math.Transcript
open ZkLora.Math.Poly

/// Public parameters for domain size 2^k.
type Params<'G> =
    { K: int
      /// Lagrange-basis generators G_0 .. G_{n-1}.
      G: 'G[]
      /// Blinding generator.
      W: 'G
      /// Inner-product value generator.
      U: 'G }

let private domain = "zklora/ipa/params/v1"

/// Derives the parameters for 2^k from hash-to-group (deterministic; independent
/// generators for every k).
let derive (group: IGroup<'G>) (k: int) : Params<'G> =
    let n = 1 <<< k
    { K = k
      G = group.Generators(sprintf "%s/k=%d/G" domain k, n)
      W = (group.Generators(domain + "/W", 1))[0]
      U = (group.Generators(domain + "/U", 1))[0] }

/// A round challenge: the transcript challenge's low 128 bits. Folding the generators
/// costs one scalar multiplication per pair, and 128-bit scalars halve its doublings;
/// 128 bits of challenge entropy per round keep the folding's soundness error ≈ 2^-128.
let roundChallenge (c: Fp) : Fp =
    let struct (l0, l1, _, _) = c.CanonicalLimbs
    Fp.OfCanonicalLimbs(l0, l1, 0UL, 0UL)

let private inner (a: ReadOnlySpan<Fp>) (b: ReadOnlySpan<Fp>) =
    let mutable acc = Fp.Zero
    for i in 0 .. a.Length - 1 do acc <- acc + a[i] * b[i]
    acc

/// s_u with s_i = Π_{j: bit (k-1-j) of i set} u_j (the generator folding of the rounds).
let foldingScalars (us: Fp[]) : Fp[] =
    let k = us.Length
    let s = Array.zeroCreate<Fp> (1 <<< k)
    s[0] <- Fp.One
    let mutable len = 1
    for j in k - 1 .. -1 .. 0 do
        for i in 0 .. len - 1 do s[len + i] <- s[i] * us[j]
        len <- len * 2
    s

/// The deferred final equation of one opening:
/// Σ Scalars_i·Points_i + C·⟨s_u, G⟩-term = 0, where the G-term is -c·Σ s_u,i·G_i.
type internal Check<'G> =
    { K: int
      Points: 'G[]
      Scalars: Fp[]
      C: Fp
      Us: Fp[] }
    interface IDeferredCheck

let private msm (group: IGroup<'G>) (scalars: Fp[]) (points: 'G[]) =
    group.Msm(ReadOnlyMemory scalars, ReadOnlyMemory points)

/// Proves ⟨a, L(z)⟩ = value for the commitment Σ a_i·G_i + r·W; writes the proof.
let openValues (group: IGroup<'G>) (p: Params<'G>) (w: ProofWriter) (a: Fp[]) (r: Fp) (z: Fp) =
    let n = 1 <<< p.K
    if a.Length <> n then invalidArg "a" "one value per domain row is required"
    let b = PolyOps.lagrangeBasis (1 <<< p.K) z
    // A random s with ⟨s, b⟩ = 0 (Σ_i L_i(z) = 1, so subtracting ⟨s, b⟩ from every entry works).
    let s = Randomness.array n
    let t = inner (ReadOnlySpan s) (ReadOnlySpan b)
    for i in 0 .. n - 1 do s[i] <- s[i] - t
    let sBlind = Fp.Random()
    let sCommitment = group.Add(msm group s p.G, group.Mul(p.W, sBlind))
    w.WriteCommitment("ipa s", group.Encode sCommitment)
    let xi = w.Challenge "ipa xi"
    let zU = w.Challenge "ipa u scale"
    let av = Array.init n (fun i -> a[i] + xi * s[i])
    let bv = Array.copy b
    let mutable gv = p.G
    let mutable f = r + xi * sBlind
    let mutable len = n
    while len > 1 do
        let half = len / 2
        let lBlind, rBlind = Fp.Random(), Fp.Random()
        let ipHiLo = inner (ReadOnlySpan(av, half, half)) (ReadOnlySpan(bv, 0, half))
        let ipLoHi = inner (ReadOnlySpan(av, 0, half)) (ReadOnlySpan(bv, half, half))
        // <a_src, G_dst> + (ip·ζ_U)·U + blind·W: one multi-scalar multiplication for small
        // rounds; for large ones the vector part runs on slices (no copies of the bases)
        // and the two extra terms are added separately.
        let withExtra (aOffset: int) (gOffset: int) (ipValue: Fp) (blind: Fp) =
            if half <= 4096 then
                let sc = Array.zeroCreate (half + 2)
                Array.blit av aOffset sc 0 half
                sc[half] <- ipValue * zU
                sc[half + 1] <- blind
                let pts = Array.zeroCreate (half + 2)
                Array.blit gv gOffset pts 0 half
                pts[half] <- p.U
                pts[half + 1] <- p.W
                msm group sc pts
            else
                let body = group.Msm(ReadOnlyMemory(av, aOffset, half), ReadOnlyMemory(gv, gOffset, half))
                let extra = msm group [| ipValue * zU |] [| p.U |]
                group.Add(group.Add(body, extra), group.Mul(p.W, blind))
        let lPoint = withExtra half 0 ipHiLo lBlind
        let rPoint = withExtra 0 half ipLoHi rBlind
        w.WriteCommitment("ipa L", group.Encode lPoint)
        w.WriteCommitment("ipa R", group.Encode rPoint)
        let u = roundChallenge (w.Challenge "ipa u")
        let uInv =
            match u.TryInvert() with
            | ValueSome v -> v
            | ValueNone -> invalidOp "ipa: zero round challenge"
        for i in 0 .. half - 1 do
            av[i] <- av[i] + uInv * av[half + i]
            bv[i] <- bv[i] + u * bv[half + i]
        gv <- group.Fold(gv, half, u)
        f <- f + uInv * lBlind + u * rBlind
        len <- half
    w.WriteScalar("ipa c", av[0])
    w.WriteScalar("ipa f", f)

let private verifyInner (group: IGroup<'G>) (p: Params<'G>) (r: ProofReader) (cScalars: Fp[]) (cPoints: 'G[]) (z: Fp) (value: Fp) : Result<IDeferredCheck, string> =
    let readPoint (label: string) =
        let bytes = r.ReadCommitmentBytes(label, group.EncodedSize)
        group.Decode(ReadOnlySpan bytes) |> Result.mapError (fun e -> sprintf "%s: %s" label e)
    match readPoint "ipa s" with
    | Error e -> Error e
    | Ok sCommitment ->
    let xi = r.Challenge "ipa xi"
    let zU = r.Challenge "ipa u scale"
    let k = p.K
    let ls = Array.zeroCreate k
    let rs = Array.zeroCreate k
    let us = Array.zeroCreate k
    let mutable error = None
    let mutable j = 0
    while error.IsNone && j < k do
        match readPoint "ipa L", readPoint "ipa R" with
        | Ok l, Ok rr ->
            ls[j] <- l
            rs[j] <- rr
            us[j] <- roundChallenge (r.Challenge "ipa u")
            if us[j].IsZero then error <- Some "ipa: zero round challenge"
        | Error e, _ | _, Error e -> error <- Some e
        j <- j + 1
    match error with
    | Some e -> Error e
    | None ->
    let c = r.ReadScalar "ipa c"
    let f = r.ReadScalar "ipa f"
    let b = PolyOps.lagrangeBasis (1 <<< k) z
    let s = foldingScalars us
    let bFinal = inner (ReadOnlySpan s) (ReadOnlySpan b)
    let usInv = Array.copy us
    Fp.BatchInvert(Span usInv)
    // the opened commitment C = Σ cScalars_i·cPoints_i enters the check term by term
    let points = Array.concat [ cPoints; [| sCommitment; p.U; p.W |]; ls; rs ]
    let scalars = Array.concat [ cScalars; [| xi; (value - c * bFinal) * zU; -f |]; usInv; us ]
    Ok({ K = k; Points = points; Scalars = scalars; C = c; Us = us } :> IDeferredCheck)

/// Reads an opening proof of `commitment` to `value` at `z`; returns the deferred check
/// (Error for malformed proofs).
let verifyValues (group: IGroup<'G>) (p: Params<'G>) (r: ProofReader) (commitment: 'G) (z: Fp) (value: Fp) : Result<IDeferredCheck, string> =
    Decode.run (fun () -> verifyInner group p r [| Fp.One |] [| commitment |] z value) |> Result.bind id

/// verifyValues for the commitment Σ scalars_i·commitments_i, whose terms join the deferred
/// check's multi-scalar multiplication instead of being combined first.
let verifyCombination (group: IGroup<'G>) (p: Params<'G>) (r: ProofReader) (scalars: Fp[]) (commitments: 'G[]) (z: Fp) (value: Fp) : Result<IDeferredCheck, string> =
    if scalars.Length <> commitments.Length then invalidArg "scalars" "one scalar per commitment is required"
    Decode.run (fun () -> verifyInner group p r scalars commitments z value) |> Result.bind id

/// Decides deferred checks together: Σ_p w_p·(equation_p) = 0 with CSPRNG weights
/// (w_0 = 1), as one multi-scalar multiplication. A false equation survives only with
/// probability 1/p.
let decide (group: IGroup<'G>) (p: Params<'G>) (checks: IDeferredCheck[]) =
    let cs = checks |> Array.map (fun c -> c :?> Check<'G>)
    if cs |> Array.exists (fun c -> c.K <> p.K) then invalidArg "checks" "checks of another size"
    let n = 1 <<< p.K
    let gScalars = Array.zeroCreate<Fp> n
    let points = ResizeArray<'G>()
    let scalars = ResizeArray<Fp>()
    for i in 0 .. cs.Length - 1 do
        let c = cs[i]
        let weight = if i = 0 then Fp.One else Fp.Random()
        let s = foldingScalars c.Us
        let coeff = -(weight * c.C)
        for t in 0 .. n - 1 do gScalars[t] <- gScalars[t] + coeff * s[t]
        points.AddRange c.Points
        for v in c.Scalars do scalars.Add(weight * v)
    let allScalars = Array.append gScalars (scalars.ToArray())
    let allPoints = Array.append p.G (points.ToArray())
    group.IsZero(msm group allScalars allPoints)

/// The IPA as the proving system's commitment scheme; parameters are derived once per k
/// and cached (bounded by `maxK`).
type IpaCommitmentScheme<'G>(group: IGroup<'G>, maxK: int) =
    let cache = ConcurrentDictionary<int, Lazy<Params<'G>>>()
    member _.Group = group
    member _.Params(k: int) =
        if k < 1 || k > maxK then invalidArg "k" (sprintf "k = %d is outside 1..%d" k maxK)
        cache.GetOrAdd(k, fun k -> lazy (derive group k)).Value
    interface ICommitmentScheme<'G> with
        member _.Name = "ipa-" + group.Name
        member _.MaxK = maxK
        member _.CommitmentSize _ = group.EncodedSize
        member _.Encode c = group.Encode c
        member _.Decode(_, bytes) = group.Decode(ReadOnlySpan bytes)
        member s.CommitLagrange(k, values, blind) =
            let p = s.Params k
            if values.Length <> p.G.Length then invalidArg "values" "one value per row is required"
            group.Add(msm group values p.G, group.Mul(p.W, blind))
        member s.Commit(k, coeffs, blind) =
            let p = s.Params k
            let values = Array.zeroCreate p.G.Length
            if coeffs.Length > values.Length then invalidArg "coeffs" "too many coefficients"
            Array.blit coeffs 0 values 0 coeffs.Length
            PolyOps.fft values
            group.Add(msm group values p.G, group.Mul(p.W, blind))
        member _.Combine(scalars, commitments) = msm group scalars commitments
        member s.Open(k, w, coeffs, blind, point) =
            let p = s.Params k
            let values = Array.zeroCreate p.G.Length
            Array.blit coeffs 0 values 0 coeffs.Length
            PolyOps.fft values
            openValues group p w values blind point
        member s.Verify(k, r, commitment, point, value) = verifyValues group (s.Params k) r commitment point value
        member s.VerifyCombination(k, r, scalars, commitments, point, value) =
            verifyCombination group (s.Params k) r scalars commitments point value
        member s.Decide checks =
            if checks.Length = 0 then true
            else
                let k = (checks[0] :?> Check<'G>).K
                decide group (s.Params k) checks
