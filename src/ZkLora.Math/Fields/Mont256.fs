/// Montgomery arithmetic on 256-bit integers held in four 64-bit little-endian limbs.
///
/// Shared by every prime field of the project (Pasta Fp and Fq). All functions are
/// `inline` so that, once specialised by a field's constants, the JIT sees straight-line
/// code with no calls and no allocations.
///
/// Preconditions, checked when a field's constants are initialised (see PrimeField.fs): the
/// modulus m is odd and its top limb is < 2^63 - 1, which allows the "no-carry" CIOS
/// multiplication (the final carry of each round fits in one limb) and guarantees
/// a + b < 2^256 for reduced a, b.
module internal ZkLora.Math.Fields.Mont256

open System
open System.Numerics
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

/// a + b + carry, returning (sum, carry-out) with carry-out ∈ {0, 1}.
let inline adc (a: uint64) (b: uint64) (carry: uint64) : struct (uint64 * uint64) =
    let s = a + b + carry
    // carry-out of a 64-bit add, computed without branches
    let c = ((a &&& b) ||| ((a ||| b) &&& ~~~s)) >>> 63
    struct (s, c)

/// a - b - borrow, returning (difference, borrow-out) with borrow-out ∈ {0, 1}.
let inline sbb (a: uint64) (b: uint64) (borrow: uint64) : struct (uint64 * uint64) =
    let d = a - b - borrow
    let o = ((~~~a &&& b) ||| (~~~(a ^^^ b) &&& d)) >>> 63
    struct (d, o)

/// a * b + c + d as a 128-bit (lo, hi) pair; cannot overflow since (2^64-1)^2 + 2(2^64-1) < 2^128.
///
/// The high half comes from BMI2 `mulx` (MultiplyNoFlags without its out-pointer) and the
/// low half from a plain 64-bit multiply. `Math.BigMul(a, b, &lo)` would be one instruction
/// fewer but forces `lo` through memory: a store-forwarding stall on each of the 32 limb
/// products of a field multiplication, which measured 8× slower here.
let inline mac (a: uint64) (b: uint64) (c: uint64) (d: uint64) : struct (uint64 * uint64) =
    let hi =
        if Bmi2.X64.IsSupported then Bmi2.X64.MultiplyNoFlags(a, b)
        else uint64 (Math.BigMul(a, b) >>> 64)
    let lo = a * b
    let lo1 = lo + c
    let hi1 = hi + (if lo1 < lo then 1UL else 0UL)
    let lo2 = lo1 + d
    let hi2 = hi1 + (if lo2 < lo1 then 1UL else 0UL)
    struct (lo2, hi2)

/// Branch-free conditional subtraction: returns x - m if x >= m, else x (for x < 2m).
let inline reduceOnce p0 p1 p2 p3 (x0: uint64) (x1: uint64) (x2: uint64) (x3: uint64)
                      : struct (uint64 * uint64 * uint64 * uint64) =
    let struct (d0, b0) = sbb x0 p0 0UL
    let struct (d1, b1) = sbb x1 p1 b0
    let struct (d2, b2) = sbb x2 p2 b1
    let struct (d3, b3) = sbb x3 p3 b2
    // b3 = 1 means x < m: keep x. mask = all ones when keeping x.
    let keep = 0UL - b3
    struct ((x0 &&& keep) ||| (d0 &&& ~~~keep),
            (x1 &&& keep) ||| (d1 &&& ~~~keep),
            (x2 &&& keep) ||| (d2 &&& ~~~keep),
            (x3 &&& keep) ||| (d3 &&& ~~~keep))

/// (a + b) mod m for reduced a, b. No overflow past 2^256 because 2m < 2^256.
let inline add p0 p1 p2 p3 a0 a1 a2 a3 b0 b1 b2 b3 =
    let struct (s0, c0) = adc a0 b0 0UL
    let struct (s1, c1) = adc a1 b1 c0
    let struct (s2, c2) = adc a2 b2 c1
    let struct (s3, _) = adc a3 b3 c2
    reduceOnce p0 p1 p2 p3 s0 s1 s2 s3

/// (a - b) mod m for reduced a, b: subtract, then add m back under a borrow mask.
let inline sub p0 p1 p2 p3 a0 a1 a2 a3 b0 b1 b2 b3 : struct (uint64 * uint64 * uint64 * uint64) =
    let struct (d0, o0) = sbb a0 b0 0UL
    let struct (d1, o1) = sbb a1 b1 o0
    let struct (d2, o2) = sbb a2 b2 o1
    let struct (d3, o3) = sbb a3 b3 o2
    let mask = 0UL - o3
    let struct (r0, c0) = adc d0 (p0 &&& mask) 0UL
    let struct (r1, c1) = adc d1 (p1 &&& mask) c0
    let struct (r2, c2) = adc d2 (p2 &&& mask) c1
    let struct (r3, _) = adc d3 (p3 &&& mask) c2
    struct (r0, r1, r2, r3)

/// One round of no-carry CIOS Montgomery multiplication: t <- (t + a*bi + q*m) / 2^64
/// with q chosen so the low limb vanishes. Valid because the modulus' top limb < 2^63 - 1.
let inline private round p0 p1 p2 p3 (inv: uint64) a0 a1 a2 a3 (bi: uint64) t0 t1 t2 t3
                         : struct (uint64 * uint64 * uint64 * uint64) =
    let struct (u0, ca) = mac a0 bi t0 0UL
    let q = u0 * inv
    let struct (_, cm) = mac q p0 u0 0UL
    let struct (u1, ca) = mac a1 bi t1 ca
    let struct (v0, cm) = mac q p1 u1 cm
    let struct (u2, ca) = mac a2 bi t2 ca
    // Pasta moduli have a zero third limb; the JIT folds this test (p2 is a literal), saving 4 of 32 products.
    let struct (v1, cm) = if p2 = 0UL then adc u2 cm 0UL else mac q p2 u2 cm
    let struct (u3, ca) = mac a3 bi t3 ca
    let struct (v2, cm) = mac q p3 u3 cm
    struct (v0, v1, v2, cm + ca)

/// Montgomery product a * b * R^{-1} mod m for reduced a, b.
let inline mul p0 p1 p2 p3 (inv: uint64) a0 a1 a2 a3 b0 b1 b2 b3 : struct (uint64 * uint64 * uint64 * uint64) =
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b0 0UL 0UL 0UL 0UL
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b1 t0 t1 t2 t3
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b2 t0 t1 t2 t3
    let struct (t0, t1, t2, t3) = round p0 p1 p2 p3 inv a0 a1 a2 a3 b3 t0 t1 t2 t3
    reduceOnce p0 p1 p2 p3 t0 t1 t2 t3

/// Compares little-endian limbs against the modulus: true iff x < m.
let inline lessThanModulus p0 p1 p2 p3 x0 x1 x2 x3 =
    let struct (_, b0) = sbb x0 p0 0UL
    let struct (_, b1) = sbb x1 p1 b0
    let struct (_, b2) = sbb x2 p2 b1
    let struct (_, b3) = sbb x3 p3 b2
    b3 = 1UL
