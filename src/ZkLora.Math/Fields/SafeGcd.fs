/// Constant-time modular inversion by Bernstein–Yang "safegcd" (Bernstein and Yang,
/// "Fast constant-time gcd computation and modular inversion", 2019), in the half-delta
/// ("hddivsteps") variant analysed by P. Wuille (safegcd-bounds).
///
/// Security argument. The algorithm runs a fixed number of division steps on (f, g) =
/// (m, x), applying each batch of 30 steps to the full numbers with a 2×2 transition
/// matrix, and tracks (d, e) with d·x ≡ ±f·c, e·x ≡ g·c (mod m) for a chosen constant c.
/// Once g = 0, f = ±gcd = ±1 and d ≡ ±c/x. The step count is fixed: for 0 <= g <= f <= M
/// at most ⌊(3787·log2 M + 2166)/1644⌋ half-delta steps are needed (safegcd-bounds, checked
/// for all M <= 2^3805), which is 586 for log2 M < 254.01 (both Pasta primes) and 591 for any
/// 256-bit modulus; this code runs 20 batches of 30 = 600. Every step is branch-free
/// (masks from sign and parity bits), every loop has a fixed trip count and no memory
/// access depends on the data, so the running time does not depend on x.
///
/// Representation: signed 30-bit limbs, nine per number (270 bits): limbs 0..7 in
/// [0, 2^30), the top limb signed. Products of a matrix entry (|u| + |v| <= 2^30) with a
/// limb fit in 61 bits, so all arithmetic is plain 64-bit — no 128-bit products.
module internal ZkLora.Math.Fields.SafeGcd

#nowarn "9" // NativePtr: the working numbers live in one stack buffer (no allocation)

open System.Numerics
open Microsoft.FSharp.NativeInterop

[<Literal>]
let private M30 = 0x3FFFFFFFL

[<Literal>]
let private Limbs = 9

/// Divsteps per batch and number of batches (Batches · Steps >= 591).
[<Literal>]
let Steps = 30

[<Literal>]
let Batches = 20

/// A modulus prepared for inversion: its signed-30 limbs and m^{-1} mod 2^30.
[<NoEquality; NoComparison>]
type Modulus30 = { Limbs: int64[]; Inv30: int64 }

/// Signed-30 limbs of a value in [0, 2^256).
let toSigned30 (v: BigInteger) : int64[] =
    Array.init Limbs (fun i -> int64 ((v >>> (30 * i)) &&& BigInteger M30))

/// Prepares an odd modulus below 2^256.
let prepare (m: BigInteger) : Modulus30 =
    if m.IsEven || m.Sign <= 0 || m >= (BigInteger.One <<< 256) then invalidArg "m" "modulus must be odd and in (0, 2^256)"
    let m0 = uint64 (m &&& BigInteger 0xFFFFFFFFUL)
    // Newton iteration x <- x (2 - m x) doubles the number of correct low bits.
    let mutable inv = 1UL
    for _ in 1..5 do inv <- inv * (2UL - m0 * inv)
    { Limbs = toSigned30 m; Inv30 = int64 (inv &&& uint64 M30) }

/// 30 half-delta divsteps on the low bits of f and g. Returns the new zeta and the
/// transition matrix [u v; q r], scaled so that 2^30·[f'; g'] = [u v; q r]·[f; g].
/// zeta = -(delta + 1/2) keeps the half-integral delta integral; delta > 0 <=> zeta < 0.
let inline private divsteps (zeta0: int64) (f0: int64) (g0: int64) =
    let mutable zeta = zeta0
    let mutable f = f0
    let mutable g = g0
    let mutable u = 1L
    let mutable v = 0L
    let mutable q = 0L
    let mutable r = 1L
    for _ in 1..Steps do
        let c1 = zeta >>> 63 // all ones when delta > 0
        let c2 = -(g &&& 1L) // all ones when g is odd
        // g += (delta > 0 ? -f : f) when g is odd, with the same operation on g's matrix row
        let x = (f ^^^ c1) - c1
        let y = (u ^^^ c1) - c1
        let z = (v ^^^ c1) - c1
        g <- g + (x &&& c2)
        q <- q + (y &&& c2)
        r <- r + (z &&& c2)
        // swap when delta > 0 and g odd: f takes the old g (= f + (g - f))
        let c3 = c1 &&& c2
        zeta <- (zeta ^^^ c3) - 1L
        f <- f + (g &&& c3)
        u <- u + (q &&& c3)
        v <- v + (r &&& c3)
        // halve g; the f row doubles instead, keeping the matrix integral
        g <- g >>> 1
        u <- u <<< 1
        v <- v <<< 1
    struct (zeta, u, v, q, r)

/// [f; g] <- [u v; q r]·[f; g] / 2^30 (exact: the low 30 bits cancel by construction).
let inline private updateFg (f: nativeptr<int64>) (g: nativeptr<int64>) u v q r =
    let mutable cf = u * NativePtr.get f 0 + v * NativePtr.get g 0
    let mutable cg = q * NativePtr.get f 0 + r * NativePtr.get g 0
    cf <- cf >>> 30
    cg <- cg >>> 30
    for i in 1 .. Limbs - 1 do
        let fi = NativePtr.get f i
        let gi = NativePtr.get g i
        cf <- cf + u * fi + v * gi
        cg <- cg + q * fi + r * gi
        NativePtr.set f (i - 1) (cf &&& M30)
        NativePtr.set g (i - 1) (cg &&& M30)
        cf <- cf >>> 30
        cg <- cg >>> 30
    NativePtr.set f (Limbs - 1) cf
    NativePtr.set g (Limbs - 1) cg

