/// The exact fixed-point arithmetic contract of zkLoRA (docs/design.md §2). Every function here is
/// bit-exact: the circuit proves exactly these relations, and the contributor, the base-model
/// user and the verifier must all compute the same integers. Nothing goes through floating
/// point except the one defined entry point, `quantize`, which reads the double's shortest
/// round-trip decimal text exactly.
///
/// This file is the contract: the reference semantics, in exact BigInteger arithmetic. The
/// machine-word kernels that compute the same integers faster live in FixedPointFast.fs;
/// `quantize` and `deltaRows` use them where they provably cannot overflow and fall back to the
/// exact formulas here otherwise (`quantizeReference` and `deltaRowsExact` are the pure
/// reference, property-tested to agree).
module ZkLora.Proofs.FixedPoint

open System
open System.Globalization
open System.Numerics
open System.Threading.Tasks

/// `(scale_bits, value_bits, intermediate_bits)`: scale = 2^scale_bits,
/// value_bound = 2^(value_bits−1) − 1, intermediate_bound = 2^(intermediate_bits−1) − 1.
type FixedPointConfig =
    { ScaleBits: int
      ValueBits: int
      IntermediateBits: int }

/// The default configuration (20, 63, 127).
let defaultConfig = { ScaleBits = 20; ValueBits = 63; IntermediateBits = 127 }

/// Largest allowed `IntermediateBits`. Every bounded quantity is then below 2^249, far from
/// the Pallas modulus p ≈ 2^254, so a circuit can add a few of them, or one product of a
/// value with a bounded weight, without wrapping; and at least one weight always fits in a
/// 250-bit packed commitment word (see AdapterCommitment).
let maxIntermediateBits = 250

/// Smallest allowed `ValueBits` (value_bound = 1): a config with value_bits = 1 could only
/// represent 0.
let minValueBits = 2

/// Checks 0 ≤ scale_bits < value_bits ≤ intermediate_bits ≤ 250 and value_bits ≥ 2.
let validateConfig (c: FixedPointConfig) : Result<FixedPointConfig, string> =
    if c.ScaleBits < 0 then
        Error(sprintf "fixed-point config: scale_bits = %d must be ≥ 0" c.ScaleBits)
    elif c.ValueBits < minValueBits then
        Error(sprintf "fixed-point config: value_bits = %d must be ≥ %d" c.ValueBits minValueBits)
    elif c.ScaleBits >= c.ValueBits then
        Error(sprintf "fixed-point config: scale_bits = %d must be < value_bits = %d" c.ScaleBits c.ValueBits)
    elif c.IntermediateBits < c.ValueBits then
        Error(sprintf "fixed-point config: intermediate_bits = %d must be ≥ value_bits = %d" c.IntermediateBits c.ValueBits)
    elif c.IntermediateBits > maxIntermediateBits then
        Error(sprintf "fixed-point config: intermediate_bits = %d exceeds the maximum %d (values must fit the circuit field with room)" c.IntermediateBits maxIntermediateBits)
    else
        Ok c

/// 2^scale_bits.
let scale (c: FixedPointConfig) = BigInteger.One <<< c.ScaleBits
/// 2^(value_bits−1) − 1.
let valueBound (c: FixedPointConfig) = (BigInteger.One <<< (c.ValueBits - 1)) - BigInteger.One
/// 2^(intermediate_bits−1) − 1.
let intermediateBound (c: FixedPointConfig) = (BigInteger.One <<< (c.IntermediateBits - 1)) - BigInteger.One

// ---------------------------------------------------------------------------------------
// Integer division

/// floor(n / d) for d > 0 (BigInteger.Divide truncates toward zero; this rounds down).
let floorDiv (n: BigInteger) (d: BigInteger) : BigInteger =
    if d.Sign <= 0 then invalidArg "d" "floorDiv needs d > 0"
    let mutable r = BigInteger.Zero
    let q = BigInteger.DivRem(n, d, &r)
    if r.Sign < 0 then q - BigInteger.One else q

/// div_round(n, d) = floor((n + floor(d/2)) / d) for d > 0: nearest integer, ties toward +∞.
/// d ≤ 0 is a caller bug and throws ArgumentException.
let divRound (n: BigInteger) (d: BigInteger) : BigInteger =
    if d.Sign <= 0 then invalidArg "d" (sprintf "divRound needs d > 0, got %O" d)
    floorDiv (n + (d >>> 1)) d

// ---------------------------------------------------------------------------------------
// Quantization

