/// The fast path of the fixed-point contract (FixedPoint.fs): the same integers as the
/// contract's exact BigInteger formulas, computed in machine words where overflow is provably
/// impossible. Nothing here defines behaviour: FixedPoint calls these kernels and falls back to
/// its exact formulas whenever a kernel declines (ValueNone/None), and the tests check that
/// results and errors are identical to the exact path (`quantizeReference`, `deltaRowsExact`).
module internal ZkLora.Proofs.FixedPointFast

open System
open System.Globalization
open System.Numerics

// ---------------------------------------------------------------------------------------
// Quantization: |q| = D·10^E·2^sb rounded half up, in UInt128

/// 10^k as UInt128 for k ≤ 38 (10^38 < 2^127).
let private pow10 : UInt128[] =
    let t = Array.zeroCreate 39
    t[0] <- UInt128.One
    for k in 1 .. 38 do t[k] <- t[k - 1] * UInt128(0UL, 10UL)
    t

let bigOfU128 (v: UInt128) : BigInteger =
    if UInt128.op_LessThanOrEqual(v, UInt128(0UL, UInt64.MaxValue)) then BigInteger(uint64 v)
    else (BigInteger(uint64 (v >>> 64)) <<< 64) + BigInteger(uint64 (v &&& UInt128(0UL, UInt64.MaxValue)))

/// |q| for D·10^E·2^sb rounded half up on the magnitude, in UInt128 when provably
/// overflow-free (the common case), else ValueNone. Same value as the BigInteger formula.
let magnitudeFast (digits: string) (e10: int) (sb: int) : UInt128 voption =
    if digits.Length > 19 || sb > 120 then ValueNone
    else
        let m = UInt64.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) // < 10^19 < 2^64
        if m = 0UL then ValueSome UInt128.Zero
        elif e10 >= 0 then
            if e10 > 19 then ValueNone
            else
                let prod = UInt128(0UL, m) * pow10[e10] // < 2^64 · 2^64
                // prod · 2^sb must stay below 2^127
                if UInt128.op_GreaterThan(prod, UInt128.MaxValue >>> (sb + 1)) then ValueNone
                else ValueSome(prod <<< sb)
        else
            let d = -e10
            // num = m·2^sb < 2^(64+sb) ≤ 2^125 needs sb ≤ 61; den = 10^d, 2·den < 2^128
            if d > 38 || sb > 61 then ValueNone
            else
                let num = UInt128(0UL, m) <<< sb
                let den = pow10[d]
                ValueSome(((num <<< 1) + den) / (den <<< 1))

// ---------------------------------------------------------------------------------------
// The LoRA delta relation: the same integers with machine arithmetic where overflow is impossible.
//
// Each stage is a dot product of values bounded by data-dependent maxima: before a stage runs
// we check (in BigInteger, once per row) that length · max|left| · max|right| + floor(scale/2)
// fits the accumulator (int64, else Int128), so no partial sum or rounding offset can wrap.
// div_round by the power of two 2^scale_bits is an arithmetic right shift of n + 2^(sb−1),
// which is a floor division for negative n too. The final division by den uses int64 or Int128
// (whichever the bound allows) with a floor correction. Any row that cannot be proven
// overflow-free, or that violates a bound, gives ValueNone: FixedPoint.deltaRows recomputes it by the exact path, which also produces the error message, so results AND errors
// are identical to the exact path.

let private int128Max = BigInteger.Parse("170141183460469231731687303715884105727", CultureInfo.InvariantCulture)
let private int64MaxBig = BigInteger Int64.MaxValue

let inline private fitsInt64 (v: BigInteger) = v >= BigInteger Int64.MinValue && v <= int64MaxBig

let private int64Min128 = Int128.op_Implicit Int64.MinValue
let private int64Max128 = Int128.op_Implicit Int64.MaxValue

let private toBig128 (v: Int128) : BigInteger =
    if Int128.op_GreaterThanOrEqual(v, int64Min128) && Int128.op_LessThanOrEqual(v, int64Max128) then BigInteger(int64 v) // the common case: one small allocation at most
    else
        let lo = uint64 (v &&& Int128(0UL, UInt64.MaxValue))
        let hi = int64 (v >>> 64)
        (BigInteger hi <<< 64) + BigInteger lo

