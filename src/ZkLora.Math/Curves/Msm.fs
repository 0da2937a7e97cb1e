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
/// W windows, base P_i is added to bucket |d| (negated when d < 0), so only 2^(c−1)
/// buckets are needed; the window sum Σ_k k·B_k is then formed with two running sums, and
/// windows are combined by Horner's rule with c doublings each. Windows are independent and
/// run in parallel (one per core at a time).
///
/// Bucket accumulation, which dominates, is batch-affine for n ≥ 128: the window's points are
/// counting-sorted by bucket, then every bucket's list is halved by pairwise affine additions,
/// all pairs of all buckets sharing ONE field inversion per round (Montgomery's trick), until
/// each bucket holds one point. An affine addition then costs about 6 multiplications against
/// 11 for a projective mixed addition. Equal x-coordinates (repeated bases) are handled:
/// P + P uses the tangent slope, P + (−P) drops out. Points are taken in chunks of at most
/// 2^16 (each bucket's value so far heads its list in the next chunk), so scratch memory stays
/// O(chunk + buckets) per core for n up to 2^20 and beyond. Small inputs use projective buckets.
/// c minimises W·(a·n + 23·2^(c−1)), with a ≈ 6 (affine) or 11 (projective) multiplications
/// per bucket addition and 23 per bucket in the running sums; W = ⌊(b + c)/c⌋ windows cover
/// the largest scalar's b bits (⌈256/c⌉ for full-width scalars, 1–2 for small values).
///
/// Before that, the input is shaped (ComputeChunked): scalars above (r − 1)/2 become r − k on
/// the negated base; the few scalars far wider than the rest (a witness column's blinding
/// rows) are split off into a second MSM when the cost model says so; full-width scalars that
/// repeat (constant columns) are grouped by value; a handful of points use Straus's method.
///
/// Variable-time: memory access and branches depend on the scalars' digits (as in every
/// Pippenger implementation, including halo2's). Blinding in the commitment scheme, not the
/// MSM, is what keeps the prover's witness hidden in the proof.
[<AbstractClass; Sealed>]
type Msm<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> private () =

    /// The scalar modulus r and (r − 1)/2 as limbs: a scalar k above (r − 1)/2 is recoded as
    /// r − k times the negated base, so small negative values (r − |v|) cost what |v| costs.
    static let modulus = ZkLora.Math.Fields.Mont256.limbsOf FieldElement<'S>.Modulus
    static let halfModulus = ZkLora.Math.Fields.Mont256.limbsOf ((FieldElement<'S>.Modulus - Numerics.BigInteger.One) / Numerics.BigInteger 2)

    /// Bit 255 of a scalar's top limb (free: scalars are below 2^255) marks "negate the base".
    static let negateFlag = 0x8000000000000000UL

    /// Points per batch-affine chunk.
    static member internal Chunk = 1 <<< 16

    /// Below this size the batch-affine rounds' inversions cost more than they save
    /// (measured single-core: at 2^8 points batch-affine takes 0.6–0.85× the projective time,
    /// at 2^6 about the same).
    static member internal AffineThreshold = 128

    /// Signed c-bit windows that cover scalars below 2^bits: the recoding's final carry is
    /// bit (W·c − 1), which is zero once W·c ≥ bits + 1 (see Scalars.signedDigit).
    static member internal WindowsFor(bits: int, c: int) = (bits + c) / c

    /// Window width of the Straus method (shared doublings, 8 multiples per point).
    static member internal StrausBits = 4

    /// Estimated cost (in field multiplications) and method for n points whose scalars are all
    /// below 2^bits: Pippenger with the window c minimising W·(a·n + 23·2^(c−1)) + W·(8c + 12)
    /// (buckets, running sums, Horner), or Straus (c = 0) at 8·4·W + n·(84 + 13·W): a table
    /// of 1..8 multiples per point and one addition per non-zero digit, the doublings shared.
    /// Straus wins for a handful of points (the blinding rows of a witness column).
    static member private Plan(n: int, bits: int) : struct (float * int) =
        if n = 0 || bits = 0 then struct (0.0, 1)
        else
            let struct (pippenger, c) = Msm<'B, 'S>.PippengerPlan(n, bits)
            let sw = float (Msm<'B, 'S>.WindowsFor(bits, Msm<'B, 'S>.StrausBits))
            let straus = 32.0 * sw + float n * (84.0 + 13.0 * sw)
            if straus < pippenger then struct (straus, 0) else struct (pippenger, c)

    /// The Pippenger window c in 1..22 minimising W·(a·n + 23·2^(c−1)) + W·(8c + 12), and that cost.
    static member private PippengerPlan(n: int, bits: int) : struct (float * int) =
        let perPoint = if n >= Msm<'B, 'S>.AffineThreshold then 6.0 else 11.0
        let mutable best = 1
        let mutable bestCost = Double.MaxValue
        for c in 1 .. 22 do
            let w = float (Msm<'B, 'S>.WindowsFor(bits, c))
            let cost = w * (perPoint * float n + 23.0 * float (1 <<< (c - 1))) + w * (8.0 * float c + 12.0)
            if cost < bestCost then
                best <- c
                bestCost <- cost
        struct (bestCost, best)

    /// Σ k_i·P_i by Straus's method: per point the multiples 1..8 (projective), then for each
    /// signed 4-bit digit position from the top, 4 shared doublings and one addition per point.
    static member private Straus(bases: ReadOnlySpan<Affine<'B, 'S>>, limbs: uint64[], bits: int) : Point<'B, 'S> =
        let n = bases.Length
        let c = Msm<'B, 'S>.StrausBits
        let windows = Msm<'B, 'S>.WindowsFor(bits, c)
        let table = Array.zeroCreate<Point<'B, 'S>> (8 * n)
        for i in 0 .. n - 1 do
            let p = Point<'B, 'S>.OfAffine bases[i]
            table[8 * i] <- p
            table[8 * i + 1] <- p.Double()
            for m in 2 .. 7 do table[8 * i + m] <- table[8 * i + m - 1].AddAffine bases[i]
        let mutable acc = Point<'B, 'S>.Identity
        for j in windows - 1 .. -1 .. 0 do
            if j < windows - 1 then acc <- acc.Double().Double().Double().Double()
            for i in 0 .. n - 1 do
                let d = Msm<'B, 'S>.Digit(limbs, i, j, c)
                if d > 0 then acc <- acc + table[8 * i + d - 1]
                elif d < 0 then acc <- acc - table[8 * i - d - 1]
        acc

    /// Pippenger window width for n points whose scalars are all below 2^bits.
    static member WindowBits(n: int, bits: int) : int =
        let struct (_, c) = Msm<'B, 'S>.PippengerPlan(n, bits)
        c

    /// Window width for n full-width scalars.
    static member WindowBits(n: int) : int = Msm<'B, 'S>.WindowBits(n, 255)

    /// Bit length of scalar i in the limb array (0 for zero).
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)>]
    static member private BitLength(limbs: uint64[], i: int) : int =
        let g = 4 * i
        let l3 = limbs[g + 3] &&& ~~~negateFlag
        if l3 <> 0UL then 256 - Numerics.BitOperations.LeadingZeroCount l3
        elif limbs[g + 2] <> 0UL then 192 - Numerics.BitOperations.LeadingZeroCount limbs[g + 2]
        elif limbs[g + 1] <> 0UL then 128 - Numerics.BitOperations.LeadingZeroCount limbs[g + 1]
        else 64 - Numerics.BitOperations.LeadingZeroCount limbs[g]

    /// Reference MSM for tests: Σ k_i·P_i with the constant-time scalar multiplication.
    static member Naive(bases: ReadOnlySpan<Affine<'B, 'S>>, scalars: ReadOnlySpan<FieldElement<'S>>) : Point<'B, 'S> =
        if bases.Length <> scalars.Length then
            invalidArg "scalars" (sprintf "MSM needs as many scalars as bases (%d bases, %d scalars)" bases.Length scalars.Length)
        let mutable acc = Point<'B, 'S>.Identity
        for i in 0 .. bases.Length - 1 do
            acc <- acc + Point<'B, 'S>.OfAffine bases[i] * scalars[i]
        acc

    /// Canonical little-endian limbs of every scalar, 4 per scalar (leaves Montgomery form once);
    /// a scalar k > (r − 1)/2 is stored as r − k with `negateFlag` set.
    static member private Limbs(scalars: ReadOnlyMemory<FieldElement<'S>>) : uint64[] =
        let n = scalars.Length
        let limbs = Array.zeroCreate<uint64> (4 * n)
        let struct (m0, m1, m2, m3) = modulus
        let struct (h0, h1, h2, h3) = halfModulus
        let convert (lo: int) (hi: int) =
            let s = scalars.Span
            for i in lo .. hi - 1 do
                let struct (a, b, c, d) = s[i].CanonicalLimbs
                let above = d > h3 || (d = h3 && (c > h2 || (c = h2 && (b > h1 || (b = h1 && a > h0)))))
                if above then
                    // r − k (k < r, so no final borrow)
                    let r0 = m0 - a
                    let br0 = if m0 < a then 1UL else 0UL
                    let t1 = m1 - b
                    let r1 = t1 - br0
                    let br1 = (if m1 < b then 1UL else 0UL) + (if t1 < br0 then 1UL else 0UL)
                    let t2 = m2 - c
                    let r2 = t2 - br1
                    let br2 = (if m2 < c then 1UL else 0UL) + (if t2 < br1 then 1UL else 0UL)
                    let r3 = m3 - d - br2
                    limbs[4 * i] <- r0
                    limbs[4 * i + 1] <- r1
                    limbs[4 * i + 2] <- r2
                    limbs[4 * i + 3] <- r3 ||| negateFlag
                else
                    limbs[4 * i] <- a
                    limbs[4 * i + 1] <- b
                    limbs[4 * i + 2] <- c
                    limbs[4 * i + 3] <- d
        let chunk = 8192
        if n <= chunk then convert 0 n
        else Parallel.For(0, (n + chunk - 1) / chunk, fun k -> convert (k * chunk) (min n ((k + 1) * chunk))) |> ignore
        limbs

    /// Signed digit j (width c) of scalar i, negated when the scalar carries `negateFlag`.
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)>]
    static member private Digit(limbs: uint64[], i: int, j: int, c: int) : int =
        let g = 4 * i
        let l3 = limbs[g + 3]
        let d = Scalars.signedDigit limbs[g] limbs[g + 1] limbs[g + 2] (l3 &&& ~~~negateFlag) j c
        if l3 &&& negateFlag <> 0UL then -d else d

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
            let d = Msm<'B, 'S>.Digit(limbs, i, j, c)
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
            Msm<'B, 'S>.AccumulateChunk(bases.Slice(lo, hi - lo), limbs, null, lo, j, c, half, ws)
            lo <- hi
        // Σ (b+1)·B_b over the final bucket values.
        Msm<'B, 'S>.RunningSum(half, fun b running ->
            if bfull[b] then running.AddAffine(Affine<'B, 'S>(bx[b], by[b])) else running)

    /// Adds one chunk of points (global indices offset..) into the workspace's `half` buckets:
    /// point i goes to bucket |digit j of its scalar| − 1 (negated for a negative digit), or,
    /// when `groups` is given, to bucket groups[i] − 1 (0 = skip).
    static member private AccumulateChunk(bases: ReadOnlySpan<Affine<'B, 'S>>, limbs: uint64[], groups: int[], offset: int, j: int, c: int, half: int, ws: MsmWorkspace<'B>) =
        let digits, xs, ys, start, len, denoms, prefix = ws.Digits, ws.Xs, ws.Ys, ws.Start, ws.Len, ws.Denoms, ws.Prefix
        let bx, by, bfull = ws.BucketX, ws.BucketY, ws.BucketFull
        // 1. Counting sort by bucket (identity bases skipped), each list headed by the bucket's value.
        for b in 0 .. half - 1 do len[b] <- if bfull[b] then 1 else 0
        for i in 0 .. bases.Length - 1 do
            let d =
                if bases[i].IsIdentity then 0
                elif isNull groups then Msm<'B, 'S>.Digit(limbs, offset + i, j, c)
                else groups[offset + i]
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

    /// Pippenger over canonical limbs of scalars that are all below 2^bits.
    static member private Pippenger(bases: ReadOnlyMemory<Affine<'B, 'S>>, limbs: uint64[], bits: int, chunk: int) : Point<'B, 'S> =
        let n = bases.Length
        if n = 0 || bits = 0 then Point<'B, 'S>.Identity
        elif (let struct (_, c) = Msm<'B, 'S>.Plan(n, bits) in c = 0) then Msm<'B, 'S>.Straus(bases.Span, limbs, bits)
        else
            let c = Msm<'B, 'S>.WindowBits(n, bits)
            let windows = Msm<'B, 'S>.WindowsFor(bits, c)
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

    /// Σ k_i·P_i when the scalars take few distinct values (constant columns such as round
    /// constants): the bases of each distinct value are summed first (batch-affine bucket
    /// accumulation with one bucket per value), then Σ v·S_v over the distinct values. None when
    /// there are more than n/8 distinct values (the plain MSM is cheaper then).
    static member private Grouped(bases: ReadOnlyMemory<Affine<'B, 'S>>, limbs: uint64[], bits: int, chunk: int) : Point<'B, 'S> voption =
        let n = bases.Length
        let limit = n / 8
        let index = Collections.Generic.Dictionary<struct (uint64 * uint64 * uint64 * uint64), int>()
        let groups = Array.zeroCreate<int> n
        let mutable i = 0
        while i < n && index.Count <= limit do
            let g = 4 * i
            let key = struct (limbs[g], limbs[g + 1], limbs[g + 2], limbs[g + 3])
            if key <> struct (0UL, 0UL, 0UL, 0UL) then
                match index.TryGetValue key with
                | true, v -> groups[i] <- v + 1
                | _ ->
                    index[key] <- index.Count
                    groups[i] <- index.Count
            i <- i + 1
        if index.Count > limit || index.Count = 0 then ValueNone
        else
            let d = index.Count
            let ws = MsmWorkspace<'B>(min n chunk, d)
            Array.Clear(ws.BucketFull, 0, d)
            let span = bases.Span
            let mutable lo = 0
            while lo < n do
                let hi = min n (lo + chunk)
                Msm<'B, 'S>.AccumulateChunk(span.Slice(lo, hi - lo), limbs, groups, lo, 0, 1, d, ws)
                lo <- hi
            let sums = Array.init d (fun b -> if ws.BucketFull[b] then Affine<'B, 'S>(ws.BucketX[b], ws.BucketY[b]) else Affine<'B, 'S>.Identity)
            let valueLimbs = Array.zeroCreate<uint64> (4 * d)
            for kv in index do
                let struct (a, b, c, e) = kv.Key
                valueLimbs[4 * kv.Value] <- a
                valueLimbs[4 * kv.Value + 1] <- b
                valueLimbs[4 * kv.Value + 2] <- c
                valueLimbs[4 * kv.Value + 3] <- e
            ValueSome(Msm<'B, 'S>.Pippenger(ReadOnlyMemory sums, valueLimbs, bits, chunk))

    /// Full-width part: grouped by value when values repeat a lot, else Pippenger/Straus.
    static member private Wide(bases: ReadOnlyMemory<Affine<'B, 'S>>, limbs: uint64[], bits: int, chunk: int) : Point<'B, 'S> =
        let grouped = if bases.Length >= 64 && bits > 64 then Msm<'B, 'S>.Grouped(bases, limbs, bits, chunk) else ValueNone
        match grouped with
        | ValueSome p -> p
        | ValueNone -> Msm<'B, 'S>.Pippenger(bases, limbs, bits, chunk)

    /// Compute with an explicit batch-affine chunk size (tests use small chunks).
    ///
    /// Scalars are split by size first: Pippenger's cost grows with the windows the LARGEST
    /// scalar needs, and committed columns are often small values (selectors, bytes, range
    /// limbs) plus a few full-width ones (blinding rows). Over the histogram of bit lengths
    /// the threshold t minimising cost(all points, t bits) + cost(points above t, full) is
    /// chosen; the points above t are moved to a second, small MSM (their digits in the first
    /// are zeroed, so it skips them).
    static member internal ComputeChunked(bases: ReadOnlyMemory<Affine<'B, 'S>>, scalars: ReadOnlyMemory<FieldElement<'S>>, chunk: int) : Point<'B, 'S> =
        if chunk < 2 then invalidArg "chunk" "chunk must be at least 2"
        let n = bases.Length
        if scalars.Length <> n then
            invalidArg "scalars" (sprintf "MSM needs as many scalars as bases (%d bases, %d scalars)" n scalars.Length)
        if n = 0 then Point<'B, 'S>.Identity
        else
            let limbs = Msm<'B, 'S>.Limbs scalars
            let hist = Array.zeroCreate<int> 257
            for i in 0 .. n - 1 do
                let b = Msm<'B, 'S>.BitLength(limbs, i)
                hist[b] <- hist[b] + 1
            let mutable maxBits = 256
            while maxBits > 0 && hist[maxBits] = 0 do maxBits <- maxBits - 1
            let struct (fullCost, _) = Msm<'B, 'S>.Plan(n, maxBits)
            let mutable bestT = maxBits
            let mutable bestCost = fullCost
            let mutable atMost = 0 // scalars with at most t bits
            for t in 0 .. maxBits - 1 do
                atMost <- atMost + hist[t]
                if hist[t] > 0 then
                    let struct (small, _) = Msm<'B, 'S>.Plan(atMost, t)
                    let struct (large, _) = Msm<'B, 'S>.Plan(n - atMost, maxBits)
                    // the small pass still scans every point once per window (≈ one multiplication)
                    let scan = float n * float (Msm<'B, 'S>.WindowsFor(t, Msm<'B, 'S>.WindowBits(atMost, t)))
                    if small + large + scan < bestCost then
                        bestCost <- small + large + scan
                        bestT <- t
            if bestT = maxBits then Msm<'B, 'S>.Wide(bases, limbs, maxBits, chunk)
            else
                let m = n - (Array.sum hist[.. bestT])
                let largeBases = Array.zeroCreate<Affine<'B, 'S>> m
                let largeLimbs = Array.zeroCreate<uint64> (4 * m)
                let span = bases.Span
                let mutable j = 0
                for i in 0 .. n - 1 do
                    if Msm<'B, 'S>.BitLength(limbs, i) > bestT then
                        largeBases[j] <- span[i]
                        Array.blit limbs (4 * i) largeLimbs (4 * j) 4
                        Array.Clear(limbs, 4 * i, 4)
                        j <- j + 1
                Msm<'B, 'S>.Pippenger(bases, limbs, bestT, chunk) + Msm<'B, 'S>.Wide(ReadOnlyMemory largeBases, largeLimbs, maxBits, chunk)

    static member Compute(bases: Affine<'B, 'S>[], scalars: FieldElement<'S>[]) : Point<'B, 'S> =
        Msm<'B, 'S>.Compute(ReadOnlyMemory bases, ReadOnlyMemory scalars)
