/// Radix-2 number-theoretic transform kernels on arrays of field elements, in place.
///
/// Layout: bit-reversal permutation, then iterative decimation-in-time butterflies.
/// The first `blockLog` stages run block by block (a block of 2^blockLog elements stays
/// in L2 while all its small stages are done), blocks in parallel; the remaining
/// stages sweep the whole array in fused passes of up to four stages (independent
/// 16-point sub-transforms along a stride, split across cores), so a 2^20 transform
/// streams the array through memory twice instead of eight times.
///
/// Twiddles come from one table t[j] = ω_T^j (j < T/2) of a size-T domain; a transform
/// of any size n ≤ T reads ω_n^j = t[j·T/n], so one table serves both the base domain
/// and its extension. The inverse transform reuses the forward one:
/// DFT_{ω⁻¹}(a)[i] = DFT_ω(a)[(n − i) mod n], so no inverse table is stored.
module ZkLora.Math.Poly.Fft

open System
open System.Numerics
open System.Threading.Tasks
open ZkLora.Math

/// Stages up to this block size run inside one block (2^12 · 32 B = 128 KiB, fits L2).
let private blockLog = 12
/// Transforms below this size run on one core (task overhead would dominate).
let private parallelLog = 13

/// Runs body over [0, total) split into a few chunks per core, in parallel.
let internal parallelChunks (total: int) (body: int -> int -> unit) =
    let chunks = max 1 (min (Environment.ProcessorCount * 4) (total / 256))
    let size = total / chunks
    Parallel.For(0, chunks, fun c -> body (c * size) (if c = chunks - 1 then total else (c + 1) * size)) |> ignore

/// Reverses the low `bits` bits of i.
let inline private reverseBits (i: uint32) (bits: int) : int =
    if bits = 0 then 0
    else
        let mutable v = i
        v <- ((v >>> 1) &&& 0x55555555u) ||| ((v &&& 0x55555555u) <<< 1)
        v <- ((v >>> 2) &&& 0x33333333u) ||| ((v &&& 0x33333333u) <<< 2)
        v <- ((v >>> 4) &&& 0x0F0F0F0Fu) ||| ((v &&& 0x0F0F0F0Fu) <<< 4)
        v <- ((v >>> 8) &&& 0x00FF00FFu) ||| ((v &&& 0x00FF00FFu) <<< 8)
        v <- (v >>> 16) ||| (v <<< 16)
        int (v >>> (32 - bits))

/// Log2 of a power of two (argument checked by callers).
let internal log2 (n: int) = BitOperations.Log2(uint32 n)

