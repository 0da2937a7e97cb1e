namespace ZkLora.Math

open System
open System.Threading.Tasks

/// Per-worker scratch space for the batch-affine window sums, reused across windows so an
/// MSM allocates O(n) once per core instead of once per window.
type internal MsmWorkspace<'B when 'B :> IFieldParams and 'B: struct>(chunk: int, half: int) =
    /// Digits of the current chunk's points.
    member val Digits = Array.zeroCreate<int> chunk
    /// Bucket lists (bucket value carried from earlier chunks first, then the chunk's points).
    member val Xs = Array.zeroCreate<FieldElement<'B>> (chunk + half)
    member val Ys = Array.zeroCreate<FieldElement<'B>> (chunk + half)
    member val Start = Array.zeroCreate<int> half
    member val Len = Array.zeroCreate<int> half
    member val Denoms = Array.zeroCreate<FieldElement<'B>> ((chunk + half) / 2 + 1)
    member val Prefix = Array.zeroCreate<FieldElement<'B>> ((chunk + half) / 2 + 1)
    /// Each bucket's running value (affine) and whether it is non-empty.
    member val BucketX = Array.zeroCreate<FieldElement<'B>> half
    member val BucketY = Array.zeroCreate<FieldElement<'B>> half
    member val BucketFull = Array.zeroCreate<bool> half

