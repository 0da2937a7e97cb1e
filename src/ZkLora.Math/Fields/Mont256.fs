/// Montgomery arithmetic on 256-bit integers held in four 64-bit little-endian limbs.
///
/// Shared by every prime field of the project (Pasta Fp and Fq). All functions are
/// `inline` so that, once specialised by a field's constants, the JIT sees straight-line
/// code with no calls and no allocations.
///
/// Preconditions, checked when a field's constants are initialised (see FieldElement.fs): the
/// modulus m is odd and its top limb is < 2^63 - 1, which allows the "no-carry" CIOS
/// multiplication (the final carry of each round fits in one limb) and guarantees
/// a + b < 2^256 for reduced a, b.
///
/// Sparse moduli. The modulus limbs reach these functions as JIT-time constants, and
/// `mulLimb`, `macLimb` and `macTop` test them for 0 and 2^62 with `if`s the JIT folds away. Both Pasta
/// primes are 2^254 + c1·2^64 + c0, so q·m costs two limb products and a shift instead of
/// four products: the reduction does half the multiplications. (The tests are per limb,
/// not one `if` around two whole algorithms: F# moves large `if` branches into separate,
/// non-inlined methods.) `mulReference` is the plain algorithm, kept for the tests.
///
/// How the code is shaped for RyuJIT (.NET 10, x64); each choice was measured with
/// bench/ZkLora.Bench (figures in bench/RESULTS.md):
/// - .NET has no add-with-carry intrinsic: every carry is a compare plus a conversion of
///   the comparison to 0/1. `bit` reinterprets the comparison's bool as a byte: IL
///   `clt.un`, which the JIT compiles to cmp/setb at every tier. Writing carries as `if`s
///   was 10-15% faster once optimised (RyuJIT if-converts them to cmov), but tier-0 code,
///   which runs until a method tiers up, compiles an `if` to a data-dependent branch, and
///   F# drops MethodImplOptions.AggressiveOptimization, the attribute that skips tier 0.
/// - Product halves come from `mulx` (high) and `imul` (low): `Math.BigMul(a, b, &lo)`
///   and `MultiplyNoFlags(a, b, &lo)` force `lo` through memory.
/// - The final conditional subtraction reads its borrow from the sign of the top limb
///   (valid for any m < 2^255 and input < 2m) and selects with masks.
/// - The calling convention (limbs as scalar arguments) is FieldElement's business.
/// Constant time: no data-dependent branch or memory access, at any JIT tier. The only
/// `if`s test the modulus limbs (public constants) and vanish once optimised; a test
/// (FieldCodegenTests) disassembles the optimised code and fails on any conditional jump.
module internal ZkLora.Math.Fields.Mont256

open System
open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics.X86

let private mask64 = (BigInteger.One <<< 64) - BigInteger.One

/// Splits a non-negative integer below 2^256 into little-endian limbs.
let limbsOf (v: BigInteger) : struct (uint64 * uint64 * uint64 * uint64) =
    if v.Sign < 0 || v >= (BigInteger.One <<< 256) then
        invalidArg "v" "value must be in [0, 2^256)"
    let limb i = uint64 ((v >>> (64 * i)) &&& mask64)
    struct (limb 0, limb 1, limb 2, limb 3)

/// Joins little-endian limbs into a non-negative integer.
let bigOf (l0: uint64) (l1: uint64) (l2: uint64) (l3: uint64) : BigInteger =
    (BigInteger l3 <<< 192) ||| (BigInteger l2 <<< 128) ||| (BigInteger l1 <<< 64) ||| BigInteger l0

/// -m^{-1} mod 2^64 by Newton iteration (x <- x (2 - m x) doubles the correct low bits: 1,2,4,…,64).
let montInv (m0: uint64) : uint64 =
    let mutable inv = 1UL
    for _ in 1..6 do inv <- inv * (2UL - m0 * inv)
    0UL - inv

/// 1 when the comparison holds, else 0, without a branch at any JIT tier (IL clt.un/cgt.un).
let inline private bit (b: bool) = uint64 (Unsafe.BitCast<bool, byte> b)

/// h + 1 when s < l (unsigned), else h: adds the carry out of the sum s = l + x to h.
/// Callers guarantee h + 1 does not overflow (h is a product's high half, <= 2^64 - 2).
let inline incIfBelow (h: uint64) (s: uint64) (l: uint64) = h + bit (s < l)

