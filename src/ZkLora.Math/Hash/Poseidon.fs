/// The Poseidon hash (Grassi et al., "Poseidon: A New Hash Function for Zero-Knowledge
/// Proof Systems", ePrint 2019/458) in the instance the Halo 2 ecosystem calls
/// `P128Pow5T3`: width t = 3, rate 2, S-box x^5, R_F = 8 full and R_P = 56 partial rounds,
/// round constants and a Cauchy MDS matrix drawn from the Grain LFSR exactly as the
/// Poseidon authors' parameter script does.
///
/// It lives in ZkLora.Math (not Proofs) because the in-circuit Poseidon gadget is built
/// next to the constraint system and must use these very constants; the adapter
/// commitment in ZkLora.Proofs is only one user.
///
/// Security: with these parameters Poseidon targets 128-bit security (the round numbers
/// include the authors' security margin) and is modelled as a random oracle / random
/// permutation by the protocols that use it. Constants are not chosen by us: they are a
/// deterministic output of the public Grain procedure, checked against halo2's tables.
namespace ZkLora.Math.Hash

open System
open System.Numerics
open ZkLora.Math

/// The Grain LFSR in self-shrinking mode, used by the Poseidon reference script to derive
/// round constants and MDS matrices (paper, appendix F). An 80-bit state seeded with the
/// instance description (field type, S-box type, field size n, width t, R_F, R_P, then
/// ones), clocked by b_{i+80} = b_{i+62} ⊕ b_{i+51} ⊕ b_{i+38} ⊕ b_{i+23} ⊕ b_{i+13} ⊕ b_i;
/// the first 160 output bits are discarded. Self-shrinking: bits are read in pairs and
/// the second is emitted only if the first is 1.
[<Sealed>]
type GrainLfsr(fieldBits: int, width: int, fullRounds: int, partialRounds: int) =
    let state = Array.create 80 true
    let mutable pos = 0
    do
        if fieldBits < 1 || fieldBits >= 4096 || width < 1 || width >= 4096
           || fullRounds < 0 || fullRounds >= 1024 || partialRounds < 0 || partialRounds >= 1024 then
            invalidArg "fieldBits" "Grain parameters do not fit their bit fields"
        // The reference script writes each field most-significant bit first.
        let setBits offset len (value: int) =
            for i in 0 .. len - 1 do
                state[offset + len - 1 - i] <- (value >>> i) &&& 1 = 1
        setBits 0 2 1 // field type: GF(p)
        setBits 2 4 0 // S-box: x^alpha (not x^-1)
        setBits 6 12 fieldBits
        setBits 18 12 width
        setBits 30 10 fullRounds
        setBits 40 10 partialRounds
        // bits 50..79 stay 1
    /// One LFSR clock: the new bit replaces the oldest one (circular buffer).
    let clock () =
        let inline at k = state[(pos + k) % 80]
        let b = at 62 <> at 51 <> at 38 <> at 23 <> at 13 <> at 0
        state[pos] <- b
        pos <- (pos + 1) % 80
        b
    do
        for _ in 1 .. 160 do clock () |> ignore

    /// The next bit of the self-shrinking generator.
    member _.NextBit() : bool =
        let mutable keep = clock ()
        let mutable bit = clock ()
        while not keep do
            keep <- clock ()
            bit <- clock ()
        bit

    /// The next `n` bits read as an unsigned integer, first bit most significant (as the
    /// reference script does).
    member g.NextInteger(n: int) : BigInteger =
        let mutable v = BigInteger.Zero
        for _ in 1 .. n do
            v <- (v <<< 1) + (if g.NextBit() then BigInteger.One else BigInteger.Zero)
        v

/// A Poseidon instance description.
type PoseidonSpec =
    { Width: int
      Rate: int
      FullRounds: int
      PartialRounds: int
      /// How many Grain-generated Cauchy matrices to skip before the one used (the
      /// reference script's security checks decide this out of band; 0 for P128Pow5T3).
      SecureMdsIndex: int }