let inline private toInt128 (v: BigInteger) : Int128 =
    // callers pass 0 ≤ v < 2^127 (bounds, half-denominators)
    let lo = uint64 (v &&& BigInteger UInt64.MaxValue)
    let hi = uint64 (int64 (v >>> 64))
    Int128(hi, lo)

/// What the fast path needs of a validated adapter (shapes and bounds checked by the contract).
type Adapter =
    { ScaleBits: int
      InDim: int
      Rank: int
      OutDim: int
      Num: BigInteger
      Den: BigInteger
      ValueBound: BigInteger
      IntermediateBound: BigInteger }

/// Machine-word copies of an adapter (present only when every weight fits int64).
type FastAdapter =
    { P: Adapter
      AL: int64[] // rank × in_dim, row-major
      BL: int64[] // out_dim × rank, row-major
      MaxA: BigInteger
      MaxB: BigInteger
      Half: int64 // floor(scale/2); scale_bits < value_bits ≤ 250 but int64 shifts need sb ≤ 62
      NumIsInt64: bool
      DenIsInt64: bool }

/// The machine-word form of an adapter whose A (rank × in_dim) and B (out_dim × rank) the
/// contract has validated, or None when a weight does not fit int64 or scale_bits > 62.
let fastAdapter (p: Adapter) (a: BigInteger[][]) (b: BigInteger[][]) : FastAdapter option =
    let allFit (m: BigInteger[][]) = m |> Array.forall (Array.forall fitsInt64)
    if p.ScaleBits > 62 || not (allFit a) || not (allFit b) then None
    else
        let maxAbs (m: BigInteger[][]) = m |> Array.fold (fun acc r -> r |> Array.fold (fun a v -> BigInteger.Max(a, BigInteger.Abs v)) acc) BigInteger.Zero
        Some
            { P = p
              AL = a |> Array.collect (Array.map int64)
              BL = b |> Array.collect (Array.map int64)
              MaxA = maxAbs a
              MaxB = maxAbs b
              Half = if p.ScaleBits = 0 then 0L else 1L <<< (p.ScaleBits - 1)
              NumIsInt64 = fitsInt64 p.Num
              DenIsInt64 = fitsInt64 p.Den }

/// Σ left[off+i]·right[i] for i < n, as Int128 (no overflow by the caller's bound check).
let inline private dot128 (left: int64[]) (off: int) (right: int64[]) (n: int) : Int128 =
    let mutable acc = Int128.Zero
    for i in 0 .. n - 1 do
        acc <- acc + Math.BigMul(left[off + i], right[i])
    acc

let inline private dot64 (left: int64[]) (off: int) (right: int64[]) (n: int) : int64 =
    let mutable acc = 0L
    for i in 0 .. n - 1 do
        acc <- acc + left[off + i] * right[i]
    acc

