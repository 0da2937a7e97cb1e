/// The Bulletproofs inner product argument (Bünz et al. 2018, protocol 1 with the
/// generator-scaling of §4.2) on Vesta: for P = ⟨a, G⟩ + ⟨b, H'⟩ + ⟨a, b⟩·(w·U) with
/// H'_i = κ^i·H_i, it proves knowledge of a, b in log₂ n rounds.
///
/// This argument is NOT zero knowledge by itself: it is used, as in Bulletproofs, only to
/// compress the sending of vectors l, r that the calling protocol has already blinded
/// (every entry that depends on a secret carries an independent uniform mask), so sending
/// l and r in the clear would be zero knowledge and the compression reveals no more.
///
/// Round (length len, half = len/2): the prover sends
///   L = ⟨a_hi, G_lo⟩ + ⟨b_lo, H'_hi⟩ + ⟨a_hi, b_lo⟩·wU,  R = ⟨a_lo, G_hi⟩ + ⟨b_hi, H'_lo⟩ + ⟨a_lo, b_hi⟩·wU,
/// gets an endoscaled challenge u = a + b·λ ≠ 0 (a, b 64-bit halves of the transcript
/// output, 2^128 possible values; see endoChallenge) and folds a' = a_lo + u⁻¹a_hi, b' = b_lo + u·b_hi,
/// G' = G_lo + u·G_hi, H'' = H'_lo + u⁻¹·H'_hi, so that P' = P + u⁻¹L + uR. With
/// H'_i = κ^i·H_i the folded H'' is again κ^i times concrete points
/// (H_lo + (u⁻¹κ^half)·H_hi), so the prover never scales generators one by one.
/// The verifier checks, in one multi-scalar multiplication,
///   P + Σ_j (u_j⁻¹L_j + u_jR_j) − a·Σ s_i G_i − b·Σ s'_i κ^i H_i − a·b·wU = 0,
/// s_i = Π over the rounds j whose half-bit of i is set of u_j (s' with u_j⁻¹).
///
/// Soundness: the standard extractor (Bulletproofs Thm. 1) rewinds each round for 4
/// challenges and recovers (a, b) with P = ⟨a, G⟩ + ⟨b, H'⟩ + ⟨a, b⟩wU or a non-trivial
/// discrete-log relation between the hashed generators. A 128-bit challenge keeps the
/// per-round error at ≈ 2·2^-128 (the folding polynomial has degree 2 in u, u⁻¹).
namespace ZkLora.Math.Commitment

open System
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Transcript

/// An inner product argument: the round points and the two final scalars.
type IpaProof =
    { L: VestaAffine[]
      R: VestaAffine[]
      A: Fp
      B: Fp }

/// The verifier's side of one inner product argument, still to be added to the
/// commitment P it was run on: P + Σ GScalars_i·G_i + Σ HScalars_i·H_i + Σ Scalars_j·Points_j = 0.
type IpaCheck =
    { GScalars: Fp[]
      HScalars: Fp[]
      Scalars: Fp[]
      Points: VestaAffine[] }

