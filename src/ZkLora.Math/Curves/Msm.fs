namespace ZkLora.Math

open System
open System.Threading.Tasks

/// Multi-scalar multiplication Σ k_i·P_i over affine bases.
///
/// Pippenger's bucket method with signed c-bit digits (Scalars.signedDigit): for each of the
/// ⌈256/c⌉ windows, base P_i is added to bucket |d| (negated when d < 0), so only 2^(c−1)
/// buckets are needed; the window sum Σ_k k·B_k is then formed with two running sums, and
/// windows are combined by Horner's rule with c doublings each. Windows are independent and
/// run in parallel. c minimises ⌈256/c⌉·(n + 2^c), the number of group additions.
///
/// Variable-time: memory access and branches depend on the scalars' digits (as in every
/// Pippenger implementation, including halo2's). Blinding in the commitment scheme, not the
/// MSM, is what keeps the prover's witness hidden in the proof.
[<AbstractClass; Sealed>]
type Msm<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> private () =

    /// Window width for n points.
    static member WindowBits(n: int) : int =
        let mutable best = 1
        let mutable bestCost = Double.MaxValue
        for c in 1 .. 22 do
            let cost = float (Scalars.windowCount c) * (float n + float (1 <<< c))
            if cost < bestCost then
                best <- c
                bestCost <- cost
        best

    /// Reference MSM for tests: Σ k_i·P_i with the constant-time scalar multiplication.
    static member Naive(bases: ReadOnlySpan<Affine<'B, 'S>>, scalars: ReadOnlySpan<FieldElement<'S>>) : Point<'B, 'S> =
        if bases.Length <> scalars.Length then
            invalidArg "scalars" (sprintf "MSM needs as many scalars as bases (%d bases, %d scalars)" bases.Length scalars.Length)
        let mutable acc = Point<'B, 'S>.Identity
        for i in 0 .. bases.Length - 1 do
            acc <- acc + Point<'B, 'S>.OfAffine bases[i] * scalars[i]
        acc

    /// Canonical little-endian limbs of every scalar, 4 per scalar (leaves Montgomery form once).
    static member private Limbs(scalars: ReadOnlyMemory<FieldElement<'S>>) : uint64[] =
        let n = scalars.Length
        let limbs = Array.zeroCreate<uint64> (4 * n)
        let convert (lo: int) (hi: int) =
            let s = scalars.Span
            for i in lo .. hi - 1 do
                let struct (a, b, c, d) = s[i].CanonicalLimbs
                limbs[4 * i] <- a
                limbs[4 * i + 1] <- b
                limbs[4 * i + 2] <- c
                limbs[4 * i + 3] <- d
        let chunk = 8192
        if n <= chunk then convert 0 n
        else Parallel.For(0, (n + chunk - 1) / chunk, fun k -> convert (k * chunk) (min n ((k + 1) * chunk))) |> ignore
        limbs

    /// Σ_i d_{i,j}·P_i for window j (digits d of width c), with projective buckets.
    static member private WindowSum(bases: ReadOnlySpan<Affine<'B, 'S>>, limbs: uint64[], j: int, c: int) : Point<'B, 'S> =
        let half = 1 <<< (c - 1)
        let buckets = Array.create half Point<'B, 'S>.Identity
        for i in 0 .. bases.Length - 1 do
            let d = Scalars.signedDigit limbs[4 * i] limbs[4 * i + 1] limbs[4 * i + 2] limbs[4 * i + 3] j c
            if d > 0 then buckets[d - 1] <- buckets[d - 1].AddAffine bases[i]
            elif d < 0 then buckets[-d - 1] <- buckets[-d - 1].AddAffine(-bases[i])
        // Σ_k (k+1)·B_k: running = B_top + … + B_k, accumulated once per k.
        let mutable running = Point<'B, 'S>.Identity
        let mutable acc = Point<'B, 'S>.Identity
        for k in half - 1 .. -1 .. 0 do
            running <- running + buckets[k]
            acc <- acc + running
        acc

    /// Σ k_i·P_i. Bases and scalars must have equal lengths (a mismatch is a caller bug and
    /// throws ArgumentException); n = 0 gives the identity. Identity bases and zero scalars are fine.
    static member Compute(bases: ReadOnlyMemory<Affine<'B, 'S>>, scalars: ReadOnlyMemory<FieldElement<'S>>) : Point<'B, 'S> =
        let n = bases.Length
        if scalars.Length <> n then
            invalidArg "scalars" (sprintf "MSM needs as many scalars as bases (%d bases, %d scalars)" n scalars.Length)
        if n = 0 then Point<'B, 'S>.Identity
        else
            let limbs = Msm<'B, 'S>.Limbs scalars
            let c = Msm<'B, 'S>.WindowBits n
            let windows = Scalars.windowCount c
            let sums = Array.zeroCreate<Point<'B, 'S>> windows
            let body (j: int) = sums[j] <- Msm<'B, 'S>.WindowSum(bases.Span, limbs, j, c)
            if n < 64 then
                for j in 0 .. windows - 1 do body j
            else
                Parallel.For(0, windows, body) |> ignore
            let mutable acc = sums[windows - 1]
            for j in windows - 2 .. -1 .. 0 do
                for _ in 1 .. c do acc <- acc.Double()
                acc <- acc + sums[j]
            acc

    static member Compute(bases: Affine<'B, 'S>[], scalars: FieldElement<'S>[]) : Point<'B, 'S> =
        Msm<'B, 'S>.Compute(ReadOnlyMemory bases, ReadOnlyMemory scalars)