/// [d; e] <- [u v; q r]·[d; e] / 2^30 (mod m), keeping d, e in (-2m, m): a multiple of m
/// is added so the low 30 bits vanish, plus m once more for each negative input.
let inline private updateDe (m: Modulus30) (d: nativeptr<int64>) (e: nativeptr<int64>) u v q r =
    let ml = m.Limbs
    let sd = NativePtr.get d (Limbs - 1) >>> 63
    let se = NativePtr.get e (Limbs - 1) >>> 63
    let mutable md = (u &&& sd) + (v &&& se)
    let mutable me = (q &&& sd) + (r &&& se)
    let d0 = NativePtr.get d 0
    let e0 = NativePtr.get e 0
    let mutable cd = u * d0 + v * e0
    let mutable ce = q * d0 + r * e0
    // md, me: the multiples of m that zero the low 30 bits (m^{-1} mod 2^30 is Inv30)
    md <- md - ((m.Inv30 * cd + md) &&& M30)
    me <- me - ((m.Inv30 * ce + me) &&& M30)
    cd <- (cd + ml[0] * md) >>> 30
    ce <- (ce + ml[0] * me) >>> 30
    for i in 1 .. Limbs - 1 do
        let di = NativePtr.get d i
        let ei = NativePtr.get e i
        cd <- cd + u * di + v * ei + ml[i] * md
        ce <- ce + q * di + r * ei + ml[i] * me
        NativePtr.set d (i - 1) (cd &&& M30)
        NativePtr.set e (i - 1) (ce &&& M30)
        cd <- cd >>> 30
        ce <- ce >>> 30
    NativePtr.set d (Limbs - 1) cd
    NativePtr.set e (Limbs - 1) ce

/// Adds m·(mask & 1) to x (mask is 0 or all ones) and renormalises the limbs.
let inline private addMasked (m: Modulus30) (x: nativeptr<int64>) (mask: int64) =
    let ml = m.Limbs
    let mutable c = 0L
    for i in 0 .. Limbs - 2 do
        c <- c + NativePtr.get x i + (ml[i] &&& mask)
        NativePtr.set x i (c &&& M30)
        c <- c >>> 30
    NativePtr.set x (Limbs - 1) (c + NativePtr.get x (Limbs - 1) + (ml[Limbs - 1] &&& mask))

/// Negates x when mask is all ones and renormalises the limbs.
let inline private negateMasked (x: nativeptr<int64>) (mask: int64) =
    let mutable c = 0L
    for i in 0 .. Limbs - 2 do
        c <- c + ((NativePtr.get x i ^^^ mask) - mask)
        NativePtr.set x i (c &&& M30)
        c <- c >>> 30
    NativePtr.set x (Limbs - 1) (c + ((NativePtr.get x (Limbs - 1) ^^^ mask) - mask))

/// c·y^{-1} mod m for y (four 64-bit limbs, y < m) and c (signed-30 limbs, in [0, m)); 0 when y = 0.
/// Used with c = R² and y = x·R, this inverts a Montgomery-form element in place: R/x.
let invert (m: Modulus30) (c: int64[]) (y0: uint64) (y1: uint64) (y2: uint64) (y3: uint64)
           : struct (uint64 * uint64 * uint64 * uint64) =
    let buf = NativePtr.stackalloc<int64> (4 * Limbs)
    let f = buf
    let g = NativePtr.add buf Limbs
    let d = NativePtr.add buf (2 * Limbs)
    let e = NativePtr.add buf (3 * Limbs)
    let m30 = uint64 M30
    let inline setG i (v: uint64) = NativePtr.set g i (int64 (v &&& m30))
    setG 0 y0
    setG 1 (y0 >>> 30)
    setG 2 ((y0 >>> 60) ||| (y1 <<< 4))
    setG 3 (y1 >>> 26)
    setG 4 ((y1 >>> 56) ||| (y2 <<< 8))
    setG 5 (y2 >>> 22)
    setG 6 ((y2 >>> 52) ||| (y3 <<< 12))
    setG 7 (y3 >>> 18)
    NativePtr.set g 8 (int64 (y3 >>> 48))
    for i in 0 .. Limbs - 1 do
        NativePtr.set f i m.Limbs[i]
        NativePtr.set d i 0L
        NativePtr.set e i c[i]
    let mutable zeta = -1L // delta = 1/2
    for _ in 1..Batches do
        let struct (z, u, v, q, r) = divsteps zeta (NativePtr.get f 0) (NativePtr.get g 0)
        zeta <- z
        updateFg f g u v q r
        updateDe m d e u v q r
    // f = ±1 now (gcd of m and a unit); d ≡ ±c/y with d in (-2m, m). Bring it to [0, m).
    addMasked m d (NativePtr.get d (Limbs - 1) >>> 63)
    negateMasked d (NativePtr.get f (Limbs - 1) >>> 63)
    addMasked m d (NativePtr.get d (Limbs - 1) >>> 63)
    let l i = uint64 (NativePtr.get d i)
    struct (l 0 ||| (l 1 <<< 30) ||| (l 2 <<< 60),
            (l 2 >>> 4) ||| (l 3 <<< 26) ||| (l 4 <<< 56),
            (l 4 >>> 8) ||| (l 5 <<< 22) ||| (l 6 <<< 52),
            (l 6 >>> 12) ||| (l 7 <<< 18) ||| (l 8 <<< 48))
