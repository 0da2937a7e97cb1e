/// Scalar recodings used by scalar multiplication and MSM. Scalars arrive as canonical
/// little-endian limbs (values below 2^255, as both Pasta moduli are).
module internal ZkLora.Math.Scalars

open System.Runtime.CompilerServices

/// `len` (≤ 63) bits of the 256-bit integer (l0..l3) starting at bit `pos` (≥ 0); bits at
/// positions ≥ 256 read as zero.
[<MethodImpl(MethodImplOptions.AggressiveInlining)>]
let bitsAt (l0: uint64) (l1: uint64) (l2: uint64) (l3: uint64) (pos: int) (len: int) : uint64 =
    let k = pos >>> 6
    let off = pos &&& 63
    let cur = match k with 0 -> l0 | 1 -> l1 | 2 -> l2 | 3 -> l3 | _ -> 0UL
    let next = match k with 0 -> l1 | 1 -> l2 | 2 -> l3 | _ -> 0UL
    let lo = cur >>> off
    let v = if off + len > 64 then lo ||| (next <<< (64 - off)) else lo
    v &&& ((1UL <<< len) - 1UL)

/// Number of signed c-bit windows that cover every scalar below 2^255: ⌈256 / c⌉. The extra
/// bit absorbs the final carry of the recoding (see `signedDigit`).
let windowCount (c: int) = (256 + c - 1) / c

/// Digit j of the signed base-2^c recoding of k, in [−2^(c−1), 2^(c−1)], computed from the
/// scalar's bits alone, so every window can be processed independently (and in parallel).
///
/// Rule: with w_j the j-th c-bit window, the recoding sets d_j = w_j + carry_j − 2^c·carry_{j+1},
/// where a window "borrows" (carry out = 1) iff w_j + carry_j ≥ 2^(c−1). By induction the low
/// digits then sum to a value in [−2^(jc−1), 2^(jc−1)), which forces carry_j = bit (jc − 1)
/// of k. Hence d_j = w_j + bit(jc−1) − 2^c·bit(jc+c−1): read the c+1 bits from jc−1 upwards.
/// With ⌈256/c⌉ windows the last carry is bit ≥ 255 of k, which is zero, so Σ d_j 2^(jc) = k.
[<MethodImpl(MethodImplOptions.AggressiveInlining)>]
let signedDigit (l0: uint64) (l1: uint64) (l2: uint64) (l3: uint64) (j: int) (c: int) : int =
    let s = j * c
    let u = if s = 0 then bitsAt l0 l1 l2 l3 0 c <<< 1 else bitsAt l0 l1 l2 l3 (s - 1) (c + 1)
    int (u >>> 1) + int (u &&& 1UL) - (int (u >>> c) <<< c)

/// Width-w NAF of k (w in 2..7): digits in {0, ±1, ±3, …, ±(2^(w−1) − 1)}, any two non-zero
/// digits at least w positions apart. Writes digit i (weight 2^i) to out[i] (out needs 258
/// entries: a 255-bit scalar can carry up to bit 256) and returns the index of the top
/// non-zero digit, or −1 for k = 0. Variable-time: only for public scalars.
let wnaf (struct (k0: uint64, k1: uint64, k2: uint64, k3: uint64)) (w: int) (out: sbyte[]) : int =
    if w < 2 || w > 7 then invalidArg "w" "window must be in 2..7"
    let full = 1UL <<< w
    let half = 1UL <<< (w - 1)
    let mutable a0 = k0
    let mutable a1 = k1
    let mutable a2 = k2
    let mutable a3 = k3
    let mutable i = 0
    let mutable top = -1
    while (a0 ||| a1 ||| a2 ||| a3) <> 0UL do
        if a0 &&& 1UL = 1UL then
            let m = a0 &&& (full - 1UL)
            if m >= half then
                // digit m − 2^w < 0: k −= digit, i.e. k += 2^w − m (clears the low w bits, may carry)
                let add = full - m
                let s0 = a0 + add
                let c0 = if s0 < a0 then 1UL else 0UL
                a0 <- s0
                let s1 = a1 + c0
                let c1 = if c0 = 1UL && s1 = 0UL then 1UL else 0UL
                a1 <- s1
                let s2 = a2 + c1
                let c2 = if c1 = 1UL && s2 = 0UL then 1UL else 0UL
                a2 <- s2
                a3 <- a3 + c2
                out[i] <- sbyte (int m - int full)
            else
                a0 <- a0 - m
                out[i] <- sbyte m
            top <- i
        else
            out[i] <- 0y
        a0 <- (a0 >>> 1) ||| (a1 <<< 63)
        a1 <- (a1 >>> 1) ||| (a2 <<< 63)
        a2 <- (a2 >>> 1) ||| (a3 <<< 63)
        a3 <- a3 >>> 1
        i <- i + 1
    top