/// One row by machine arithmetic, or ValueNone when the row must go to the exact path.
let fastRow (f: FastAdapter) (x: BigInteger[]) : BigInteger[] voption =
    let p = f.P
    if isNull x || x.Length <> p.InDim then ValueNone
    else
        let xl = Array.zeroCreate<int64> p.InDim
        let mutable maxX = BigInteger.Zero
        let mutable ok = true
        for i in 0 .. p.InDim - 1 do
            let v = x[i]
            let av = BigInteger.Abs v
            if av > p.ValueBound || not (fitsInt64 v) then ok <- false
            else
                xl[i] <- int64 v
                if av > maxX then maxX <- av
        if not ok then ValueNone
        else
            let sb = p.ScaleBits
            let half = BigInteger f.Half
            // Stage 1: raw_j = A_j · x
            let bound1 = BigInteger p.InDim * f.MaxA * maxX + half
            let h = Array.zeroCreate<int64> p.Rank
            let mutable maxH = BigInteger.Zero
            if bound1 <= int64MaxBig then
                let ib = if p.IntermediateBound > int64MaxBig then Int64.MaxValue else int64 p.IntermediateBound
                let mutable j = 0
                while ok && j < p.Rank do
                    let raw = dot64 f.AL (j * p.InDim) xl p.InDim
                    if (if raw < 0L then -raw else raw) > ib then ok <- false
                    else
                        let hj = (raw + f.Half) >>> sb
                        h[j] <- hj
                        let ah = BigInteger(abs hj)
                        if ah > maxH then maxH <- ah
                    j <- j + 1
            elif bound1 <= int128Max then
                let ib = if p.IntermediateBound > int128Max then Int128.MaxValue else toInt128 p.IntermediateBound
                let half128 = Int128(0UL, uint64 f.Half)
                let mutable j = 0
                while ok && j < p.Rank do
                    let raw = dot128 f.AL (j * p.InDim) xl p.InDim
                    if Int128.op_GreaterThan(Int128.Abs raw, ib) then ok <- false
                    else
                        let hj = (raw + half128) >>> sb
                        // h_j must fit int64 for the second stage's products
                        if Int128.op_GreaterThan(hj, int64Max128) || Int128.op_LessThan(hj, -int64Max128) then ok <- false
                        else
                            let hl = int64 hj
                            h[j] <- hl
                            let ah = BigInteger(abs hl)
                            if ah > maxH then maxH <- ah
                    j <- j + 1
            else ok <- false
            if not ok then ValueNone
            else
                // Stage 2: r_k = B_k · h, s_k = div_round(r_k, scale), delta_k = div_round(s_k·num, den)
                let bound2 = BigInteger p.Rank * f.MaxB * maxH + half
                let maxS = (bound2 >>> sb) + BigInteger.One
                let denHalf = p.Den >>> 1
                let bound3 = maxS * BigInteger.Abs p.Num + denHalf
                if bound2 > int128Max || not f.NumIsInt64 || not f.DenIsInt64 || bound3 > int128Max then ValueNone
                elif bound2 <= int64MaxBig && bound3 <= int64MaxBig then
                    // Everything in int64 (the common case: typical weights and activations).
                    let ib = if p.IntermediateBound > int64MaxBig then Int64.MaxValue else int64 p.IntermediateBound
                    let vb = if p.ValueBound > int64MaxBig then Int64.MaxValue else int64 p.ValueBound
                    let num = int64 p.Num
                    let den = int64 p.Den
                    let denHalf = int64 denHalf
                    let delta = Array.zeroCreate<BigInteger> p.OutDim
                    let mutable k = 0
                    while ok && k < p.OutDim do
                        let r = dot64 f.BL (k * p.Rank) h p.Rank
                        if (if r < 0L then -r else r) > ib then ok <- false
                        else
                            let s = (r + f.Half) >>> sb
                            let t = s * num + denHalf
                            let d =
                                if den = 1L then t
                                else
                                    let struct (q, rem) = Math.DivRem(t, den)
                                    if rem < 0L then q - 1L else q
                            if (if d < 0L then -d else d) > vb then ok <- false
                            else delta[k] <- BigInteger d
                        k <- k + 1
                    if ok then ValueSome delta else ValueNone
                else
                    // Int128 with explicit operator calls (F#'s generic comparison would box).
                    let ib = if p.IntermediateBound > int128Max then Int128.MaxValue else toInt128 p.IntermediateBound
                    let vb = if p.ValueBound > int128Max then Int128.MaxValue else toInt128 p.ValueBound
                    let half128 = Int128(0UL, uint64 f.Half)
                    let num = Int128.op_Implicit (int64 p.Num)
                    let den = Int128.op_Implicit (int64 p.Den)
                    let denHalf128 = toInt128 denHalf
                    let useInt64 = bound2 <= int64MaxBig
                    let delta = Array.zeroCreate<BigInteger> p.OutDim
                    let mutable k = 0
                    while ok && k < p.OutDim do
                        let r =
                            if useInt64 then Int128.op_Implicit (dot64 f.BL (k * p.Rank) h p.Rank)
                            else dot128 f.BL (k * p.Rank) h p.Rank
                        if Int128.op_GreaterThan(Int128.Abs r, ib) then ok <- false
                        else
                            let s = (r + half128) >>> sb
                            let t = s * num + denHalf128
                            let d =
                                if Int128.op_Equality(den, Int128.One) then t
                                else
                                    let struct (q, rem) = Int128.DivRem(t, den)
                                    if Int128.IsNegative rem then q - Int128.One else q
                            if Int128.op_GreaterThan(Int128.Abs d, vb) then ok <- false
                            else delta[k] <- toBig128 d
                        k <- k + 1
                    if ok then ValueSome delta else ValueNone
