/// Shared pieces of the projection backend (docs/projection-protocol.md): the parameter
/// policy the verifier enforces before anything else, the exact output intervals of the
/// contract and the strict binary encoding of proofs.
module ZkLora.Proofs.Projection.ProjectionCommon

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Commitment
open ZkLora.Math.Transcript
open ZkLora.Proofs.FixedPoint

/// Bounds every parameter an untrusted party chooses must satisfy before it matters.
/// The no-wrap argument of docs/projection-protocol.md needs exactly these.
module Policy =
    /// Largest |num| and den of a scaling.
    let maxScalingMagnitude = BigInteger.One <<< 64
    /// Largest scale_bits, value_bits, intermediate_bits.
    let maxScaleBits, maxValueBits, maxIntermediateBits = 32, 64, 128
    /// Largest in_dim, out_dim (2^16), rank (2^10) and rows per proof (2^16).
    let maxDim, maxRank, maxRows = 1 <<< 16, 1 <<< 10, 1 <<< 16
    /// Largest committed vector of one proof (2^25 entries, ≈ 1 GiB of prover scalars).
    let maxVectorLength = 1 <<< 25

    /// The fixed-point config within the contract's rules and the policy.
    let checkConfig (c: FixedPointConfig) : Result<unit, string> =
        match validateConfig c with
        | Error e -> Error e
        | Ok _ ->
            if c.ScaleBits > maxScaleBits then Error(sprintf "projection policy: scale_bits %d > %d" c.ScaleBits maxScaleBits)
            elif c.ValueBits > maxValueBits then Error(sprintf "projection policy: value_bits %d > %d" c.ValueBits maxValueBits)
            elif c.IntermediateBits > maxIntermediateBits then
                Error(sprintf "projection policy: intermediate_bits %d > %d" c.IntermediateBits maxIntermediateBits)
            else Ok()

    /// The scaling reduced, 1 ≤ den ≤ 2^64, |num| ≤ 2^64.
    let checkScaling (num: BigInteger) (den: BigInteger) : Result<unit, string> =
        match validateScaling { Num = num; Den = den } with
        | Error e -> Error e
        | Ok _ ->
            if den > maxScalingMagnitude then Error(sprintf "projection policy: den %O > 2^64" den)
            elif BigInteger.Abs num > maxScalingMagnitude then Error(sprintf "projection policy: |num| %O > 2^64" num)
            else Ok()

    /// 1 ≤ in, out ≤ 2^16, 1 ≤ rank ≤ 2^10 (rows are checked by the call proof).
    let checkShape (inDim: int) (rank: int) (outDim: int) : Result<unit, string> =
        if inDim < 1 || inDim > maxDim || outDim < 1 || outDim > maxDim then
            Error(sprintf "projection policy: dims %d×%d outside 1..%d" inDim outDim maxDim)
        elif rank < 1 || rank > maxRank then Error(sprintf "projection policy: rank %d outside 1..%d" rank maxRank)
        else Ok()

/// bit length of a non-negative integer (0 for 0).
let bitLength (v: BigInteger) : int =
    if v.Sign < 0 then invalidArg "v" "non-negative value expected"
    int (v.GetBitLength())

/// The smallest power of two ≥ n (n ≥ 1).
let nextPowerOfTwo (n: int) : int =
    if n <= 1 then 1 else 1 <<< (32 - Numerics.BitOperations.LeadingZeroCount(uint32 (n - 1)))

/// floor(a / b) for b ≠ 0 (either sign).
let floorDivAny (a: BigInteger) (b: BigInteger) =
    if b.Sign > 0 then floorDiv a b else floorDiv (-a) (-b)

/// ceil(a / b) for b ≠ 0.
let ceilDivAny (a: BigInteger) (b: BigInteger) = -(floorDivAny (-a) b)