/// The shortest round-trip decimal text of a finite double, split exactly into
/// (negative, decimal digits D, decimal exponent E) with |v| ≈ D·10^E (D may have leading
/// zeros). .NET Core 3.0+ formats "R" as the shortest string that parses back to the same
/// double (the digits Python's repr produces), e.g. "1E-07", "-1.5", "5E-324", "-0".
let private shortestDecimal (v: float) : Result<struct (bool * string * int), string> =
    let s = v.ToString("R", CultureInfo.InvariantCulture)
    let mutable i = 0
    let neg = s.Length > 0 && s[0] = '-'
    if neg then i <- 1
    let intStart = i
    while i < s.Length && Char.IsAsciiDigit s[i] do i <- i + 1
    let intDigits = s.AsSpan(intStart, i - intStart)
    let mutable ok = intDigits.Length > 0
    let mutable fracDigits = ReadOnlySpan<char>.Empty
    if ok && i < s.Length && s[i] = '.' then
        i <- i + 1
        let fracStart = i
        while i < s.Length && Char.IsAsciiDigit s[i] do i <- i + 1
        fracDigits <- s.AsSpan(fracStart, i - fracStart)
        if fracDigits.Length = 0 then ok <- false
    let mutable exp10 = 0
    if ok && i < s.Length && (s[i] = 'E' || s[i] = 'e') then
        i <- i + 1
        let expNeg = i < s.Length && s[i] = '-'
        if i < s.Length && (s[i] = '-' || s[i] = '+') then i <- i + 1
        let expStart = i
        let mutable e = 0
        while i < s.Length && Char.IsAsciiDigit s[i] && e < 100000 do
            e <- e * 10 + int s[i] - int '0'
            i <- i + 1
        if i = expStart then ok <- false
        exp10 <- if expNeg then -e else e
    if not ok || i <> s.Length then
        Error(sprintf "cannot parse the round-trip text '%s' of a double" s)
    else
        Ok(struct (neg, String.Concat(intDigits, fracDigits), exp10 - fracDigits.Length))

/// The reference BigInteger formula for |q|.
let private magnitudeExact (digits: string) (e10: int) (sb: int) : BigInteger =
    let m = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture)
    if e10 >= 0 then
        (m * BigInteger.Pow(BigInteger 10, e10)) <<< sb
    else
        // round half up on the magnitude = floor((2·num + den) / (2·den))
        let num = m <<< sb
        let den = BigInteger.Pow(BigInteger 10, -e10)
        BigInteger.Divide((num <<< 1) + den, den <<< 1)

let private quantizeWith (useFast: bool) (c: FixedPointConfig) (v: float) : Result<BigInteger, string> =
    match validateConfig c with
    | Error e -> Error e
    | Ok c ->
        if Double.IsNaN v then Error "cannot quantize NaN"
        elif Double.IsPositiveInfinity v then Error "cannot quantize +Infinity"
        elif Double.IsNegativeInfinity v then Error "cannot quantize -Infinity"
        else
            match shortestDecimal v with
            | Error e -> Error e
            | Ok(struct (neg, digits, e10)) ->
                let magnitude =
                    match (if useFast then FixedPointFast.magnitudeFast digits e10 c.ScaleBits else ValueNone) with
                    | ValueSome m -> FixedPointFast.bigOfU128 m
                    | ValueNone -> magnitudeExact digits e10 c.ScaleBits
                let q = if neg then -magnitude else magnitude
                let bound = valueBound c
                if magnitude > bound then
                    Error(sprintf "value %s quantizes to %O, outside the value bound ±%O (value_bits = %d, scale_bits = %d)"
                              (v.ToString("R", CultureInfo.InvariantCulture)) q bound c.ValueBits c.ScaleBits)
                else Ok q

/// The exact integer nearest to v·2^scale_bits, where v is read as its shortest round-trip
/// decimal text; ties round away from zero. Errors for NaN, ±∞ and results outside
/// ±value_bound. (-0.0 quantizes to 0.) Uses 128-bit arithmetic when it provably cannot
/// overflow, BigInteger otherwise (property-tested to agree).
let quantize (c: FixedPointConfig) (v: float) : Result<BigInteger, string> = quantizeWith true c v

/// `quantize` by the BigInteger formula only (the reference the fast path is tested against).
let internal quantizeReference (c: FixedPointConfig) (v: float) : Result<BigInteger, string> = quantizeWith false c v