/// Builds the twiddle table [ω^0, ω^1, …, ω^(T/2 − 1)] for a primitive T-th root ω
/// (at least one entry, ω^0 = 1, so a table exists for T = 1 as well).
let twiddleTable (omega: FieldElement<'P>) (size: int) : FieldElement<'P>[] =
    let half = max 1 (size / 2)
    let t = Array.zeroCreate<FieldElement<'P>> half
    let fill lo hi =
        let mutable w = omega.Pow(uint64 lo)
        for j in lo .. hi - 1 do
            t[j] <- w
            w <- w * omega
    if half < (1 <<< parallelLog) then fill 0 half
    else parallelChunks half fill
    t

/// log2 of the tile side used by the large bit-reversal permutation (8×8 elements).
let private tileLog = 3

/// Bit-reversal permutation of a large array, tile by tile. Write i = (hi, mid, lo) with
/// hi, lo of tileLog bits; rev(i) = (rev lo, rev mid, rev hi). The tile T(mid) = {(hi, mid, ·)}
/// is 8 contiguous runs of 8 elements, and the permutation exchanges T(mid) with T(rev mid)
/// as a reversed transpose: A'[hi][lo] = B[rev lo][rev hi]. Moving whole tiles through two
/// small buffers uses every cache line fully, unlike element-wise swaps at random addresses.
let private bitReverseTiled (a: FieldElement<'P>[]) (logN: int) =
    let side = 1 <<< tileLog
    let midBits = logN - 2 * tileLog
    let hiShift = logN - tileLog
    let revSide = Array.init side (fun i -> reverseBits (uint32 i) tileLog)
    let tiles lo hi =
        let bufA = Array.zeroCreate<FieldElement<'P>> (side * side)
        let bufB = Array.zeroCreate<FieldElement<'P>> (side * side)
        for mid in lo .. hi - 1 do
            let midRev = reverseBits (uint32 mid) midBits
            if mid <= midRev then
                let baseA = mid <<< tileLog
                let baseB = midRev <<< tileLog
                for r in 0 .. side - 1 do
                    Array.Copy(a, (r <<< hiShift) + baseA, bufA, r * side, side)
                    Array.Copy(a, (r <<< hiShift) + baseB, bufB, r * side, side)
                // A'[r][c] = B[rev c][rev r] and B'[r][c] = A[rev c][rev r] (the same when mid = midRev)
                for r in 0 .. side - 1 do
                    let rowA = (r <<< hiShift) + baseA
                    let rowB = (r <<< hiShift) + baseB
                    for c in 0 .. side - 1 do
                        a[rowA + c] <- bufB[revSide[c] * side + revSide[r]]
                        a[rowB + c] <- bufA[revSide[c] * side + revSide[r]]
    parallelChunks (1 <<< midBits) tiles

let private bitReverse (a: FieldElement<'P>[]) (logN: int) =
    let n = a.Length
    if logN >= parallelLog then bitReverseTiled a logN
    else
        for i in 0 .. n - 1 do
            let j = reverseBits (uint32 i) logN
            if i < j then
                let tmp = a[i]
                a[i] <- a[j]
                a[j] <- tmp

/// All stages with half-size m < 2^stages inside the block a[lo, lo + 2^stages).
/// `tableLog` is log2 of the twiddle table's domain size T.
let private smallStages (a: FieldElement<'P>[]) (t: FieldElement<'P>[]) (tableLog: int) (lo: int) (stages: int) =
    let size = 1 <<< stages
    // stage m = 1: twiddle is 1, plain add/sub
    let mutable i = lo
    while i < lo + size do
        let u = a[i]
        let v = a[i + 1]
        a[i] <- u + v
        a[i + 1] <- u - v
        i <- i + 2
    for s in 1 .. stages - 1 do
        let m = 1 <<< s
        // ω_{2m}^j = t[j · T/(2m)]
        let shift = tableLog - s - 1
        let mutable k = lo
        while k < lo + size do
            let u = a[k]
            let v = a[k + m]
            a[k] <- u + v
            a[k + m] <- u - v
            for j in 1 .. m - 1 do
                let u = a[k + j]
                let v = a[k + j + m] * t[j <<< shift]
                a[k + j] <- u + v
                a[k + j + m] <- u - v
            k <- k + 2 * m

/// Up to this many of the large stages are fused into one sweep over the array.
let private passStages = 4

/// Stages s0 .. s0 + g − 1 for the groups [lo, hi) of one fused sweep. Across these stages
/// index i = hi·2^(s0+g) + mid·2^s0 + low only ever meets indices that share hi and low,
/// so each (hi, low) is an independent 2^g-point sub-transform along mid (stride 2^s0).
/// Groups with consecutive low touch neighbouring addresses, so one sweep reads and writes
/// each cache line once for g stages instead of once per stage.
let private fusedStages (a: FieldElement<'P>[]) (t: FieldElement<'P>[]) (tableLog: int) (s0: int) (g: int) (lo: int) (hi: int) =
    let lowMask = (1 <<< s0) - 1
    for q in lo .. hi - 1 do
        let low = q &&& lowMask
        let baseIndex = ((q >>> s0) <<< (s0 + g)) + low
        for u in 0 .. g - 1 do
            // global stage s = s0 + u, half-size m = 2^s; within the group the pair is
            // (mid, mid + 2^u) and the butterfly index is j = jj·2^s0 + low, jj < 2^u
            let shift = tableLog - s0 - u - 1
            let half = 1 <<< u
            let mutable blockStart = 0
            while blockStart < (1 <<< g) do
                for jj in 0 .. half - 1 do
                    let j = (jj <<< s0) + low
                    let i0 = baseIndex + ((blockStart + jj) <<< s0)
                    let i1 = i0 + (half <<< s0)
                    let x = a[i0]
                    let y = if j = 0 then a[i1] else a[i1] * t[j <<< shift]
                    a[i0] <- x + y
                    a[i1] <- x - y
                blockStart <- blockStart + 2 * half

/// In-place forward transform: a[i] ← Σ_j a[j]·ω_n^(i·j), with n = a.Length a power of two
/// ≤ T, where `twiddles` is the table of a primitive T-th root (T = 2^tableLog).
let forward (a: FieldElement<'P>[]) (twiddles: FieldElement<'P>[]) (tableLog: int) =
    let n = a.Length
    if n = 0 || not (BitOperations.IsPow2 n) then invalidArg "a" (sprintf "FFT length must be a power of two, got %d" n)
    let logN = log2 n
    if logN > tableLog then invalidArg "a" (sprintf "FFT of size 2^%d needs a twiddle table of at least that size (have 2^%d)" logN tableLog)
    if logN > 0 then
        bitReverse a logN
        let inner = min logN blockLog
        let blocks = n >>> inner
        if logN < parallelLog || blocks = 1 then
            for b in 0 .. blocks - 1 do smallStages a twiddles tableLog (b <<< inner) inner
        else
            Parallel.For(0, blocks, fun b -> smallStages a twiddles tableLog (b <<< inner) inner) |> ignore
        let mutable s0 = inner
        while s0 < logN do
            let g = min passStages (logN - s0)
            let groups = n >>> g
            if logN < parallelLog then fusedStages a twiddles tableLog s0 g 0 groups
            else parallelChunks groups (fusedStages a twiddles tableLog s0 g)
            s0 <- s0 + g

/// Multiplies every element by c (in parallel for large arrays).
let scaleInPlace (a: FieldElement<'P>[]) (c: FieldElement<'P>) =
    let body lo hi = for i in lo .. hi - 1 do a[i] <- a[i] * c
    if a.Length < (1 <<< parallelLog) then body 0 a.Length
    else parallelChunks a.Length body

/// In-place inverse transform: a[i] ← n⁻¹·Σ_j a[j]·ω_n^(−i·j), via the forward transform
/// and the index reversal i ↦ (n − i) mod n.
let inverse (a: FieldElement<'P>[]) (twiddles: FieldElement<'P>[]) (tableLog: int) (nInv: FieldElement<'P>) =
    forward a twiddles tableLog
    Array.Reverse(a, 1, a.Length - 1)
    scaleInPlace a nInv

/// a[i] ← a[i]·c^i (in parallel chunks, each starting from c^lo): turns coefficients of
/// p(X) into those of p(c·X), the step between an ordinary and a coset transform.
let distributePowers (a: FieldElement<'P>[]) (c: FieldElement<'P>) =
    let body lo hi =
        let mutable w = c.Pow(uint64 lo)
        for i in lo .. hi - 1 do
            a[i] <- a[i] * w
            w <- w * c
    if a.Length < (1 <<< parallelLog) then body 0 a.Length
    else parallelChunks a.Length body