/// The exact set of r = Σ_j B_kj·h_j the contract maps to δ (with |r| ≤ intermediate_bound):
/// Some [lo, hi], or None when no r gives δ. Monotonicity of r ↦ div_round(div_round(r, 2^s)·num, den)
/// makes the preimage an interval.
let outputInterval (cfg: FixedPointConfig) (num: BigInteger) (den: BigInteger) (delta: BigInteger) : (BigInteger * BigInteger) option =
    let ib = intermediateBound cfg
    let sc = scale cfg
    let half = if cfg.ScaleBits = 0 then BigInteger.Zero else sc / BigInteger 2
    let hd = den / BigInteger 2
    let rRange =
        if num.IsZero then
            // δ = ⌊hd/den⌋ = 0 for every s
            if delta.IsZero then Some(-ib, ib) else None
        else
            // num·s ∈ [e1, e2] with e1 = den·δ − hd, e2 = e1 + den − 1
            let e1 = den * delta - hd
            let e2 = e1 + den - BigInteger.One
            let sLo, sHi =
                if num.Sign > 0 then ceilDivAny e1 num, floorDivAny e2 num
                else ceilDivAny e2 num, floorDivAny e1 num
            if sLo > sHi then None
            else Some(sc * sLo - half, sc * sHi + sc - BigInteger.One - half)
    match rRange with
    | None -> None
    | Some(lo, hi) ->
        let lo, hi = BigInteger.Max(lo, -ib), BigInteger.Min(hi, ib)
        if lo > hi then None else Some(lo, hi)

/// Bits of the output range check: every interval width hi − lo is below 2^bits, for any δ.
/// Width ≤ min(2·IB, 2^s·(⌊(den−1)/|num|⌋ + 1) − 1) (2·IB when num = 0).
let outputBits (cfg: FixedPointConfig) (num: BigInteger) (den: BigInteger) : int =
    let ib2 = BigInteger 2 * intermediateBound cfg
    let w =
        if num.IsZero then ib2
        else BigInteger.Min(ib2, scale cfg * (BigInteger.Divide(den - BigInteger.One, BigInteger.Abs num) + BigInteger.One) - BigInteger.One)
    bitLength w

/// Absorbs a BigInteger with an explicit length (two's complement, little-endian).
let absorbInteger (t: Transcript) (label: string) (v: BigInteger) =
    Transcript.absorbBytes t label (v.ToByteArray())

/// Absorbs an int as 8 bytes little-endian.
let absorbInt (t: Transcript) (label: string) (v: int) =
    let b = Array.zeroCreate<byte> 8
    Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(Span b, int64 v)
    Transcript.absorbBytes t label b

/// Absorbs a matrix of bounded integers (|v| < 2^63 under the policy): rows, columns and
/// each value as 8 bytes little-endian two's complement, in one record.
let absorbMatrix (t: Transcript) (label: string) (m: BigInteger[][]) =
    let cols = if m.Length = 0 then 0 else m[0].Length
    let buf = Array.zeroCreate<byte> (16 + 8 * m.Length * cols)
    Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(Span(buf, 0, 8), int64 m.Length)
    Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(Span(buf, 8, 8), int64 cols)
    let mutable o = 16
    for row in m do
        if row.Length <> cols then invalidArg "m" "ragged matrix"
        for v in row do
            Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(Span(buf, o, 8), int64 v)
            o <- o + 8
    Transcript.absorbBytes t label buf

/// Absorbs the fixed-point config.
let absorbConfig (t: Transcript) (cfg: FixedPointConfig) =
    absorbInt t "scale_bits" cfg.ScaleBits
    absorbInt t "value_bits" cfg.ValueBits
    absorbInt t "intermediate_bits" cfg.IntermediateBits

/// Absorbs a point.
let absorbPoint (t: Transcript) (label: string) (p: VestaAffine) = t.AbsorbPoint(label, ReadOnlySpan(p.ToBytes()))