/// `quantize` for a float32: the value is widened to double first (exactly), then the
/// double's shortest text is used, as the contract says.
let quantizeSingle (c: FixedPointConfig) (v: float32) : Result<BigInteger, string> = quantize c (float v)

/// Quantizes every element; the error names the first bad index.
let quantizeArray (c: FixedPointConfig) (vs: float[]) : Result<BigInteger[], string> =
    let out = Array.zeroCreate vs.Length
    let mutable err = None
    let mutable i = 0
    while err.IsNone && i < vs.Length do
        match quantize c vs[i] with
        | Ok q -> out[i] <- q
        | Error e -> err <- Some(sprintf "element %d: %s" i e)
        i <- i + 1
    match err with
    | Some e -> Error e
    | None -> Ok out

/// `quantizeArray` for float32 activations (each widened to double).
let quantizeSingleArray (c: FixedPointConfig) (vs: float32[]) : Result<BigInteger[], string> =
    quantizeArray c (Array.map float vs)

/// The nearest double to q / 2^scale_bits (for combining a delta with a base output;
/// not part of the exact contract).
let dequantize (c: FixedPointConfig) (q: BigInteger) : float =
    Math.ScaleB(float q, -c.ScaleBits)

// ---------------------------------------------------------------------------------------
// Scaling

/// A reduced fraction num/den with den > 0 (the LoRA scaling).
type Scaling = { Num: BigInteger; Den: BigInteger }

/// Reduces num/den (den ≠ 0) to lowest terms with a positive denominator.
let scaling (num: BigInteger) (den: BigInteger) : Result<Scaling, string> =
    if den.IsZero then Error "scaling denominator must not be 0"
    else
        let g = BigInteger.GreatestCommonDivisor(num, den)
        let s = if den.Sign < 0 then BigInteger.MinusOne else BigInteger.One
        Ok { Num = s * num / g; Den = s * den / g }

/// Checks den > 0 and gcd(|num|, den) = 1 (the canonical form; 0 is 0/1).
let validateScaling (s: Scaling) : Result<Scaling, string> =
    if s.Den.Sign <= 0 then Error(sprintf "scaling denominator %O must be > 0" s.Den)
    elif not (BigInteger.GreatestCommonDivisor(s.Num, s.Den)).IsOne then
        Error(sprintf "scaling %O/%O is not reduced" s.Num s.Den)
    else Ok s

/// The exact value of a finite double as a reduced fraction: a double is m·2^e exactly.
let exactRational (v: float) : Result<Scaling, string> =
    if Double.IsNaN v || Double.IsInfinity v then Error(sprintf "%s has no exact rational value" (string v))
    else
        let bits = BitConverter.DoubleToInt64Bits v
        let biased = int ((bits >>> 52) &&& 0x7FFL)
        let frac = bits &&& 0xFFFFFFFFFFFFFL
        let m, e = if biased = 0 then frac, -1074 else (frac ||| (1L <<< 52)), biased - 1075
        let m = BigInteger m
        let m = if bits < 0L then -m else m
        if e >= 0 then Ok { Num = m <<< e; Den = BigInteger.One }
        else scaling m (BigInteger.One <<< -e)

/// PEFT scaling lora_alpha / r as a reduced fraction; lora_alpha is taken at its exact
/// double value (integers up to 2^53 are exact), r must be ≥ 1.
let scalingOf (loraAlpha: float) (r: int) : Result<Scaling, string> =
    if r < 1 then Error(sprintf "LoRA rank r = %d must be ≥ 1" r)
    else
        match exactRational loraAlpha with
        | Error e -> Error("lora_alpha: " + e)
        | Ok a -> scaling a.Num (a.Den * BigInteger r)

/// A module's scaling given directly as a double (e.g. rsLoRA's alpha/√r), as the exact
/// fraction of that double.
let scalingOfDouble (s: float) : Result<Scaling, string> = exactRational s

// ---------------------------------------------------------------------------------------
// The LoRA delta relation

/// A validated adapter + scaling, shared by the exact and fast paths.
type private Prepared =
    { Cfg: FixedPointConfig
      A: BigInteger[][]
      B: BigInteger[][]
      Num: BigInteger
      Den: BigInteger
      InDim: int
      Rank: int
      OutDim: int
      ValueBound: BigInteger
      IntermediateBound: BigInteger
      Scale: BigInteger }