[<RequireQualifiedAccess>]
module InnerProductArgument =
    /// The low 128 bits of a transcript challenge (as Ipa.roundChallenge).
    let roundChallenge (c: Fp) : Fp =
        let b = c.ToBytes()
        Array.Clear(b, 16, 16)
        match Fp.TryReadBytes(ReadOnlySpan b) with
        | Ok v -> v
        | Error e -> invalidOp e

    /// An endoscaled round challenge: the low 128 bits of c as two 64-bit halves a, b, and
    /// u = a + b·λ with λ the eigenvalue of Vesta's endomorphism (VestaFold). Distinct (a, b)
    /// give distinct u (the lattice {(a, b) : a + bλ ≡ 0} has no non-zero vector with both
    /// entries below 2^65), so u ranges over 2^128 values, as a 128-bit challenge; but u·P is
    /// a·P + b·φ(P), 64 doublings instead of 128 in the prover's generator fold.
    let endoChallenge (c: Fp) : Fp * Numerics.BigInteger * Numerics.BigInteger =
        let b = c.ToBytes()
        let lo = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(b, 0, 8))
        let hi = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(b, 8, 8))
        let u = Fp.OfUInt64 lo + Fp.OfUInt64 hi * VestaFold.endomorphismEigenvalue ()
        u, Numerics.BigInteger lo, Numerics.BigInteger hi

    let private parallelThreshold = 1 <<< 12

    /// ⟨a[ao..ao+len), b[bo..bo+len)⟩ (parallel for long vectors).
    let internal inner (a: Fp[]) (ao: int) (b: Fp[]) (bo: int) (len: int) : Fp =
        if len < parallelThreshold then
            let mutable acc = Fp.Zero
            for i in 0 .. len - 1 do acc <- acc + a[ao + i] * b[bo + i]
            acc
        else
            let chunks = 4 * Environment.ProcessorCount
            let size = (len + chunks - 1) / chunks
            let partial = Array.zeroCreate<Fp> chunks
            Parallel.For(0, chunks, fun c ->
                let lo = c * size
                let hi = min len (lo + size)
                let mutable acc = Fp.Zero
                for i in lo .. hi - 1 do acc <- acc + a[ao + i] * b[bo + i]
                partial[c] <- acc) |> ignore
            Array.fold (+) Fp.Zero partial

    /// powers[i] = x^i for i < n.
    let powers (x: Fp) (n: int) : Fp[] =
        let p = Array.zeroCreate<Fp> n
        if n > 0 then
            p[0] <- Fp.One
            for i in 1 .. n - 1 do p[i] <- p[i - 1] * x
        p

    /// s_i = Π_{j: bit (k−1−j) of i set} us_j.
    let foldingScalars (us: Fp[]) : Fp[] =
        let k = us.Length
        let s = Array.zeroCreate<Fp> (1 <<< k)
        s[0] <- Fp.One
        let mutable len = 1
        for j in k - 1 .. -1 .. 0 do
            for i in 0 .. len - 1 do s[len + i] <- s[i] * us[j]
            len <- len * 2
        s

    let private forRange (n: int) (body: int -> unit) =
        if n < parallelThreshold then
            for i in 0 .. n - 1 do body i
        else
            Parallel.For(0, n, body) |> ignore

    let private isPowerOfTwo (n: int) = n > 0 && (n &&& (n - 1)) = 0

    /// Proves knowledge of a, b (equal power-of-two length n) for
    /// P = ⟨a, G[0..n)⟩ + ⟨b, H'⟩ + ⟨a, b⟩·(uScale·U), H'_i = κ^i·H_i. Writes L_j, R_j into
    /// the transcript (labels "ipa L", "ipa R") and squeezes "ipa u". a and b are not modified.
    let prove (generators: PedersenGenerators) (t: Transcript) (kappa: Fp) (uScale: Fp) (a: Fp[]) (b: Fp[]) : IpaProof =
        let n = a.Length
        if b.Length <> n then invalidArg "b" "a and b must have the same length"
        if not (isPowerOfTwo n) then invalidArg "a" "the length must be a power of two"
        let av = Array.copy a
        let bv = Array.copy b
        // The cached generator arrays themselves (possibly longer than n): the first round reads
        // entries [0, n) and the folds write new arrays, so no copy of 2n points is needed.
        let mutable gv = generators.G.Get n
        let mutable hv = generators.H.Get n
        let kp = powers kappa n
        let wU = Vesta.ofAffine PedersenVector.innerProductGenerator * uScale
        let k = Numerics.BitOperations.Log2(uint32 n)
        let ls = Array.zeroCreate<VestaAffine> k
        let rs = Array.zeroCreate<VestaAffine> k
        let mutable len = n
        let mutable round = 0
        let scratch = Array.zeroCreate<Fp> (max 1 (n / 2))
        while len > 1 do
            let half = len / 2
            let cL = inner av half bv 0 half
            let cR = inner av 0 bv half half
            // ⟨b_lo, H'_hi⟩ = Σ b_lo,i·κ^(half+i)·H_(half+i)
            forRange half (fun i -> scratch[i] <- bv[i] * kp[half + i])
            let lPoint =
                PedersenVector.msm (ReadOnlyMemory(gv, 0, half)) (ReadOnlyMemory(av, half, half))
                + PedersenVector.msm (ReadOnlyMemory(hv, half, half)) (ReadOnlyMemory(scratch, 0, half))
                + wU * cL
            forRange half (fun i -> scratch[i] <- bv[half + i] * kp[i])
            let rPoint =
                PedersenVector.msm (ReadOnlyMemory(gv, half, half)) (ReadOnlyMemory(av, 0, half))
                + PedersenVector.msm (ReadOnlyMemory(hv, 0, half)) (ReadOnlyMemory(scratch, 0, half))
                + wU * cR
            let lA = Vesta.toAffine lPoint
            let rA = Vesta.toAffine rPoint
            t.AbsorbPoint("ipa L", ReadOnlySpan(lA.ToBytes()))
            t.AbsorbPoint("ipa R", ReadOnlySpan(rA.ToBytes()))
            let u, ua, ub = endoChallenge (Transcript.squeezeChallenge t "ipa u")
            if u.IsZero then invalidOp "ipa: zero round challenge"
            let uInv = u.Invert()
            forRange half (fun i ->
                av[i] <- av[i] + uInv * av[half + i]
                bv[i] <- bv[i] + u * bv[half + i])
            gv <- VestaFold.foldEndo gv half u ua ub
            hv <- VestaFold.fold hv half (uInv * kp[half])
            ls[round] <- lA
            rs[round] <- rA
            round <- round + 1
            len <- half
        { L = ls; R = rs; A = av[0]; B = bv[0] }

    /// Replays the transcript of a proof for length n (absorbing L_j, R_j, squeezing u_j)
    /// and returns the terms that, added to P, must give the identity. Error for a proof
    /// of the wrong size or a zero challenge.
    let verify (t: Transcript) (n: int) (kappa: Fp) (uScale: Fp) (proof: IpaProof) : Result<IpaCheck, string> =
        if not (isPowerOfTwo n) then invalidArg "n" "the length must be a power of two"
        let k = Numerics.BitOperations.Log2(uint32 n)
        if proof.L.Length <> k || proof.R.Length <> k then
            Error(sprintf "inner product argument: expected %d rounds, got %d/%d" k proof.L.Length proof.R.Length)
        else
            let us = Array.zeroCreate<Fp> k
            let mutable error = None
            for j in 0 .. k - 1 do
                t.AbsorbPoint("ipa L", ReadOnlySpan(proof.L[j].ToBytes()))
                t.AbsorbPoint("ipa R", ReadOnlySpan(proof.R[j].ToBytes()))
                let u, _, _ = endoChallenge (Transcript.squeezeChallenge t "ipa u")
                us[j] <- u
                if us[j].IsZero then error <- Some "inner product argument: zero round challenge"
            match error with
            | Some e -> Error e
            | None ->
                let usInv = Array.copy us
                Fp.BatchInvert(Span usInv)
                let s = foldingScalars us
                let sInv = foldingScalars usInv
                let kp = powers kappa n
                let gScalars = Array.zeroCreate<Fp> n
                let hScalars = Array.zeroCreate<Fp> n
                let a, b = proof.A, proof.B
                forRange n (fun i ->
                    gScalars[i] <- -(a * s[i])
                    hScalars[i] <- -(b * sInv[i] * kp[i]))
                let scalars = Array.concat [ usInv; us; [| -(a * b * uScale) |] ]
                let points = Array.concat [ proof.L; proof.R; [| PedersenVector.innerProductGenerator |] ]
                Ok { GScalars = gScalars; HScalars = hScalars; Scalars = scalars; Points = points }