/// The constants of one Poseidon instance over field 'P.
type PoseidonConstants<'P when 'P :> IFieldParams and 'P: struct> =
    { Spec: PoseidonSpec
      /// (R_F + R_P) rows of `Width` constants, in round order.
      RoundConstants: FieldElement<'P>[][]
      /// The MDS matrix M; the linear layer is state' = M · state.
      Mds: FieldElement<'P>[][]
      /// M^-1 (circuits use it to fold two partial rounds into one row).
      MdsInverse: FieldElement<'P>[][] }

/// Parameter generation by the Grain procedure.
[<RequireQualifiedAccess>]
module PoseidonConstants =

    /// P128Pow5T3: t = 3, rate 2, R_F = 8, R_P = 56, first Cauchy matrix.
    let p128Pow5T3Spec =
        { Width = 3; Rate = 2; FullRounds = 8; PartialRounds = 56; SecureMdsIndex = 0 }

    /// Inverse of a square matrix by Gauss–Jordan elimination; None if singular.
    let invertMatrix (m: FieldElement<'P>[][]) : FieldElement<'P>[][] option =
        let n = m.Length
        let a = Array.init n (fun i -> Array.append (Array.copy m[i]) (Array.init n (fun j -> if i = j then FieldElement<'P>.One else FieldElement<'P>.Zero)))
        let mutable ok = true
        let mutable col = 0
        while ok && col < n do
            match [ col .. n - 1 ] |> List.tryFind (fun r -> not (a[r][col]).IsZero) with
            | None -> ok <- false
            | Some piv ->
                let tmp = a[col]
                a[col] <- a[piv]
                a[piv] <- tmp
                let pivot = a[col][col]
                let inv = pivot.Invert()
                a[col] <- a[col] |> Array.map (fun v -> v * inv)
                for r in 0 .. n - 1 do
                    if r <> col && not (a[r][col]).IsZero then
                        let f = a[r][col]
                        a[r] <- Array.map2 (fun (v: FieldElement<'P>) w -> v - f * w) a[r] a[col]
                col <- col + 1
        if ok then Some(Array.init n (fun i -> a[i][n..])) else None

    /// Runs the Grain procedure for `spec` over field 'P: first (R_F + R_P)·t round
    /// constants, each an n-bit Grain integer with rejection of values ≥ p; then MDS
    /// candidates: 2t integers reduced mod p (no rejection, as the reference script does
    /// for these), retried until all 2t are distinct, skipping `SecureMdsIndex`
    /// candidates; M[i][j] = 1 / (x_i + y_j).
    let generate<'P when 'P :> IFieldParams and 'P: struct> (spec: PoseidonSpec) : PoseidonConstants<'P> =
        if spec.Width < 2 || spec.Rate < 1 || spec.Rate >= spec.Width || spec.FullRounds % 2 <> 0 || spec.SecureMdsIndex < 0 then
            invalidArg "spec" "invalid Poseidon spec"
        let p = FieldElement<'P>.Modulus
        let bits = int (p.GetBitLength ())
        let grain = GrainLfsr(bits, spec.Width, spec.FullRounds, spec.PartialRounds)
        let rec nextWithRejection () =
            let v = grain.NextInteger bits
            if v < p then FieldElement<'P>.OfBigInteger v else nextWithRejection ()
        let t = spec.Width
        let roundConstants =
            Array.init (spec.FullRounds + spec.PartialRounds) (fun _ -> Array.init t (fun _ -> nextWithRejection ()))
        let rec distinctCandidates () =
            let vals = Array.init (2 * t) (fun _ -> grain.NextInteger bits % p)
            if (Array.distinct vals).Length = vals.Length then vals else distinctCandidates ()
        let mutable skip = spec.SecureMdsIndex
        let mutable candidate = distinctCandidates ()
        while skip > 0 do
            skip <- skip - 1
            candidate <- distinctCandidates ()
        let xs = candidate[.. t - 1] |> Array.map FieldElement<'P>.OfBigInteger
        let ys = candidate[t ..] |> Array.map FieldElement<'P>.OfBigInteger
        let mds =
            Array.init t (fun i ->
                Array.init t (fun j ->
                    match (xs[i] + ys[j]).TryInvert() with
                    | ValueSome v -> v
                    // x_i = -y_j: the reference procedure's security selection rules this out.
                    | ValueNone -> failwith "Poseidon MDS candidate has x_i + y_j = 0; choose another SecureMdsIndex"))
        let inverse =
            match invertMatrix mds with
            | Some inv -> inv
            | None -> failwith "Poseidon MDS matrix is singular (impossible for a Cauchy matrix)"
        { Spec = spec; RoundConstants = roundConstants; Mds = mds; MdsInverse = inverse }

/// The width-3, x^5 Poseidon permutation.
///
/// `Permute` is the optimised form of the Poseidon paper's appendix B (the same function,
/// fewer multiplications): in the partial rounds
/// - round constants are moved backwards through M^-1 so that every partial round but the
///   first adds a single scalar to word 0 (right after the previous S-box);
/// - each M is factored as M = S_k · diag(1, N_k) with S_k sparse ([[m00, b_k^T], [w_k, I]]);
///   diag(1, N_k) only touches words 1, 2, so it commutes with the S-box on word 0 and is
///   folded into the previous round's matrix; one 2×2 matrix N_0 is applied up front.
/// That costs 8 multiplications per partial round instead of 12 (596 per permutation
/// instead of 816). `PermuteReference` is the textbook round function; tests check both
/// against halo2's vectors and against each other.
[<Sealed>]
type Pow5T3<'P when 'P :> IFieldParams and 'P: struct>(constants: PoseidonConstants<'P>) =
    let spec = constants.Spec
    do
        if spec.Width <> 3 || spec.Rate <> 2 then invalidArg "constants" "Pow5T3 needs a width-3, rate-2 instance"
    let halfFull = spec.FullRounds / 2
    let partial = spec.PartialRounds
    let rc = Array.concat constants.RoundConstants
    let m = constants.Mds
    let m00, m01, m02 = m[0][0], m[0][1], m[0][2]
    let m10, m11, m12 = m[1][0], m[1][1], m[1][2]
    let m20, m21, m22 = m[2][0], m[2][1], m[2][2]

    static let pow5 (x: FieldElement<'P>) =
        let x2 = x * x
        x2 * x2 * x

    // ---- optimised partial rounds (see the type comment) ----------------------------
    /// 2×2 matrices as (a, b, c, d) = [[a, b], [c, d]].
    static let mul2 (struct (a: FieldElement<'P>, b: FieldElement<'P>, c: FieldElement<'P>, d: FieldElement<'P>))
                    (struct (e: FieldElement<'P>, f: FieldElement<'P>, g: FieldElement<'P>, h: FieldElement<'P>)) =
        struct (a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h)

    /// (c'_0, scalars, sparse rows, N_0), or None when some 2×2 block is singular (never for
    /// an MDS matrix; the reference round function is used then).
    let optimised =
        if partial = 0 then None
        else
            let minv = constants.MdsInverse
            // Constant movement: C_k (k = partial round index) → scalar s_k for k ≥ 1.
            let cs = Array.init partial (fun k -> Array.copy constants.RoundConstants[halfFull + k])
            let scalars = Array.create partial FieldElement<'P>.Zero
            for k in partial - 1 .. -1 .. 1 do
                let ck = cs[k]
                let u i = minv[i][0] * ck[0] + minv[i][1] * ck[1] + minv[i][2] * ck[2]
                let u0, u1, u2 = u 0, u 1, u 2
                cs[k - 1][1] <- cs[k - 1][1] + u1
                cs[k - 1][2] <- cs[k - 1][2] + u2
                scalars[k] <- u0
            // Matrix factorisation, from the last partial round backwards.
            let mHat = struct (m11, m12, m21, m22)
            let mutable nNext = struct (FieldElement<'P>.One, FieldElement<'P>.Zero, FieldElement<'P>.Zero, FieldElement<'P>.One)
            let sparse = Array.zeroCreate<FieldElement<'P>> (4 * partial)
            let mutable ok = true
            for k in partial - 1 .. -1 .. 0 do
                let struct (na, nb, nc, nd) = nNext
                // w_k = N_{k+1} · w
                sparse[4 * k + 2] <- na * m10 + nb * m20
                sparse[4 * k + 3] <- nc * m10 + nd * m20
                let nk = mul2 nNext mHat
                let struct (a, b, c, d) = nk
                match (a * d - b * c).TryInvert() with
                | ValueNone -> ok <- false
                | ValueSome inv ->
                    // b_k = N_k^-T · v, N_k^-T = inv · [[d, -c], [-b, a]]
                    sparse[4 * k] <- inv * (d * m01 - c * m02)
                    sparse[4 * k + 1] <- inv * (a * m02 - b * m01)
                nNext <- nk
            if not ok then None
            else
                // The scalar added after round k's S-box is s_{k+1} (zero after the last round).
                let after = Array.init partial (fun k -> if k + 1 < partial then scalars[k + 1] else FieldElement<'P>.Zero)
                Some(cs[0], after, sparse, nNext)

    member _.Constants = constants

    /// True when `Permute` uses the optimised partial rounds (always, for MDS matrices).
    member _.IsOptimised = optimised.IsSome

    /// The textbook round function: add constants, S-box (all words or word 0), multiply by M.
    member _.PermuteReference(s0: byref<FieldElement<'P>>, s1: byref<FieldElement<'P>>, s2: byref<FieldElement<'P>>) =
        let mutable a = s0
        let mutable b = s1
        let mutable c = s2
        let mutable k = 0
        for r in 0 .. spec.FullRounds + partial - 1 do
            let full = r < halfFull || r >= halfFull + partial
            let x = pow5 (a + rc[k])
            let y = if full then pow5 (b + rc[k + 1]) else b + rc[k + 1]
            let z = if full then pow5 (c + rc[k + 2]) else c + rc[k + 2]
            k <- k + 3
            a <- m00 * x + m01 * y + m02 * z
            b <- m10 * x + m11 * y + m12 * z
            c <- m20 * x + m21 * y + m22 * z
        s0 <- a
        s1 <- b
        s2 <- c

    /// Permutes three state words in place.
    member p.Permute(s0: byref<FieldElement<'P>>, s1: byref<FieldElement<'P>>, s2: byref<FieldElement<'P>>) =
        match optimised with
        | None -> p.PermuteReference(&s0, &s1, &s2)
        | Some(c0, after, sparse, n0) ->
            let mutable a = s0
            let mutable b = s1
            let mutable c = s2
            let mutable k = 0
            for _ in 1 .. halfFull do
                let x = pow5 (a + rc[k])
                let y = pow5 (b + rc[k + 1])
                let z = pow5 (c + rc[k + 2])
                k <- k + 3
                a <- m00 * x + m01 * y + m02 * z
                b <- m10 * x + m11 * y + m12 * z
                c <- m20 * x + m21 * y + m22 * z
            // Partial rounds: full constants once, then N_0 on words 1, 2.
            a <- a + c0[0]
            let y = b + c0[1]
            let z = c + c0[2]
            let struct (na, nb, nc, nd) = n0
            b <- na * y + nb * z
            c <- nc * y + nd * z
            let mutable j = 0
            for r in 0 .. partial - 1 do
                let x = pow5 a + after[r]
                a <- m00 * x + sparse[j] * b + sparse[j + 1] * c
                b <- sparse[j + 2] * x + b
                c <- sparse[j + 3] * x + c
                j <- j + 4
            k <- k + 3 * partial
            for _ in 1 .. halfFull do
                let x = pow5 (a + rc[k])
                let y = pow5 (b + rc[k + 1])
                let z = pow5 (c + rc[k + 2])
                k <- k + 3
                a <- m00 * x + m01 * y + m02 * z
                b <- m10 * x + m11 * y + m12 * z
                c <- m20 * x + m21 * y + m22 * z
            s0 <- a
            s1 <- b
            s2 <- c

    /// Permutes a 3-element span in place.
    member p.Permute(state: Span<FieldElement<'P>>) =
        if state.Length <> 3 then invalidArg "state" "the Poseidon state has exactly 3 words"
        let mutable a = state[0]
        let mutable b = state[1]
        let mutable c = state[2]
        p.Permute(&a, &b, &c)
        state[0] <- a
        state[1] <- b
        state[2] <- c

/// A fixed-length Poseidon sponge in halo2's `ConstantLength<L>` domain, absorbing one
/// element at a time (so large inputs need not be materialised):
///
/// - the capacity word starts as L·2^64 (ePrint 2019/458 §4.2: length·2^64 + (outputs − 1),
///   with one output), so messages of different lengths never share a permutation input;
/// - the message is zero-padded to a multiple of the rate (2). That padding alone would not
///   be injective, but the length is fixed by the capacity word;
/// - each 2-word block is added to state[0..1], then the state is permuted;
/// - the output is state[0] after the last block.
///
/// L must be ≥ 1 (halo2 does not define L = 0 either). Absorbing more or fewer than L
/// elements is a programming error and throws.
[<Sealed>]
type ConstantLengthSponge<'P when 'P :> IFieldParams and 'P: struct>(permutation: Pow5T3<'P>, length: int64) =
    do if length < 1L then invalidArg "length" "ConstantLength Poseidon needs at least one input element"
    let mutable s0 = FieldElement<'P>.Zero
    let mutable s1 = FieldElement<'P>.Zero
    let mutable s2 = FieldElement<'P>.OfBigInteger(BigInteger length <<< 64)
    let mutable absorbed = 0L
    let mutable pending = false // one element waiting in s0 for its block partner
    let mutable finished = false

    /// Absorbs the next message element.
    member _.Absorb(v: FieldElement<'P>) =
        if finished || absorbed >= length then
            invalidOp (sprintf "ConstantLength<%d> sponge: more than %d elements absorbed" length length)
        absorbed <- absorbed + 1L
        if pending then
            s1 <- s1 + v
            permutation.Permute(&s0, &s1, &s2)
            pending <- false
        else
            s0 <- s0 + v
            pending <- true

    /// Absorbs a span of message elements.
    member h.Absorb(vs: ReadOnlySpan<FieldElement<'P>>) =
        for i in 0 .. vs.Length - 1 do h.Absorb vs[i]

    /// Pads, runs the last permutation and returns the hash.
    member _.Finish() : FieldElement<'P> =
        if finished then invalidOp "ConstantLength sponge already finished"
        if absorbed <> length then
            invalidOp (sprintf "ConstantLength<%d> sponge: only %d elements absorbed" length absorbed)
        if pending then permutation.Permute(&s0, &s1, &s2) // odd length: zero padding adds nothing
        finished <- true
        s0

/// Poseidon P128Pow5T3 over the Pallas base field Fp (the circuit field).
[<RequireQualifiedAccess>]
module Poseidon =
    let private instance = lazy (Pow5T3<PallasBase>(PoseidonConstants.generate<PallasBase> PoseidonConstants.p128Pow5T3Spec))

    /// The P128Pow5T3 permutation over Fp (constants generated once, on first use).
    let permutation () : Pow5T3<PallasBase> = instance.Value

    /// The P128Pow5T3 constants over Fp.
    let constants () : PoseidonConstants<PallasBase> = instance.Value.Constants

    /// Permutes a 3-element state, returning the new state.
    let permute (state: Fp[]) : Fp[] =
        if isNull state || state.Length <> 3 then invalidArg "state" "the Poseidon state has exactly 3 words"
        let out = Array.copy state
        instance.Value.Permute(Span out)
        out

    /// A fresh ConstantLength sponge for a message of `length` ≥ 1 elements.
    let sponge (length: int64) = ConstantLengthSponge<PallasBase>(instance.Value, length)

    /// halo2's `Hash<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>::hash` for L = message length ≥ 1.
    let hash (message: Fp[]) : Fp =
        if isNull message || message.Length = 0 then invalidArg "message" "ConstantLength Poseidon needs at least one input element"
        let s = sponge (int64 message.Length)
        s.Absorb(ReadOnlySpan message)
        s.Finish()