let private checkMatrix (name: string) (rows: int) (cols: int) (vb: BigInteger) (m: BigInteger[][]) : Result<unit, string> =
    if isNull m || m.Length <> rows then
        Error(sprintf "%s must have %d rows, got %d" name rows (if isNull m then 0 else m.Length))
    else
        let mutable err = None
        let mutable r = 0
        while err.IsNone && r < rows do
            let row = m[r]
            if isNull row || row.Length <> cols then
                err <- Some(sprintf "%s row %d must have %d columns, got %d (ragged or mis-shaped matrix)" name r cols (if isNull row then 0 else row.Length))
            else
                let mutable c = 0
                while err.IsNone && c < cols do
                    if BigInteger.Abs row[c] > vb then
                        err <- Some(sprintf "%s[%d][%d] = %O is outside the value bound ±%O" name r c row[c] vb)
                    c <- c + 1
            r <- r + 1
        match err with
        | Some e -> Error e
        | None -> Ok()

let private prepare cfg (a: BigInteger[][]) (b: BigInteger[][]) (num: BigInteger) (den: BigInteger) : Result<Prepared, string> =
    match validateConfig cfg with
    | Error e -> Error e
    | Ok cfg ->
        if den.Sign <= 0 then Error(sprintf "scaling denominator %O must be > 0" den)
        elif not (BigInteger.GreatestCommonDivisor(num, den)).IsOne then
            Error(sprintf "scaling %O/%O is not reduced (the contract uses the reduced fraction)" num den)
        elif isNull a || a.Length = 0 then Error "A must have at least one row (rank ≥ 1)"
        elif isNull a[0] || a[0].Length = 0 then Error "A must have at least one column (in_dim ≥ 1)"
        elif isNull b || b.Length = 0 then Error "B must have at least one row (out_dim ≥ 1)"
        else
            let rank, inDim, outDim = a.Length, a[0].Length, b.Length
            let vb = valueBound cfg
            match checkMatrix "A" rank inDim vb a with
            | Error e -> Error e
            | Ok() ->
                match checkMatrix "B" outDim rank vb b with
                | Error e -> Error e
                | Ok() ->
                    Ok { Cfg = cfg; A = a; B = b; Num = num; Den = den; InDim = inDim; Rank = rank; OutDim = outDim
                         ValueBound = vb; IntermediateBound = intermediateBound cfg; Scale = scale cfg }

/// The reference computation for one row, in BigInteger, exactly as docs/design.md §2.4 states it.
let private exactRow (p: Prepared) (x: BigInteger[]) : Result<BigInteger[], string> =
    if isNull x || x.Length <> p.InDim then
        Error(sprintf "x must have in_dim = %d values, got %d" p.InDim (if isNull x then 0 else x.Length))
    else
        match x |> Array.tryFindIndex (fun v -> BigInteger.Abs v > p.ValueBound) with
        | Some i -> Error(sprintf "x[%d] = %O is outside the value bound ±%O" i x[i] p.ValueBound)
        | None ->
            let h = Array.zeroCreate p.Rank
            let mutable err = None
            let mutable j = 0
            while err.IsNone && j < p.Rank do
                let mutable raw = BigInteger.Zero
                let aj = p.A[j]
                for i in 0 .. p.InDim - 1 do
                    raw <- raw + aj[i] * x[i]
                if BigInteger.Abs raw > p.IntermediateBound then
                    err <- Some(sprintf "raw_%d = %O exceeds the intermediate bound ±%O" j raw p.IntermediateBound)
                else h[j] <- divRound raw p.Scale
                j <- j + 1
            let delta = Array.zeroCreate p.OutDim
            let mutable k = 0
            while err.IsNone && k < p.OutDim do
                let mutable r = BigInteger.Zero
                let bk = p.B[k]
                for j in 0 .. p.Rank - 1 do
                    r <- r + bk[j] * h[j]
                if BigInteger.Abs r > p.IntermediateBound then
                    err <- Some(sprintf "r_%d = %O exceeds the intermediate bound ±%O" k r p.IntermediateBound)
                else
                    let s = divRound r p.Scale
                    let d = divRound (s * p.Num) p.Den
                    if BigInteger.Abs d > p.ValueBound then
                        err <- Some(sprintf "delta_%d = %O is outside the value bound ±%O" k d p.ValueBound)
                    else delta[k] <- d
                k <- k + 1
            match err with
            | Some e -> Error e
            | None -> Ok delta