/// Append-only writer of proof bytes (points 32 bytes compressed, scalars 32 bytes canonical).
type ProofBytesWriter() =
    let buf = new IO.MemoryStream()
    member _.Point(p: VestaAffine) = buf.Write(ReadOnlySpan(p.ToBytes()))
    member _.Scalar(s: Fp) = buf.Write(ReadOnlySpan(s.ToBytes()))
    member w.Ipa(p: IpaProof) =
        for l in p.L do w.Point l
        for r in p.R do w.Point r
        w.Scalar p.A
        w.Scalar p.B
    member w.Hadamard(p: HadamardProof) =
        w.Point p.S
        w.Point p.T1
        w.Point p.T2
        w.Scalar p.TauX
        w.Scalar p.Mu
        w.Scalar p.THat
        w.Ipa p.Ipa
    member _.ToArray() = buf.ToArray()

exception private DecodeFailure of string

/// Strict reader: canonical scalars, valid compressed points, exact length.
type ProofBytesReader(bytes: byte[]) =
    let mutable pos = 0
    let take () =
        if pos + 32 > bytes.Length then raise (DecodeFailure(sprintf "truncated at byte %d of %d" pos bytes.Length))
        let s = ReadOnlySpan(bytes, pos, 32)
        pos <- pos + 32
        s
    member _.Point() =
        match VestaAffine.TryReadBytes(take ()) with
        | Ok p -> p
        | Error e -> raise (DecodeFailure(sprintf "point at byte %d: %s" (pos - 32) e))
    member _.Scalar() =
        match Fp.TryReadBytes(take ()) with
        | Ok s -> s
        | Error e -> raise (DecodeFailure(sprintf "scalar at byte %d: %s" (pos - 32) e))
    member r.Ipa(rounds: int) : IpaProof =
        let l = Array.init rounds (fun _ -> r.Point())
        let rr = Array.init rounds (fun _ -> r.Point())
        let a = r.Scalar()
        let b = r.Scalar()
        { L = l; R = rr; A = a; B = b }
    member r.Hadamard(rounds: int) : HadamardProof =
        let s = r.Point()
        let t1 = r.Point()
        let t2 = r.Point()
        let tauX = r.Scalar()
        let mu = r.Scalar()
        let tHat = r.Scalar()
        { S = s; T1 = t1; T2 = t2; TauX = tauX; Mu = mu; THat = tHat; Ipa = r.Ipa rounds }
    member _.Finish() =
        if pos <> bytes.Length then raise (DecodeFailure(sprintf "%d trailing bytes" (bytes.Length - pos)))