/// h + 1 when x <> 0, else h.
let inline incIfNonZero (h: uint64) (x: uint64) = h + bit (x <> 0UL)

/// High half of a 64×64-bit product (BMI2 `mulx`; a portable fallback elsewhere).
let inline mulHi (a: uint64) (b: uint64) : uint64 =
    if Bmi2.X64.IsSupported then Bmi2.X64.MultiplyNoFlags(a, b)
    else uint64 (Math.BigMul(a, b) >>> 64)

/// a * b + c + d as a 128-bit (lo, hi) pair; cannot overflow since (2^64-1)^2 + 2(2^64-1) < 2^128.
let inline mac (a: uint64) (b: uint64) (c: uint64) (d: uint64) : struct (uint64 * uint64) =
    let lo = a * b
    let hi = mulHi a b
    let lo1 = lo + c
    let hi = incIfBelow hi lo1 lo
    let lo2 = lo1 + d
    struct (lo2, incIfBelow hi lo2 lo1)

/// q·c as (lo, hi) for a modulus limb c that is a JIT-time constant: free for c = 0 and
/// c = 2^62 (a shift), a multiplication otherwise.
let inline mulLimb (q: uint64) (c: uint64) : struct (uint64 * uint64) =
    if c = 0UL then struct (0UL, 0UL)
    elif c = 0x4000000000000000UL then struct (q <<< 62, q >>> 2)
    else struct (q * c, mulHi q c)

/// u + q·c + carry as (lo, hi) for a constant modulus limb c. When c = 0 the product
/// vanishes and only one carry is left to detect.
let inline macLimb (q: uint64) (c: uint64) (u: uint64) (carry: uint64) : struct (uint64 * uint64) =
    if c = 0UL then
        let v = u + carry
        struct (v, bit (v < u))
    else
        let struct (l, h) = mulLimb q c
        let s = u + l
        let h = incIfBelow h s l
        let v = s + carry
        struct (v, incIfBelow h v s)

/// The top of a reduction step: (u2, u3, u4) + q·(m2·2^64 + m3·2^128) + carry (added at u2),
/// for constant limbs m2, m3. For Pasta (m2 = 0, m3 = 2^62) q·m3 is a shift whose low half
/// has 62 zero bits, so a 0/1 carry joins it without overflow: two carries instead of four.
/// Returns the three limbs; the result fits (it is below 2m < 2^256), so u4 + ... cannot wrap.
let inline macTop (q: uint64) (m2: uint64) (m3: uint64) (u2: uint64) (u3: uint64) (u4: uint64) (carry: uint64) =
    if (m2 ||| (m3 ^^^ 0x4000000000000000UL)) = 0UL then
        let v1 = u2 + carry
        let x = (q <<< 62) + bit (v1 < u2)
        let v2 = u3 + x
        struct (v1, v2, u4 + (q >>> 2) + bit (v2 < x))
    else
        let struct (v1, h) = macLimb q m2 u2 carry
        let struct (v2, h) = macLimb q m3 u3 h
        struct (v1, v2, u4 + h)

/// x - y - borrow for a limb y that is a JIT-time constant, returning (difference, borrow-out).
/// When y < 2^64 - 1, y + borrow cannot wrap and one comparison suffices.
let inline subLimb (x: uint64) (y: uint64) (borrow: uint64) : struct (uint64 * uint64) =
    if y < UInt64.MaxValue then
        let t = y + borrow
        struct (x - t, bit (x < t))
    else
        let d = x - y
        let b = bit (x < y)
        struct (d - borrow, b + bit (d < borrow))