/// The LoRA delta for one input row x (length in_dim), A (rank × in_dim), B (out_dim × rank),
/// scaling num/den (den > 0, reduced): raw_j = Σ_i A[j][i]·x[i] (|raw_j| ≤ intermediate_bound),
/// h_j = div_round(raw_j, scale); r_k = Σ_j B[k][j]·h_j (|r_k| ≤ intermediate_bound),
/// s_k = div_round(r_k, scale); delta_k = div_round(s_k·num, den) (|delta_k| ≤ value_bound).
/// Exact BigInteger arithmetic; every violated bound or shape is a clear error.
let deltaRow (cfg: FixedPointConfig) (a: BigInteger[][]) (b: BigInteger[][]) (x: BigInteger[]) (num: BigInteger) (den: BigInteger)
    : Result<BigInteger[], string> =
    prepare cfg a b num den |> Result.bind (fun p -> exactRow p x)

let private collectRows (results: Result<BigInteger[], string>[]) : Result<BigInteger[][], string> =
    let out = Array.zeroCreate results.Length
    let mutable err = None
    let mutable i = 0
    while err.IsNone && i < results.Length do
        match results[i] with
        | Ok d -> out[i] <- d
        | Error e -> err <- Some(sprintf "row %d: %s" i e)
        i <- i + 1
    match err with
    | Some e -> Error e
    | None -> Ok out

/// `deltaRow` for every row, sequentially and in BigInteger only: the reference that the
/// fast path is tested against. The error names the first failing row.
let deltaRowsExact (cfg: FixedPointConfig) (a: BigInteger[][]) (b: BigInteger[][]) (xs: BigInteger[][]) (num: BigInteger) (den: BigInteger)
    : Result<BigInteger[][], string> =
    match prepare cfg a b num den with
    | Error e -> Error e
    | Ok p ->
        if isNull xs then Error "the input rows must not be null"
        else xs |> Array.map (exactRow p) |> collectRows

// ---------------------------------------------------------------------------------------
// Dispatch to the fast path (FixedPointFast.fs), with the exact path as the fallback

/// The fast path's machine-word form of a prepared adapter, when it has one.
let private fastAdapter (p: Prepared) : FixedPointFast.FastAdapter option =
    FixedPointFast.fastAdapter
        { FixedPointFast.Adapter.ScaleBits = p.Cfg.ScaleBits; InDim = p.InDim; Rank = p.Rank; OutDim = p.OutDim
          Num = p.Num; Den = p.Den; ValueBound = p.ValueBound; IntermediateBound = p.IntermediateBound }
        p.A p.B

/// Work (multiply-adds) above which rows are computed in parallel.
let private parallelThreshold = 1 <<< 15

/// `deltaRow` for many rows: machine arithmetic where it is provably overflow-free,
/// BigInteger otherwise, rows in parallel for large inputs. Results and error messages are
/// identical to `deltaRowsExact` (property-tested).
let deltaRows (cfg: FixedPointConfig) (a: BigInteger[][]) (b: BigInteger[][]) (xs: BigInteger[][]) (num: BigInteger) (den: BigInteger)
    : Result<BigInteger[][], string> =
    match prepare cfg a b num den with
    | Error e -> Error e
    | Ok p ->
        if isNull xs then Error "the input rows must not be null"
        else
            let fast = fastAdapter p
            let row (x: BigInteger[]) =
                match fast with
                | Some f ->
                    match FixedPointFast.fastRow f x with
                    | ValueSome d -> Ok d
                    | ValueNone -> exactRow p x
                | None -> exactRow p x
            let results = Array.zeroCreate xs.Length
            let work = int64 xs.Length * int64 (p.InDim * p.Rank + p.Rank * p.OutDim)
            if xs.Length > 1 && work >= int64 parallelThreshold then
                Parallel.For(0, xs.Length, fun i -> results[i] <- row xs[i]) |> ignore
            else
                for i in 0 .. xs.Length - 1 do results[i] <- row xs[i]
            collectRows results

/// Test hook: per row, the machine-arithmetic result, or ValueNone where `deltaRows` defers
/// to the exact path (so tests can check that the fast path really runs).
let internal fastRowsOnly (cfg: FixedPointConfig) (a: BigInteger[][]) (b: BigInteger[][]) (xs: BigInteger[][]) (num: BigInteger) (den: BigInteger)
    : Result<BigInteger[] voption[], string> =
    prepare cfg a b num den
    |> Result.map (fun p ->
        match fastAdapter p with
        | Some f -> xs |> Array.map (FixedPointFast.fastRow f)
        | None -> xs |> Array.map (fun _ -> ValueNone))
