namespace ZkLora.Math

open System
open System.Numerics

/// Small constant-time helpers on field elements used by the curve code.
module internal CurveMath =
    /// All-ones when `b`, zero otherwise (the JIT compiles the bool test to setcc, no branch).
    let inline maskOf (b: bool) : uint64 = 0UL - (if b then 1UL else 0UL)

    /// `m` all-ones selects `a`, zero selects `b`; branch-free.
    let inline select (m: uint64) (a: FieldElement<'P>) (b: FieldElement<'P>) : FieldElement<'P> =
        FieldElement<'P>((a.L0 &&& m) ||| (b.L0 &&& ~~~m),
                         (a.L1 &&& m) ||| (b.L1 &&& ~~~m),
                         (a.L2 &&& m) ||| (b.L2 &&& ~~~m),
                         (a.L3 &&& m) ||| (b.L3 &&& ~~~m))

    /// 15·t = 16t − t with four doublings and a subtraction (3b = 15 for b = 5): cheaper than a
    /// Montgomery multiplication by the constant.
    let inline mul15 (t: FieldElement<'P>) : FieldElement<'P> =
        let t2 = t + t
        let t4 = t2 + t2
        let t8 = t4 + t4
        (t8 + t8) - t

    /// Parity (lowest bit of the canonical value), the "sign" of a coordinate in encodings.
    let inline parity (v: FieldElement<'P>) : uint64 =
        let struct (l0, _, _, _) = v.CanonicalLimbs
        l0 &&& 1UL

    /// x³ + 5, the right-hand side of the curve equation.
    let inline rhs (x: FieldElement<'P>) (b: FieldElement<'P>) = x.Square() * x + b

/// Constants of the curve y² = x³ + 5 over the field 'B whose group has the prime order
/// r = modulus of 'S. Checked once per instantiation, so a mismatched (base, scalar) pair
/// fails loudly instead of computing in the wrong group.
[<AbstractClass; Sealed>]
type internal CurveConstants<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> private () =
    static let p = FieldElement<'B>.Modulus
    static let r = FieldElement<'S>.Modulus
    static let name =
        // The only instantiations this code is meant for: the two halves of the Pasta cycle.
        let pallasP = BigInteger.Parse("40000000000000000000000000000000224698fc094cf91b992d30ed00000001", Globalization.NumberStyles.HexNumber)
        let vestaP = BigInteger.Parse("40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001", Globalization.NumberStyles.HexNumber)
        if p = pallasP && r = vestaP then "pallas"
        elif p = vestaP && r = pallasP then "vesta"
        else failwithf "curve y^2 = x^3 + 5 over %s with scalar field %s is not a Pasta curve" 'B.Name 'S.Name
    static let b = FieldElement<'B>.OfUInt64 5UL
    static let gx = -FieldElement<'B>.One
    static let gy = FieldElement<'B>.OfUInt64 2UL
    static do
        // (-1)^3 + 5 = 4 = 2^2: the generator is on the curve.
        if not ((CurveMath.rhs gx b).Equals(gy.Square())) then failwithf "%s: generator is not on the curve" name
    /// "pallas" or "vesta" (used in hash-to-curve domain separation and messages).
    static member Name = name
    static member B = b
    static member GX = gx
    static member GY = gy
    static member Order = r

/// A point of the Pasta curve y² = x³ + 5 over the field 'B (group order = modulus of 'S) in
/// affine coordinates. The identity has no affine coordinates; it is stored as (0, 0), which is
/// unambiguous because x = 0 never lies on the curve: 0³ + 5 = 5 is the multiplicative
/// generator of both Pasta fields and hence a quadratic non-residue.
///
/// Values of this type are always valid curve points: the constructor is internal and every
/// public way in (decoding, `TryCreate`, conversions) checks the curve equation.
[<Struct; CustomEquality; NoComparison>]
type Affine<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> =
    val X: FieldElement<'B>
    val Y: FieldElement<'B>
    internal new(x, y) = { X = x; Y = y }

    static member Identity = Affine<'B, 'S>(FieldElement<'B>.Zero, FieldElement<'B>.Zero)
    /// The standard generator (−1, 2).
    static member Generator = Affine<'B, 'S>(CurveConstants<'B, 'S>.GX, CurveConstants<'B, 'S>.GY)
    member a.IsIdentity = a.X.IsZero && a.Y.IsZero
    /// True for the identity and for (x, y) with y² = x³ + 5.
    member a.IsOnCurve = a.IsIdentity || a.Y.Square().Equals(CurveMath.rhs a.X CurveConstants<'B, 'S>.B)

    /// Validates a coordinate pair; (0, 0) is accepted as the identity.
    static member TryCreate(x: FieldElement<'B>, y: FieldElement<'B>) : Result<Affine<'B, 'S>, string> =
        let a = Affine<'B, 'S>(x, y)
        if a.IsOnCurve then Ok a
        else Error(sprintf "(%O, %O) is not a point of %s (y^2 != x^3 + 5)" x y CurveConstants<'B, 'S>.Name)

    static member (~-)(a: Affine<'B, 'S>) = Affine<'B, 'S>(a.X, -a.Y) // -0 = 0 keeps the identity

    /// Coordinates as canonical integers, or None for the identity.
    member a.ToBigIntegers() : (BigInteger * BigInteger) option =
        if a.IsIdentity then None else Some(a.X.ToBigInteger(), a.Y.ToBigInteger())

    /// Compressed 32-byte encoding: x canonical little-endian, bit 255 (free because the modulus
    /// is below 2^255) = parity of y; the identity is 32 zero bytes (never a real x, see the type).
    member a.WriteBytes(dest: Span<byte>) =
        if dest.Length < 32 then invalidArg "dest" "need 32 bytes"
        if a.IsIdentity then dest.Slice(0, 32).Clear()
        else
            a.X.WriteBytes dest
            dest[31] <- dest[31] ||| byte (CurveMath.parity a.Y <<< 7)

    member a.ToBytes() : byte[] =
        let out = Array.zeroCreate 32
        a.WriteBytes(Span out)
        out

    /// Strict decoding of the compressed encoding. Rejects a wrong length, a non-canonical x
    /// (x ≥ modulus), an x with x³ + 5 a non-residue (not on the curve) and the identity's
    /// all-zero x with the sign bit set, each with its own message.
    static member TryReadBytes(src: ReadOnlySpan<byte>) : Result<Affine<'B, 'S>, string> =
        let curve = CurveConstants<'B, 'S>.Name
        if src.Length <> 32 then
            Error(sprintf "%s point encoding must be 32 bytes, got %d" curve src.Length)
        else
            let buf = src.ToArray()
            let sign = uint64 (buf[31] >>> 7)
            buf[31] <- buf[31] &&& 0x7Fuy
            match FieldElement<'B>.TryReadBytes(ReadOnlySpan buf) with
            | Error _ -> Error(sprintf "%s point encoding has a non-canonical x coordinate (x >= modulus)" curve)
            | Ok x when x.IsZero ->
                if sign = 0UL then Ok Affine<'B, 'S>.Identity
                else Error(sprintf "%s point encoding is the identity (x = 0) with the sign bit set" curve)
            | Ok x ->
                match FastSqrt<'B>.Sqrt(CurveMath.rhs x CurveConstants<'B, 'S>.B) with
                | ValueNone -> Error(sprintf "%s point encoding: x is not the x-coordinate of a curve point (x^3 + 5 is not a square)" curve)
                | ValueSome y ->
                    let y = if CurveMath.parity y = sign then y else -y
                    Ok(Affine<'B, 'S>(x, y))

    member a.Equals(b: Affine<'B, 'S>) = a.X.Equals b.X && a.Y.Equals b.Y
    override a.Equals(o: obj) =
        match o with
        | :? Affine<'B, 'S> as b -> a.Equals b
        | _ -> false
    override a.GetHashCode() = HashCode.Combine(a.X, a.Y)
    override a.ToString() =
        if a.IsIdentity then sprintf "%s(identity)" CurveConstants<'B, 'S>.Name
        else sprintf "%s(%O, %O)" CurveConstants<'B, 'S>.Name a.X a.Y
    static member op_Equality(a: Affine<'B, 'S>, b: Affine<'B, 'S>) = a.Equals b
    static member op_Inequality(a: Affine<'B, 'S>, b: Affine<'B, 'S>) = not (a.Equals b)
    interface IEquatable<Affine<'B, 'S>> with
        member a.Equals b = a.Equals b

/// A point of the Pasta curve y² = x³ + 5 over 'B (group order r = modulus of 'S) in
/// homogeneous projective coordinates (X : Y : Z), meaning (X/Z, Y/Z); the identity is
/// (0 : 1 : 0), and any (0 : Y : 0) with Y ≠ 0.
///
/// Why projective with the complete formulas of Renes–Costello–Batina 2015 (Algorithms 7, 8
/// and 9 for a = 0, b3 = 3b = 15): they are correct for every pair of inputs, including the
/// identity, P + P and P + (−P), with no branches. That makes the group law hard to get wrong
/// and lets the fixed-window scalar multiplication run without secret-dependent branches.
/// Cost: add 12M, mixed add 11M, double 6M+2S, where ·15 is done with additions. Jacobian mixed
/// addition would need the same 11 multiplications but exceptional-case branches; the MSM's real
/// speed-up comes from batch-affine bucket accumulation (see Msm.fs), not from the formulas.
[<Struct; CustomEquality; NoComparison>]
type Point<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> =
    val X: FieldElement<'B>
    val Y: FieldElement<'B>
    val Z: FieldElement<'B>
    internal new(x, y, z) = { X = x; Y = y; Z = z }

    static member Identity = Point<'B, 'S>(FieldElement<'B>.Zero, FieldElement<'B>.One, FieldElement<'B>.Zero)
    static member Generator = Point<'B, 'S>(CurveConstants<'B, 'S>.GX, CurveConstants<'B, 'S>.GY, FieldElement<'B>.One)
    /// The group order r (the scalar field's modulus).
    static member Order : BigInteger = CurveConstants<'B, 'S>.Order
    member p.IsIdentity = p.Z.IsZero

    /// Lifts an affine point; the (0, 0) identity becomes (0 : 1 : 0). Branch-free.
    static member OfAffine(a: Affine<'B, 'S>) =
        let m = CurveMath.maskOf a.IsIdentity
        Point<'B, 'S>(a.X, CurveMath.select m FieldElement<'B>.One a.Y, CurveMath.select m FieldElement<'B>.Zero FieldElement<'B>.One)

    /// On the curve: Y²Z = X³ + 5Z³, and not the all-zero triple (which is no point at all).
    member p.IsOnCurve =
        let lhs = p.Y.Square() * p.Z
        let z2 = p.Z.Square()
        let rhs = p.X.Square() * p.X + CurveConstants<'B, 'S>.B * z2 * p.Z
        lhs.Equals rhs && not (p.Z.IsZero && p.Y.IsZero)

    /// Complete addition (RCB 2015, Algorithm 7, a = 0): 12M, valid for all inputs.
    static member (+)(p: Point<'B, 'S>, q: Point<'B, 'S>) : Point<'B, 'S> =
        let t0 = p.X * q.X
        let t1 = p.Y * q.Y
        let t2 = p.Z * q.Z
        let t3 = (p.X + p.Y) * (q.X + q.Y)
        let t4 = t0 + t1
        let t3 = t3 - t4
        let t4 = (p.Y + p.Z) * (q.Y + q.Z)
        let x3 = t1 + t2
        let t4 = t4 - x3
        let x3 = (p.X + p.Z) * (q.X + q.Z)
        let y3 = t0 + t2
        let y3 = x3 - y3
        let x3 = t0 + t0
        let t0 = x3 + t0
        let t2 = CurveMath.mul15 t2
        let z3 = t1 + t2
        let t1 = t1 - t2
        let y3 = CurveMath.mul15 y3
        let x3 = t4 * y3
        let t2 = t3 * t1
        let x3 = t2 - x3
        let y3 = y3 * t0
        let t1 = t1 * z3
        let y3 = t1 + y3
        let t0 = t0 * t3
        let z3 = z3 * t4
        let z3 = z3 + t0
        Point<'B, 'S>(x3, y3, z3)

    /// Mixed addition with an affine point (RCB 2015, Algorithm 8, a = 0): 11M. Algorithm 8
    /// assumes Z2 = 1, so the (0, 0) identity is handled by a branch-free select of p.
    member p.AddAffine(q: Affine<'B, 'S>) : Point<'B, 'S> =
        let t0 = p.X * q.X
        let t1 = p.Y * q.Y
        let t3 = (q.X + q.Y) * (p.X + p.Y)
        let t4 = t0 + t1
        let t3 = t3 - t4
        let t4 = q.Y * p.Z + p.Y
        let y3 = q.X * p.Z + p.X
        let x3 = t0 + t0
        let t0 = x3 + t0
        let t2 = CurveMath.mul15 p.Z
        let z3 = t1 + t2
        let t1 = t1 - t2
        let y3 = CurveMath.mul15 y3
        let x3 = t4 * y3
        let t2 = t3 * t1
        let x3 = t2 - x3
        let y3 = y3 * t0
        let t1 = t1 * z3
        let y3 = t1 + y3
        let t0 = t0 * t3
        let z3 = z3 * t4
        let z3 = z3 + t0
        let m = CurveMath.maskOf q.IsIdentity
        Point<'B, 'S>(CurveMath.select m p.X x3, CurveMath.select m p.Y y3, CurveMath.select m p.Z z3)

    /// Doubling (RCB 2015, Algorithm 9, a = 0): 6M + 2S, valid for all inputs.
    member p.Double() : Point<'B, 'S> =
        let t0 = p.Y.Square()
        let z3 = t0 + t0
        let z3 = z3 + z3
        let z3 = z3 + z3
        let t1 = p.Y * p.Z
        let t2 = p.Z.Square()
        let t2 = CurveMath.mul15 t2
        let x3 = t2 * z3
        let y3 = t0 + t2
        let z3 = t1 * z3
        let t1 = t2 + t2
        let t2 = t1 + t2
        let t0 = t0 - t2
        let y3 = t0 * y3
        let y3 = x3 + y3
        let t1 = p.X * p.Y
        let x3 = t0 * t1
        let x3 = x3 + x3
        Point<'B, 'S>(x3, y3, z3)

    static member (~-)(p: Point<'B, 'S>) = Point<'B, 'S>(p.X, -p.Y, p.Z)
    static member (-)(p: Point<'B, 'S>, q: Point<'B, 'S>) = p + Point<'B, 'S>(q.X, -q.Y, q.Z)

    /// Scalar multiplication, constant-time in the scalar: fixed 4-bit windows over all 256
    /// bits of the canonical scalar (64 windows × (4 doublings + 1 complete addition)); each
    /// window's multiple is read by scanning the whole 16-entry table with masked selects, so
    /// neither branches nor memory addresses depend on the scalar. (Field arithmetic is
    /// branch-free too; "constant-time" here is as far as managed code under a JIT can promise.)
    static member (*)(p: Point<'B, 'S>, k: FieldElement<'S>) : Point<'B, 'S> =
        let table = Array.zeroCreate<Point<'B, 'S>> 16
        table[0] <- Point<'B, 'S>.Identity
        table[1] <- p
        for i in 2 .. 15 do table[i] <- table[i - 1] + p
        let struct (k0, k1, k2, k3) = k.CanonicalLimbs
        let mutable acc = Point<'B, 'S>.Identity
        for w in 63 .. -1 .. 0 do
            acc <- acc.Double().Double().Double().Double()
            let limb = match w >>> 4 with 0 -> k0 | 1 -> k1 | 2 -> k2 | _ -> k3
            let digit = (limb >>> ((w &&& 15) * 4)) &&& 15UL
            let mutable x = FieldElement<'B>.Zero
            let mutable y = FieldElement<'B>.One
            let mutable z = FieldElement<'B>.Zero
            for i in 0 .. 15 do
                let d = uint64 i ^^^ digit
                let m = ((d ||| (0UL - d)) >>> 63) - 1UL // all-ones iff i = digit
                x <- CurveMath.select m table[i].X x
                y <- CurveMath.select m table[i].Y y
                z <- CurveMath.select m table[i].Z z
            acc <- acc + Point<'B, 'S>(x, y, z)
        acc

    static member (*)(k: FieldElement<'S>, p: Point<'B, 'S>) : Point<'B, 'S> = p * k

    /// Variable-time scalar multiplication for PUBLIC scalars (verifier side): width-5 wNAF,
    /// about 256 doublings + 43 additions against the constant-time version's 256 + 64 and
    /// table scans. Timing leaks the scalar; never use it with secrets.
    member p.MulVartime(k: FieldElement<'S>) : Point<'B, 'S> =
        // Odd multiples P, 3P, …, 15P for digits ±1, ±3, …, ±15.
        let table = Array.zeroCreate<Point<'B, 'S>> 8
        table[0] <- p
        let p2 = p.Double()
        for i in 1 .. 7 do table[i] <- table[i - 1] + p2
        let naf = Array.zeroCreate<sbyte> 258
        let top = Scalars.wnaf k.CanonicalLimbs 5 naf
        let mutable acc = Point<'B, 'S>.Identity
        for i in top .. -1 .. 0 do
            acc <- acc.Double()
            let d = int naf[i]
            if d > 0 then acc <- acc + table[d >>> 1]
            elif d < 0 then acc <- acc - table[(-d) >>> 1]
        acc

    /// Affine form; the identity maps to (0, 0). One field inversion: use BatchNormalize for many.
    member p.ToAffine() : Affine<'B, 'S> =
        if p.Z.IsZero then Affine<'B, 'S>.Identity
        else
            let zi = p.Z.Invert()
            Affine<'B, 'S>(p.X * zi, p.Y * zi)

    /// Converts many points to affine with one inversion per chunk (Montgomery's trick),
    /// chunks in parallel for large inputs. `dest` must be at least as long as `src`.
    static member BatchNormalize(src: Point<'B, 'S>[], dest: Affine<'B, 'S>[]) =
        if dest.Length < src.Length then invalidArg "dest" "destination is shorter than the source"
        let normalizeRange (lo: int) (hi: int) =
            let n = hi - lo
            let zs = Array.zeroCreate<FieldElement<'B>> n
            for i in 0 .. n - 1 do zs[i] <- src[lo + i].Z
            FieldElement<'B>.BatchInvert(Span zs) // zeros (identities) stay zero
            for i in 0 .. n - 1 do
                let q = src[lo + i]
                dest[lo + i] <- if q.Z.IsZero then Affine<'B, 'S>.Identity else Affine<'B, 'S>(q.X * zs[i], q.Y * zs[i])
        let chunk = 4096
        if src.Length <= chunk then normalizeRange 0 src.Length
        else
            let parts = (src.Length + chunk - 1) / chunk
            Threading.Tasks.Parallel.For(0, parts, fun c -> normalizeRange (c * chunk) (min src.Length ((c + 1) * chunk))) |> ignore

    static member BatchNormalize(src: Point<'B, 'S>[]) : Affine<'B, 'S>[] =
        let dest = Array.zeroCreate src.Length
        Point<'B, 'S>.BatchNormalize(src, dest)
        dest

    /// Same point: X1·Z2 = X2·Z1 and Y1·Z2 = Y2·Z1 (this also equates all identity triples and
    /// tells the identity apart from every affine point, since valid points never have Y = Z = 0).
    member p.Equals(q: Point<'B, 'S>) =
        (p.X * q.Z).Equals(q.X * p.Z) && (p.Y * q.Z).Equals(q.Y * p.Z)
    /// Same point as an affine one (no inversion): X = x·Z and Y = y·Z with Z ≠ 0, or both identities.
    member p.Equals(a: Affine<'B, 'S>) =
        if a.IsIdentity then p.Z.IsZero
        else not p.Z.IsZero && p.X.Equals(a.X * p.Z) && p.Y.Equals(a.Y * p.Z)
    override p.Equals(o: obj) =
        match o with
        | :? Point<'B, 'S> as q -> p.Equals q
        | _ -> false
    /// Hash of the affine form (costs an inversion; points are rarely hashed).
    override p.GetHashCode() = p.ToAffine().GetHashCode()
    override p.ToString() = p.ToAffine().ToString()
    static member op_Equality(a: Point<'B, 'S>, b: Point<'B, 'S>) = a.Equals b
    static member op_Inequality(a: Point<'B, 'S>, b: Point<'B, 'S>) = not (a.Equals b)
    interface IEquatable<Point<'B, 'S>> with
        member a.Equals b = a.Equals b