/// Runs a decoder; any malformed input becomes Error.
let decodeWith (bytes: byte[]) (f: ProofBytesReader -> 'T) : Result<'T, string> =
    if isNull bytes then Error "no proof bytes"
    else
        try
            let r = ProofBytesReader bytes
            let v = f r
            r.Finish()
            Ok v
        with DecodeFailure e -> Error("malformed proof: " + e)

/// The logUp range argument's shared pieces (docs/projection-protocol.md §4.1, §4.6): range
/// items of m bits split into 10-bit limbs (plus a shifted copy of a partial top limb), the
/// multiplicities over the table [0, 2^10), and the table side 1/(v − α).
module LogUp =
    /// Bits per limb; the lookup table is [0, 2^LimbBits).
    [<Literal>]
    let LimbBits = 10

    /// Entries of the lookup table.
    let TableSize = 1 <<< LimbBits

    /// Entries an m-bit item takes: ⌈m/b⌉ limbs, plus a shifted copy 2^(b − m mod b)·top
    /// when the top limb is partial (0 for m = 0).
    let itemEntries (m: int) =
        if m = 0 then 0 else (m + LimbBits - 1) / LimbBits + (if m % LimbBits <> 0 then 1 else 0)

    /// 2^(bk) for k < count.
    let limbScale (count: int) = ZkLora.Math.Commitment.InnerProductArgument.powers (Fp.OfUInt64(uint64 TableSize)) (max 1 count)

    /// The limb segment of the item values. A value in [0, 2^m) is split into ⌈m/b⌉ limbs
    /// (low first) plus the shifted copy of a partial top limb; a value outside its range
    /// (only a cheating prover's) is written as one field element in the item's first entry.
    let limbsOf (itemBits: int[]) (itemPos: int[]) (segCount: int) (values: BigInteger[]) : Fp[] =
        let ell = Array.zeroCreate<Fp> segCount
        let mask = TableSize - 1
        Threading.Tasks.Parallel.For(0, values.Length, fun item ->
            let m = itemBits[item]
            let p = itemPos[item]
            let v = values[item]
            if m > 0 then
                let full = (m + LimbBits - 1) / LimbBits
                let rem = m % LimbBits
                if v.Sign >= 0 && v.GetBitLength() <= int64 m then
                    let mutable top = 0
                    if m <= 62 then
                        let x = int64 v
                        for k in 0 .. full - 1 do
                            let limb = int ((x >>> (LimbBits * k)) &&& int64 mask)
                            ell[p + k] <- Fp.OfUInt64(uint64 limb)
                            top <- limb
                    else
                        let bytes = v.ToByteArray(isUnsigned = true, isBigEndian = false)
                        for k in 0 .. full - 1 do
                            let mutable limb = 0
                            for bit in 0 .. LimbBits - 1 do
                                let b = LimbBits * k + bit
                                let byteIx = b >>> 3
                                if byteIx < bytes.Length && ((int bytes[byteIx] >>> (b &&& 7)) &&& 1) = 1 then limb <- limb ||| (1 <<< bit)
                            ell[p + k] <- Fp.OfUInt64(uint64 limb)
                            top <- limb
                    if rem <> 0 then ell[p + full] <- Fp.OfUInt64(uint64 (top <<< (LimbBits - rem)))
                else
                    ell[p] <- Fp.OfBigInteger v) |> ignore
        ell

    /// m_v = #{i : ℓ_i = v} over the entries that are table values.
    let multiplicities (ell: Fp[]) : Fp[] =
        let counts = Array.zeroCreate<int> TableSize
        for x in ell do
            let struct (a, b, c, d) = x.CanonicalLimbs
            if b = 0UL && c = 0UL && d = 0UL && a < uint64 TableSize then counts[int a] <- counts[int a] + 1
        counts |> Array.map (fun c -> Fp.OfUInt64(uint64 c))

    /// 1/(v − α) for every table value v (None if α is a table value: probability 2^10/p).
    let tableInverses (alpha: Fp) : Fp[] option =
        let d = Array.init TableSize (fun v -> Fp.OfUInt64(uint64 v) - alpha)
        if d |> Array.exists (fun x -> x.IsZero) then None
        else
            Fp.BatchInvert(Span d)
            Some d

    /// Adds an item's terms to the limb coefficients dR: coefficient c on its value
    /// (c·2^(bk) on limb k) and, for a partial top limb, shiftWeight·(ℓ' − 2^(b − rem)·ℓ_top).
    let addItem (dR: Fp[]) (scales: Fp[]) (shiftWeight: Fp) (m: int) (p: int) (c: Fp) =
        if m > 0 then
            let full = (m + LimbBits - 1) / LimbBits
            for k in 0 .. full - 1 do dR[p + k] <- dR[p + k] + c * scales[k]
            let rem = m % LimbBits
            if rem <> 0 then
                dR[p + full] <- dR[p + full] + shiftWeight
                dR[p + full - 1] <- dR[p + full - 1] - shiftWeight * Fp.OfUInt64(1UL <<< (LimbBits - rem))

    /// The inverses 1/(ℓ_i − α) (Error if α is a limb: probability ≤ N/p).
    let inverses (ell: Fp[]) (alpha: Fp) : Fp[] option =
        let inv = Array.zeroCreate<Fp> ell.Length
        Threading.Tasks.Parallel.For(0, ell.Length, fun i -> inv[i] <- ell[i] - alpha) |> ignore
        if inv |> Array.exists (fun v -> v.IsZero) then None
        else
            Fp.BatchInvert(Span inv)
            Some inv