/// Branch-free conditional subtraction: returns x - m if x >= m, else x, for x < 2m.
///
/// Only limbs 0..2 propagate a borrow; the sign bit of the top limb of x - m is the final
/// borrow, because m < 2^255 and x < 2m put x - m in (-2^255, 2^255).
let inline reduceOnce p0 p1 p2 p3 (x0: uint64) (x1: uint64) (x2: uint64) (x3: uint64)
                      : struct (uint64 * uint64 * uint64 * uint64) =
    let struct (d0, b0) = subLimb x0 p0 0UL
    let struct (d1, b1) = subLimb x1 p1 b0
    let struct (d2, b2) = subLimb x2 p2 b1
    let d3 = x3 - p3 - b2
    // keep = all ones when x < m (x - m negative): keep x.
    let keep = uint64 (int64 d3 >>> 63)
    struct ((x0 &&& keep) ||| (d0 &&& ~~~keep),
            (x1 &&& keep) ||| (d1 &&& ~~~keep),
            (x2 &&& keep) ||| (d2 &&& ~~~keep),
            (x3 &&& keep) ||| (d3 &&& ~~~keep))

/// (a + b) mod m for reduced a, b. No overflow past 2^256 because 2m < 2^256.
let inline add p0 p1 p2 p3 (a0: uint64) (a1: uint64) (a2: uint64) (a3: uint64)
               (b0: uint64) (b1: uint64) (b2: uint64) (b3: uint64) =
    let s0 = a0 + b0
    let c0 = bit (s0 < a0)
    let x1 = a1 + b1
    let s1 = x1 + c0
    let c1 = bit (x1 < a1) + bit (s1 < x1)
    let x2 = a2 + b2
    let s2 = x2 + c1
    let c2 = bit (x2 < a2) + bit (s2 < x2)
    // a3 + b3 + c2 < 2^64: the top limbs of reduced values are below 2^63.
    let s3 = a3 + b3 + c2
    reduceOnce p0 p1 p2 p3 s0 s1 s2 s3

/// (a - b) mod m for reduced a, b: subtract, then add m back under the borrow mask.
/// The final borrow is the sign of the top limb (|a - b| < m < 2^255).
let inline sub p0 p1 p2 p3 (a0: uint64) (a1: uint64) (a2: uint64) (a3: uint64)
               (b0: uint64) (b1: uint64) (b2: uint64) (b3: uint64) : struct (uint64 * uint64 * uint64 * uint64) =
    let d0 = a0 - b0
    let o0 = bit (a0 < b0)
    let x1 = a1 - b1
    let d1 = x1 - o0
    let o1 = bit (a1 < b1) + bit (x1 < o0)
    let x2 = a2 - b2
    let d2 = x2 - o1
    let o2 = bit (a2 < b2) + bit (x2 < o1)
    let d3 = a3 - b3 - o2
    let mask = uint64 (int64 d3 >>> 63)
    // d + (m & mask); a carry out of the top limb is dropped: it cancels the borrow.
    let m0 = p0 &&& mask
    let r0 = d0 + m0
    let c0 = bit (r0 < m0)
    let m1 = p1 &&& mask
    let y1 = d1 + m1
    let r1 = y1 + c0
    let c1 = bit (y1 < m1) + bit (r1 < y1)
    let m2 = p2 &&& mask
    let y2 = d2 + m2
    let r2 = y2 + c1
    let c2 = bit (y2 < m2) + bit (r2 < y2)
    let r3 = d3 + (p3 &&& mask) + c2
    struct (r0, r1, r2, r3)

/// One round of CIOS Montgomery multiplication: t <- (t + a·bi + q·m) / 2^64 with q chosen
/// so the low limb vanishes. Valid ("no-carry" variant) because the modulus' top limb < 2^63 - 1,
/// which keeps t < 2m < 2^256 between rounds.
let inline private round p0 p1 p2 p3 (inv: uint64) (a0: uint64) (a1: uint64) (a2: uint64) (a3: uint64)
                         (bi: uint64) (t0: uint64) (t1: uint64) (t2: uint64) (t3: uint64) =
    // u = t + a·bi (five limbs); each high half absorbs at most two carries (hi <= 2^64 - 2).
    let l = a0 * bi
    let h = mulHi a0 bi
    let u0 = l + t0
    let c = incIfBelow h u0 l
    let l = a1 * bi
    let h = mulHi a1 bi
    let s = l + t1
    let h = incIfBelow h s l
    let u1 = s + c
    let c = incIfBelow h u1 s
    let l = a2 * bi
    let h = mulHi a2 bi
    let s = l + t2
    let h = incIfBelow h s l
    let u2 = s + c
    let c = incIfBelow h u2 s
    let l = a3 * bi
    let h = mulHi a3 bi
    let s = l + t3
    let h = incIfBelow h s l
    let u3 = s + c
    let u4 = incIfBelow h u3 s
    // (u + q·m) / 2^64. Low limb: u0 + lo(q·p0) = 0 mod 2^64, so its carry is (u0 <> 0).
    let q = u0 * inv
    let k = incIfNonZero (mulHi q p0) u0
    let struct (v0, h) = macLimb q p1 u1 k
    let struct (v1, v2, v3) = macTop q p2 p3 u2 u3 u4 h
    struct (v0, v1, v2, v3)