/// Multi-scalar multiplication Σ k_i·P_i over affine bases.
///
/// Pippenger's bucket method with signed c-bit digits (Scalars.signedDigit): for each of the
/// ⌈256/c⌉ windows, base P_i is added to bucket |d| (negated when d < 0), so only 2^(c−1)
/// buckets are needed; the window sum Σ_k k·B_k is then formed with two running sums, and
/// windows are combined by Horner's rule with c doublings each. Windows are independent and
/// run in parallel (one per core at a time).
///
/// Bucket accumulation, which dominates, is batch-affine for n ≥ 512: the window's points are
/// counting-sorted by bucket, then every bucket's list is halved by pairwise affine additions,
/// all pairs of all buckets sharing ONE field inversion per round (Montgomery's trick), until
/// each bucket holds one point. An affine addition then costs about 6 multiplications against
/// 11 for a projective mixed addition. Equal x-coordinates (repeated bases) are handled:
/// P + P uses the tangent slope, P + (−P) drops out. Points are taken in chunks of at most
/// 2^16 (each bucket's value so far heads its list in the next chunk), so scratch memory stays
/// O(chunk + buckets) per core for n up to 2^20 and beyond. Small inputs use projective buckets.
/// c minimises ⌈256/c⌉·(a·n + 23·2^(c−1)), with a ≈ 6 (affine) or 11 (projective)
/// multiplications per bucket addition and 23 per bucket in the running sums.
///
/// Variable-time: memory access and branches depend on the scalars' digits (as in every
/// Pippenger implementation, including halo2's). Blinding in the commitment scheme, not the
/// MSM, is what keeps the prover's witness hidden in the proof.
[<AbstractClass; Sealed>]
type Msm<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> private () =

    /// Points per batch-affine chunk.
    static member internal Chunk = 1 <<< 16

    /// Below this size the batch-affine rounds' inversions cost more than they save.
    static member internal AffineThreshold = 512

    /// Window width for n points.
    static member WindowBits(n: int) : int =
        let perPoint = if n >= Msm<'B, 'S>.AffineThreshold then 6.0 else 11.0
        let mutable best = 1
        let mutable bestCost = Double.MaxValue
        for c in 1 .. 22 do
            let cost = float (Scalars.windowCount c) * (perPoint * float n + 23.0 * float (1 <<< (c - 1)))
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

    /// Σ_k (k+1)·B_k by two running sums (buckets given as a function of k, top down).
    static member inline private RunningSum(half: int, bucket: int -> Point<'B, 'S> -> Point<'B, 'S>) : Point<'B, 'S> =
        let mutable running = Point<'B, 'S>.Identity
        let mutable acc = Point<'B, 'S>.Identity
        for k in half - 1 .. -1 .. 0 do
            running <- bucket k running
            acc <- acc + running
        acc

    /// Window j with projective buckets and mixed additions (small n).
    static member private WindowSumProjective(bases: ReadOnlySpan<Affine<'B, 'S>>, limbs: uint64[], j: int, c: int) : Point<'B, 'S> =
        let half = 1 <<< (c - 1)
        let buckets = Array.create half Point<'B, 'S>.Identity
        for i in 0 .. bases.Length - 1 do
            let d = Scalars.signedDigit limbs[4 * i] limbs[4 * i + 1] limbs[4 * i + 2] limbs[4 * i + 3] j c
            if d > 0 then buckets[d - 1] <- buckets[d - 1].AddAffine bases[i]
            elif d < 0 then buckets[-d - 1] <- buckets[-d - 1].AddAffine(-bases[i])
        Msm<'B, 'S>.RunningSum(half, fun k running -> running + buckets[k])

    /// Window j with batch-affine bucket accumulation (see the type's comment).
    static member private WindowSumAffine(bases: ReadOnlySpan<Affine<'B, 'S>>, limbs: uint64[], j: int, c: int, ws: MsmWorkspace<'B>) : Point<'B, 'S> =
        let half = 1 <<< (c - 1)
        let bx, by, bfull = ws.BucketX, ws.BucketY, ws.BucketFull
        Array.Clear(bfull, 0, half)
        let chunk = ws.Digits.Length
        let mutable lo = 0
        while lo < bases.Length do
            let hi = min bases.Length (lo + chunk)
            Msm<'B, 'S>.AccumulateChunk(bases.Slice(lo, hi - lo), limbs, lo, j, c, ws)
            lo <- hi
        // Σ (b+1)·B_b over the final bucket values.
        Msm<'B, 'S>.RunningSum(half, fun b running ->
            if bfull[b] then running.AddAffine(Affine<'B, 'S>(bx[b], by[b])) else running)

    /// Adds one chunk of points (global indices offset..) into the workspace's buckets.
    static member private AccumulateChunk(bases: ReadOnlySpan<Affine<'B, 'S>>, limbs: uint64[], offset: int, j: int, c: int, ws: MsmWorkspace<'B>) =
        let half = 1 <<< (c - 1)
        let digits, xs, ys, start, len, denoms, prefix = ws.Digits, ws.Xs, ws.Ys, ws.Start, ws.Len, ws.Denoms, ws.Prefix
        let bx, by, bfull = ws.BucketX, ws.BucketY, ws.BucketFull
        // 1. Counting sort by bucket (identity bases skipped), each list headed by the bucket's value.
        for b in 0 .. half - 1 do len[b] <- if bfull[b] then 1 else 0
        for i in 0 .. bases.Length - 1 do
            let g = 4 * (offset + i)
            let d = if bases[i].IsIdentity then 0 else Scalars.signedDigit limbs[g] limbs[g + 1] limbs[g + 2] limbs[g + 3] j c
            digits[i] <- d
            if d <> 0 then len[abs d - 1] <- len[abs d - 1] + 1
        let mutable total = 0
        for b in 0 .. half - 1 do
            start[b] <- total
            total <- total + len[b]
            if bfull[b] then
                xs[total - len[b]] <- bx[b]
                ys[total - len[b]] <- by[b]
                len[b] <- 1
            else len[b] <- 0
        for i in 0 .. bases.Length - 1 do
            let d = digits[i]
            if d <> 0 then
                let b = abs d - 1
                let pos = start[b] + len[b]
                len[b] <- len[b] + 1
                xs[pos] <- bases[i].X
                ys[pos] <- if d > 0 then bases[i].Y else -bases[i].Y
        // 2. Halving rounds: pair up each bucket's points; one inversion per round.
        let mutable pairs = 1
        while pairs > 0 do
            pairs <- 0
            for b in 0 .. half - 1 do
                let s = start[b]
                for k in 0 .. len[b] / 2 - 1 do
                    let i1 = s + 2 * k
                    let dx = xs[i1 + 1] - xs[i1]
                    denoms[pairs] <-
                        if not dx.IsZero then dx
                        elif ys[i1].Equals ys[i1 + 1] then ys[i1] + ys[i1] // doubling: y ≠ 0 (no 2-torsion)
                        else FieldElement<'B>.One // P + (−P): no slope needed
                    pairs <- pairs + 1
            if pairs > 0 then
                // Montgomery's trick in place over the workspace (all denominators are non-zero).
                let mutable acc = FieldElement<'B>.One
                for i in 0 .. pairs - 1 do
                    prefix[i] <- acc
                    acc <- acc * denoms[i]
                let mutable inv = acc.Invert()
                for i in pairs - 1 .. -1 .. 0 do
                    let d = denoms[i]
                    denoms[i] <- inv * prefix[i]
                    inv <- inv * d
                let mutable m = 0
                for b in 0 .. half - 1 do
                    let s = start[b]
                    let l = len[b]
                    let mutable w = 0
                    for k in 0 .. l / 2 - 1 do
                        let i1 = s + 2 * k
                        let x1 = xs[i1]
                        let y1 = ys[i1]
                        let x2 = xs[i1 + 1]
                        let y2 = ys[i1 + 1]
                        let inv = denoms[m]
                        m <- m + 1
                        let sameX = x1.Equals x2
                        if not sameX || y1.Equals y2 then
                            let lambda =
                                if sameX then
                                    let xx = x1.Square()
                                    (xx + xx + xx) * inv
                                else (y2 - y1) * inv
                            let x3 = lambda.Square() - x1 - x2
                            xs[s + w] <- x3
                            ys[s + w] <- lambda * (x1 - x3) - y1
                            w <- w + 1
                    if l &&& 1 = 1 then
                        xs[s + w] <- xs[s + l - 1]
                        ys[s + w] <- ys[s + l - 1]
                        w <- w + 1
                    len[b] <- w
        // 3. Each bucket is now one point or empty (P + (−P) can empty it).
        for b in 0 .. half - 1 do
            bfull[b] <- len[b] = 1
            if len[b] = 1 then
                bx[b] <- xs[start[b]]
                by[b] <- ys[start[b]]

    /// Σ k_i·P_i. Bases and scalars must have equal lengths (a mismatch is a caller bug and
    /// throws ArgumentException); n = 0 gives the identity. Identity bases and zero scalars are fine.
    static member Compute(bases: ReadOnlyMemory<Affine<'B, 'S>>, scalars: ReadOnlyMemory<FieldElement<'S>>) : Point<'B, 'S> =
        Msm<'B, 'S>.ComputeChunked(bases, scalars, Msm<'B, 'S>.Chunk)

    /// Compute with an explicit batch-affine chunk size (tests use small chunks).
    static member internal ComputeChunked(bases: ReadOnlyMemory<Affine<'B, 'S>>, scalars: ReadOnlyMemory<FieldElement<'S>>, chunk: int) : Point<'B, 'S> =
        if chunk < 2 then invalidArg "chunk" "chunk must be at least 2"
        let n = bases.Length
        if scalars.Length <> n then
            invalidArg "scalars" (sprintf "MSM needs as many scalars as bases (%d bases, %d scalars)" n scalars.Length)
        if n = 0 then Point<'B, 'S>.Identity
        else
            let limbs = Msm<'B, 'S>.Limbs scalars
            let c = Msm<'B, 'S>.WindowBits n
            let windows = Scalars.windowCount c
            let sums = Array.zeroCreate<Point<'B, 'S>> windows
            if n < 64 then
                for j in 0 .. windows - 1 do sums[j] <- Msm<'B, 'S>.WindowSumProjective(bases.Span, limbs, j, c)
            elif n < Msm<'B, 'S>.AffineThreshold then
                Parallel.For(0, windows, fun j -> sums[j] <- Msm<'B, 'S>.WindowSumProjective(bases.Span, limbs, j, c)) |> ignore
            else
                let half = 1 <<< (c - 1)
                let options = ParallelOptions(MaxDegreeOfParallelism = Environment.ProcessorCount) // bounds scratch memory
                Parallel.For(0, windows, options,
                             (fun () -> MsmWorkspace<'B>(min n chunk, half)),
                             (fun j _ ws -> sums[j] <- Msm<'B, 'S>.WindowSumAffine(bases.Span, limbs, j, c, ws); ws),
                             (fun _ -> ())) |> ignore
            let mutable acc = sums[windows - 1]
            for j in windows - 2 .. -1 .. 0 do
                for _ in 1 .. c do acc <- acc.Double()
                acc <- acc + sums[j]
            acc

    static member Compute(bases: Affine<'B, 'S>[], scalars: FieldElement<'S>[]) : Point<'B, 'S> =
        Msm<'B, 'S>.Compute(ReadOnlyMemory bases, ReadOnlyMemory scalars)