/// Montgomery product a·b·2^-256 mod m for reduced a, b.
let inline mul p0 p1 p2 p3 (inv: uint64) a0 a1 a2 a3 b0 b1 b2 b3 : struct (uint64 * uint64 * uint64 * uint64) =
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b0 0UL 0UL 0UL 0UL
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b1 t0 t1 t2 t3
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b2 t0 t1 t2 t3
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b3 t0 t1 t2 t3
    reduceOnce p0 p1 p2 p3 t0 t1 t2 t3

/// One word of separated (SOS) Montgomery reduction at limb position i: adds q·m to
/// t_i..t_{i+4} so t_i becomes zero, and returns the new t_{i+1..i+4} plus the carry out of
/// t_{i+4}. That carry is owed to t_{i+5}, which the next word's step adds at its own top
/// limb together with hi(q·m3) + carries (< 2^63 + 3, since m3 < 2^63: the sum never wraps),
/// so no carry ever ripples further.
let inline private reduceWord p0 p1 p2 p3 (inv: uint64) (ti: uint64) (t1: uint64) (t2: uint64)
                              (t3: uint64) (t4: uint64) (pending: uint64) =
    let q = ti * inv
    let k = incIfNonZero (mulHi q p0) ti
    let struct (v1, h) = macLimb q p1 t1 k
    // top limbs as in `macTop`, plus the pending carry and the carry out of t_{i+4}
    if (p2 ||| (p3 ^^^ 0x4000000000000000UL)) = 0UL then
        let v2 = t2 + h
        let x = (q <<< 62) + bit (v2 < t2)
        let v3 = t3 + x
        let y = (q >>> 2) + bit (v3 < x) + pending
        let v4 = t4 + y
        struct (v1, v2, v3, v4, bit (v4 < y))
    else
        let struct (v2, h) = macLimb q p2 t2 h
        let struct (v3, h) = macLimb q p3 t3 h
        let y = h + pending
        let v4 = t4 + y
        struct (v1, v2, v3, v4, bit (v4 < y))

/// Montgomery square a²·2^-256 mod m: 10 limb products instead of 16.
///
/// a² = Σ_i a_i·M_i·2^(128 i) with M_i = a_i + 2·Σ_{j>i} a_j·2^(64 (j-i)); doubling the upper
/// limbs is a one-bit shift across limbs that cannot overflow because a_3 < 2^63 (a < m < 2^255).
/// The 512-bit square is then reduced word by word.
let inline sqr p0 p1 p2 p3 (inv: uint64) (a0: uint64) (a1: uint64) (a2: uint64) (a3: uint64) =
    // row 0: a0 · [a0, 2a1, 2a2, 2a3] (limbs of a0 + 2·(a1 + a2·2^64 + a3·2^128)·2^64) -> w0..w4
    let m01 = a1 <<< 1
    let m02 = (a2 <<< 1) ||| (a1 >>> 63)
    let m03 = (a3 <<< 1) ||| (a2 >>> 63)
    let w0 = a0 * a0
    let c = mulHi a0 a0
    let l = a0 * m01
    let h = mulHi a0 m01
    let w1 = l + c
    let c = incIfBelow h w1 l
    let l = a0 * m02
    let h = mulHi a0 m02
    let w2 = l + c
    let c = incIfBelow h w2 l
    let l = a0 * m03
    let h = mulHi a0 m03
    let w3 = l + c
    let w4 = incIfBelow h w3 l
    // row 1: a1 · [a1, 2a2, 2a3] added at w2..w5
    let m12 = a2 <<< 1
    let m13 = (a3 <<< 1) ||| (a2 >>> 63)
    let l = a1 * a1
    let h = mulHi a1 a1
    let w2 = w2 + l
    let c = incIfBelow h w2 l
    let l = a1 * m12
    let h = mulHi a1 m12
    let s = w3 + l
    let h = incIfBelow h s l
    let w3 = s + c
    let c = incIfBelow h w3 s
    let l = a1 * m13
    let h = mulHi a1 m13
    let s = w4 + l
    let h = incIfBelow h s l
    let w4 = s + c
    let w5 = incIfBelow h w4 s
    // row 2: a2 · [a2, 2a3] added at w4..w6
    let m23 = a3 <<< 1
    let l = a2 * a2
    let h = mulHi a2 a2
    let w4 = w4 + l
    let c = incIfBelow h w4 l
    let l = a2 * m23
    let h = mulHi a2 m23
    let s = w5 + l
    let h = incIfBelow h s l
    let w5 = s + c
    let w6 = incIfBelow h w5 s
    // row 3: a3² added at w6..w7
    let l = a3 * a3
    let h = mulHi a3 a3
    let w6 = w6 + l
    let w7 = incIfBelow h w6 l
    // reduce w0..w7 by 2^256; the result is below 2m < 2^256, so the last pending carry is zero.
    let struct (t1, t2, t3, t4, e) = reduceWord p0 p1 p2 p3 inv w0 w1 w2 w3 w4 0UL
    let struct (t2, t3, t4, t5, e) = reduceWord p0 p1 p2 p3 inv t1 t2 t3 t4 w5 e
    let struct (t3, t4, t5, t6, e) = reduceWord p0 p1 p2 p3 inv t2 t3 t4 t5 w6 e
    let struct (t4, t5, t6, t7, _) = reduceWord p0 p1 p2 p3 inv t3 t4 t5 t6 w7 e
    reduceOnce p0 p1 p2 p3 t4 t5 t6 t7

/// Textbook CIOS Montgomery multiplication with no shape shortcuts: the reference the
/// tests hold the specialised `mul`/`sqr` to (its code shares nothing with them but `mac`).
/// Loops over arrays and branches on data: for tests only, never on secrets.
let mulReference p0 p1 p2 p3 (inv: uint64) a0 a1 a2 a3 b0 b1 b2 b3 : struct (uint64 * uint64 * uint64 * uint64) =
    let a = [| a0; a1; a2; a3 |]
    let b = [| b0; b1; b2; b3 |]
    let p = [| p0; p1; p2; p3 |]
    let t = Array.zeroCreate<uint64> 6
    for i in 0..3 do
        let mutable c = 0UL
        for j in 0..3 do
            let struct (lo, hi) = mac a[j] b[i] t[j] c
            t[j] <- lo
            c <- hi
        let struct (s4, c4) = mac 0UL 0UL t[4] c
        t[4] <- s4
        t[5] <- c4
        let q = t[0] * inv
        let struct (_, c0) = mac q p[0] t[0] 0UL
        let mutable c = c0
        for j in 1..3 do
            let struct (lo, hi) = mac q p[j] t[j] c
            t[j - 1] <- lo
            c <- hi
        let struct (s3, c3) = mac 0UL 0UL t[4] c
        t[3] <- s3
        t[4] <- t[5] + c3
    // t < 2m; subtract m once if needed (plain borrow chain)
    let mutable borrow = 0UL
    let d = Array.zeroCreate<uint64> 4
    for j in 0..3 do
        let x = t[j] - p[j]
        let b1 = if t[j] < p[j] then 1UL else 0UL
        d[j] <- x - borrow
        borrow <- b1 + (if x < borrow then 1UL else 0UL)
    if t[4] = 0UL && borrow = 1UL then struct (t[0], t[1], t[2], t[3])
    else struct (d[0], d[1], d[2], d[3])

/// Compares little-endian limbs against the modulus: true iff x < m (used for decoding;
/// any 256-bit x, so the borrow runs through all four limbs).
let inline lessThanModulus p0 p1 p2 p3 (x0: uint64) (x1: uint64) (x2: uint64) (x3: uint64) =
    let struct (_, b0) = subLimb x0 p0 0UL
    let struct (_, b1) = subLimb x1 p1 b0
    let struct (_, b2) = subLimb x2 p2 b1
    let struct (_, b3) = subLimb x3 p3 b2
    b3 = 1UL
