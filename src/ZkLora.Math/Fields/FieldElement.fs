namespace ZkLora.Math

open System
open System.Numerics
open System.Runtime.CompilerServices
open System.Security.Cryptography
open ZkLora.Math.Fields

/// The constants that define one prime field. Implemented by empty marker structs
/// (`PallasBase`, `VestaBase`); every member returns a literal, so once the JIT
/// specialises `FieldElement<'P>` for a marker the modulus limbs become immediate
/// operands and field arithmetic compiles to straight-line code.
type IFieldParams =
    /// Modulus limb 0 (least significant).
    static abstract P0: uint64
    /// Modulus limb 1.
    static abstract P1: uint64
    /// Modulus limb 2.
    static abstract P2: uint64
    /// Modulus limb 3 (most significant); must be < 2^63 - 1.
    static abstract P3: uint64
    /// -p^{-1} mod 2^64, the Montgomery reduction constant (checked at start-up).
    static abstract Inv: uint64
    /// Largest s with 2^s | p - 1.
    static abstract TwoAdicity: int
    /// A generator of the multiplicative group (a quadratic non-residue; used by sqrt and FFT cosets).
    static abstract MultiplicativeGenerator: uint64
    /// Human-readable name used in error messages.
    static abstract Name: string

/// Values derived once per field from its parameters with plain BigInteger arithmetic,
/// so nothing beyond the modulus limbs has to be trusted as a magic number.
/// Montgomery-form constants are raw limbs of x·R mod p, with R = 2^256.
[<AbstractClass; Sealed>]
type internal FieldConstants<'P when 'P :> IFieldParams and 'P: struct> private () =
    static let modulus = Mont256.bigOf 'P.P0 'P.P1 'P.P2 'P.P3
    static let two = BigInteger 2
    static let r = BigInteger.ModPow(two, BigInteger 256, modulus)
    static let reduce (x: BigInteger) = let m = x % modulus in if m.Sign < 0 then m + modulus else m
    static let mont (x: BigInteger) = Mont256.limbsOf ((reduce x * r) % modulus)
    static let oddPart = (modulus - BigInteger.One) >>> 'P.TwoAdicity
    static do
        // Fail fast if a parameter struct is inconsistent: a wrong constant would
        // silently produce a different field.
        if modulus.IsEven || 'P.P3 >= 0x7FFFFFFFFFFFFFFFUL then
            failwithf "%s: modulus must be odd with top limb < 2^63 - 1" 'P.Name
        if Mont256.montInv 'P.P0 <> 'P.Inv then
            failwithf "%s: Inv is not -p^{-1} mod 2^64" 'P.Name
        if not ((modulus - BigInteger.One) % (BigInteger.One <<< 'P.TwoAdicity)).IsZero || oddPart.IsEven then
            failwithf "%s: TwoAdicity is not the 2-adic valuation of p - 1" 'P.Name
        let g = BigInteger 'P.MultiplicativeGenerator
        if BigInteger.ModPow(g, (modulus - BigInteger.One) / two, modulus) <> modulus - BigInteger.One then
            failwithf "%s: the multiplicative generator is a quadratic residue" 'P.Name
    static let oneMont = mont BigInteger.One
    static let r2 = Mont256.limbsOf (BigInteger.ModPow(two, BigInteger 512, modulus))
    static let rootOfUnity = mont (BigInteger.ModPow(BigInteger 'P.MultiplicativeGenerator, oddPart, modulus))
    static let sqrtExponent = (oddPart + BigInteger.One) / two
    static let minusTwo = modulus - two
    static let generatorMont = mont (BigInteger 'P.MultiplicativeGenerator)
    static let modulus30 = SafeGcd.prepare modulus
    static let r2Signed30 = SafeGcd.toSigned30 (BigInteger.ModPow(two, BigInteger 512, modulus))
    // Wide reduction without BigInteger needs every 254-bit value to be canonical already.
    static let modulusAbove2To254 = modulus > (BigInteger.One <<< 254)
    static let topBitsMont = Array.init 4 (fun t -> mont (BigInteger t <<< 254))
    static let twoTo256Mont = mont (BigInteger.One <<< 256)
    static member Modulus = modulus
    static member OneMont = oneMont
    static member R2 = r2
    /// Odd part t of p - 1 = 2^s · t.
    static member OddPart = oddPart
    /// (t + 1) / 2, the Tonelli–Shanks starting exponent.
    static member SqrtExponent = sqrtExponent
    /// p - 2, the Fermat inversion exponent.
    static member MinusTwo = minusTwo
    /// g^t, a primitive 2^s-th root of unity, in Montgomery form.
    static member RootOfUnityMont = rootOfUnity
    static member GeneratorMont = generatorMont
    /// The modulus prepared for safegcd inversion.
    static member Modulus30 = modulus30
    /// R² mod p in signed-30 limbs: the safegcd numerator that makes (x·R)^{-1}·R² = x^{-1}·R.
    static member R2Signed30 = r2Signed30
    /// True when p > 2^254, so a 256-bit value splits into a canonical 254-bit part and two top bits.
    static member ModulusAbove2To254 = modulusAbove2To254
    /// t·2^254 mod p for t = 0..3, in Montgomery form.
    static member TopBitsMont = topBitsMont
    /// 2^256 mod p, in Montgomery form.
    static member TwoTo256Mont = twoTo256Mont
    static member Reduce(x: BigInteger) = reduce x
    static member Mont(x: BigInteger) = mont x

/// An element of the prime field defined by 'P, stored in Montgomery form as four
/// 64-bit little-endian limbs, always fully reduced (so equal values have equal limbs).
///
/// Arithmetic is constant-time in the values (branch-free carries and conditional
/// subtraction), and so is `Invert` (safegcd, fixed step count); `Pow` and `Sqrt` are
/// variable-time in their *public* exponents only. Decoding rejects non-canonical encodings.
[<Struct; CustomEquality; NoComparison>]
type FieldElement<'P when 'P :> IFieldParams and 'P: struct> =
    val L0: uint64
    val L1: uint64
    val L2: uint64
    val L3: uint64
    /// Builds an element from raw Montgomery-form limbs (no reduction: callers guarantee < p).
    internal new(l0, l1, l2, l3) = { L0 = l0; L1 = l1; L2 = l2; L3 = l3 }

    static member Zero = FieldElement<'P>(0UL, 0UL, 0UL, 0UL)
    static member One =
        let struct (a, b, c, d) = FieldConstants<'P>.OneMont
        FieldElement<'P>(a, b, c, d)
    /// The field modulus p.
    static member Modulus: BigInteger = FieldConstants<'P>.Modulus
    static member TwoAdicity = 'P.TwoAdicity
    static member Generator =
        let struct (a, b, c, d) = FieldConstants<'P>.GeneratorMont
        FieldElement<'P>(a, b, c, d)

    member x.IsZero = (x.L0 ||| x.L1 ||| x.L2 ||| x.L3) = 0UL

    // Calling convention of the arithmetic operators. Each public operator is a small
    // wrapper the JIT inlines into its caller; it passes the limbs to a non-inlined worker
    // as scalar arguments (registers, mostly) and gets four limbs back. Passing the 32-byte
    // structs themselves goes through memory twice per operation (a copy into the argument
    // area, then the callee's loads), and RyuJIT copies them with 16-byte loads that cannot
    // be store-forwarded from the previous result's 8-byte stores: this calling convention
    // made dependent chains of multiplications about 15% faster (bench/RESULTS.md). The
    // workers are too large to inline (RyuJIT does not inline methods with many locals).

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    static member private AddLimbs(a0: uint64, a1: uint64, a2: uint64, a3: uint64, b0: uint64, b1: uint64, b2: uint64, b3: uint64) =
        Mont256.add 'P.P0 'P.P1 'P.P2 'P.P3 a0 a1 a2 a3 b0 b1 b2 b3

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    static member private SubLimbs(a0: uint64, a1: uint64, a2: uint64, a3: uint64, b0: uint64, b1: uint64, b2: uint64, b3: uint64) =
        Mont256.sub 'P.P0 'P.P1 'P.P2 'P.P3 a0 a1 a2 a3 b0 b1 b2 b3

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    static member private MulLimbs(a0: uint64, a1: uint64, a2: uint64, a3: uint64, b0: uint64, b1: uint64, b2: uint64, b3: uint64) =
        Mont256.mul 'P.P0 'P.P1 'P.P2 'P.P3 'P.Inv a0 a1 a2 a3 b0 b1 b2 b3

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    static member private SqrLimbs(a0: uint64, a1: uint64, a2: uint64, a3: uint64) =
        Mont256.sqr 'P.P0 'P.P1 'P.P2 'P.P3 'P.Inv a0 a1 a2 a3

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (+)(a: FieldElement<'P>, b: FieldElement<'P>) =
        let struct (r0, r1, r2, r3) = FieldElement<'P>.AddLimbs(a.L0, a.L1, a.L2, a.L3, b.L0, b.L1, b.L2, b.L3)
        FieldElement<'P>(r0, r1, r2, r3)

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (-)(a: FieldElement<'P>, b: FieldElement<'P>) =
        let struct (r0, r1, r2, r3) = FieldElement<'P>.SubLimbs(a.L0, a.L1, a.L2, a.L3, b.L0, b.L1, b.L2, b.L3)
        FieldElement<'P>(r0, r1, r2, r3)

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (~-)(a: FieldElement<'P>) =
        let struct (r0, r1, r2, r3) = FieldElement<'P>.SubLimbs(0UL, 0UL, 0UL, 0UL, a.L0, a.L1, a.L2, a.L3)
        FieldElement<'P>(r0, r1, r2, r3)

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (*)(a: FieldElement<'P>, b: FieldElement<'P>) =
        let struct (r0, r1, r2, r3) = FieldElement<'P>.MulLimbs(a.L0, a.L1, a.L2, a.L3, b.L0, b.L1, b.L2, b.L3)
        FieldElement<'P>(r0, r1, r2, r3)

    /// x², with a dedicated squaring (10 limb products instead of 16).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member x.Square() =
        let struct (r0, r1, r2, r3) = FieldElement<'P>.SqrLimbs(x.L0, x.L1, x.L2, x.L3)
        FieldElement<'P>(r0, r1, r2, r3)

    /// Textbook Montgomery multiplication without the modulus-shape shortcuts of `*`;
    /// for the tests, which check the fast paths against it.
    static member internal MulReference(a: FieldElement<'P>, b: FieldElement<'P>) =
        let struct (r0, r1, r2, r3) =
            Mont256.mulReference 'P.P0 'P.P1 'P.P2 'P.P3 'P.Inv a.L0 a.L1 a.L2 a.L3 b.L0 b.L1 b.L2 b.L3
        FieldElement<'P>(r0, r1, r2, r3)

    member x.Double() = x + x

    /// x^e for a non-negative exponent (square-and-multiply; variable-time in e only).
    member x.Pow(e: BigInteger) : FieldElement<'P> =
        if e.Sign < 0 then invalidArg "e" "exponent must be non-negative"
        let mutable acc = FieldElement<'P>.One
        let bytes = e.ToByteArray(isUnsigned = true, isBigEndian = true)
        for byte in bytes do
            for bit in 7 .. -1 .. 0 do
                acc <- acc.Square()
                if (byte >>> bit) &&& 1uy = 1uy then acc <- acc * x
        acc

    /// x^e for a 64-bit exponent.
    member x.Pow(e: uint64) : FieldElement<'P> =
        let mutable acc = FieldElement<'P>.One
        let mutable b = x
        let mutable e = e
        while e <> 0UL do
            if e &&& 1UL = 1UL then acc <- acc * b
            b <- b.Square()
            e <- e >>> 1
        acc

    /// The multiplicative inverse, or ValueNone for zero. Constant-time safegcd (see SafeGcd.fs):
    /// the running time does not depend on x (only the zero test answers early).
    member x.TryInvert() : FieldElement<'P> voption =
        if x.IsZero then ValueNone else ValueSome(x.InvertOrZero())

    /// x^{-1}, or zero for zero; constant time, including for zero.
    member internal x.InvertOrZero() : FieldElement<'P> =
        // The limbs hold x·R; safegcd with numerator R² returns R²/(x·R) = x^{-1}·R, the
        // Montgomery form of the inverse, with no conversion multiplications.
        let struct (r0, r1, r2, r3) =
            SafeGcd.invert FieldConstants<'P>.Modulus30 FieldConstants<'P>.R2Signed30 x.L0 x.L1 x.L2 x.L3
        FieldElement<'P>(r0, r1, r2, r3)

    /// Fermat inversion x^(p-2) (square-and-multiply); kept as the tests' reference for `Invert`.
    member internal x.InvertFermat() : FieldElement<'P> = x.Pow FieldConstants<'P>.MinusTwo

    /// The multiplicative inverse. Inverting zero is a programming error and throws.
    member x.Invert() : FieldElement<'P> =
        match x.TryInvert() with
        | ValueSome v -> v
        | ValueNone -> raise (DivideByZeroException(sprintf "%s: zero has no inverse" 'P.Name))

    /// A square root (either one), or ValueNone for a non-residue.
    /// Tonelli–Shanks with p - 1 = 2^s·t; variable-time (inputs are public where used).
    member x.Sqrt() : FieldElement<'P> voption =
        if x.IsZero then ValueSome x
        else
            let one = FieldElement<'P>.One
            let struct (z0, z1, z2, z3) = FieldConstants<'P>.RootOfUnityMont
            let mutable c = FieldElement<'P>(z0, z1, z2, z3)
            let mutable r = x.Pow FieldConstants<'P>.SqrtExponent // x^((t+1)/2)
            let mutable b = x.Pow FieldConstants<'P>.OddPart // x^t, of order dividing 2^s
            let mutable m = 'P.TwoAdicity
            let mutable isResidue = true
            while isResidue && b <> one do
                // least i with b^(2^i) = 1
                let mutable i = 0
                let mutable b2 = b
                while b2 <> one && i < m do
                    b2 <- b2.Square()
                    i <- i + 1
                if i >= m then isResidue <- false
                else
                    let mutable g = c
                    for _ in 1 .. m - i - 1 do g <- g.Square()
                    r <- r * g
                    c <- g.Square()
                    b <- b * c
                    m <- i
            if isResidue && r.Square() = x then ValueSome r else ValueNone

    /// A primitive 2^k-th root of unity, 0 <= k <= TwoAdicity.
    static member RootOfUnity(k: int) : FieldElement<'P> =
        if k < 0 || k > 'P.TwoAdicity then
            invalidArg "k" (sprintf "%s has 2-adicity %d; no primitive 2^%d-th root of unity" 'P.Name 'P.TwoAdicity k)
        let struct (z0, z1, z2, z3) = FieldConstants<'P>.RootOfUnityMont
        let mutable w = FieldElement<'P>(z0, z1, z2, z3)
        for _ in 1 .. 'P.TwoAdicity - k do w <- w.Square()
        w

    /// Enters Montgomery form from canonical limbs (< p): a·R^2·R^{-1} = a·R.
    static member internal OfCanonicalLimbs(l0, l1, l2, l3) =
        let struct (s0, s1, s2, s3) = FieldConstants<'P>.R2
        let struct (r0, r1, r2, r3) = FieldElement<'P>.MulLimbs(l0, l1, l2, l3, s0, s1, s2, s3)
        FieldElement<'P>(r0, r1, r2, r3)

    /// Canonical limbs (leaves Montgomery form: a·R·1·R^{-1} = a).
    member x.CanonicalLimbs: struct (uint64 * uint64 * uint64 * uint64) =
        FieldElement<'P>.MulLimbs(x.L0, x.L1, x.L2, x.L3, 1UL, 0UL, 0UL, 0UL)

    static member OfUInt64(v: uint64) = FieldElement<'P>.OfCanonicalLimbs(v, 0UL, 0UL, 0UL)
    /// Negative values map to p - |v|.
    static member OfInt64(v: int64) =
        if v >= 0L then FieldElement<'P>.OfUInt64(uint64 v)
        else -FieldElement<'P>.OfUInt64(uint64 (-(v + 1L)) + 1UL)
    /// Reduces any integer (negative ones too) modulo p.
    static member OfBigInteger(v: BigInteger) =
        let struct (a, b, c, d) = FieldConstants<'P>.Mont v
        FieldElement<'P>(a, b, c, d)
    /// The canonical representative in [0, p).
    member x.ToBigInteger() : BigInteger =
        let struct (a, b, c, d) = x.CanonicalLimbs
        Mont256.bigOf a b c d

    /// Writes the canonical 32-byte little-endian encoding.
    member x.WriteBytes(dest: Span<byte>) =
        if dest.Length < 32 then invalidArg "dest" "need 32 bytes"
        let struct (a, b, c, d) = x.CanonicalLimbs
        Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(dest, a)
        Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(dest.Slice 8, b)
        Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(dest.Slice 16, c)
        Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(dest.Slice 24, d)

    member x.ToBytes() : byte[] =
        let out = Array.zeroCreate 32
        x.WriteBytes(Span out)
        out

    /// Parses a canonical 32-byte little-endian encoding; rejects wrong lengths and values >= p.
    static member TryReadBytes(src: ReadOnlySpan<byte>) : Result<FieldElement<'P>, string> =
        if src.Length <> 32 then
            Error(sprintf "%s element must be 32 bytes, got %d" 'P.Name src.Length)
        else
            let a = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian src
            let b = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(src.Slice 8)
            let c = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(src.Slice 16)
            let d = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(src.Slice 24)
            if Mont256.lessThanModulus 'P.P0 'P.P1 'P.P2 'P.P3 a b c d then
                Ok(FieldElement<'P>.OfCanonicalLimbs(a, b, c, d))
            else
                Error(sprintf "non-canonical %s encoding: value is not below the modulus" 'P.Name)

    /// Reduces 64 uniformly random bytes (little-endian) modulo p. The statistical
    /// distance from uniform is below 2^-250, so this is the unbiased way to map hash
    /// output to a field element (used for Fiat–Shamir challenges and hash-to-field).
    ///
    /// Allocation-free (it runs once per hash-to-curve attempt and per challenge): each
    /// 256-bit half v = v' + t·2^254 with v' < 2^254 < p, already canonical, and t its top two
    /// bits, so v mod p = v' + (t·2^254 mod p); the result is lo + hi·(2^256 mod p).
    /// (Mont256.reduceOnce covers only x < 2p, and a half can reach 4p.)
    static member OfUniformBytes(src: ReadOnlySpan<byte>) : FieldElement<'P> =
        if src.Length <> 64 then invalidArg "src" "need exactly 64 bytes"
        if FieldConstants<'P>.ModulusAbove2To254 then
            let struct (w0, w1, w2, w3) = FieldConstants<'P>.TwoTo256Mont
            FieldElement<'P>.OfHalfWide(src.Slice(0, 32)) + FieldElement<'P>.OfHalfWide(src.Slice 32) * FieldElement<'P>(w0, w1, w2, w3)
        else
            FieldElement<'P>.OfBigInteger(BigInteger(src, isUnsigned = true, isBigEndian = false))

    /// A 256-bit little-endian value mod p, for p > 2^254 (see OfUniformBytes).
    static member private OfHalfWide(s: ReadOnlySpan<byte>) : FieldElement<'P> =
        let a0 = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian s
        let a1 = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s.Slice 8)
        let a2 = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s.Slice 16)
        let a3 = Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s.Slice 24)
        let struct (t0, t1, t2, t3) = FieldConstants<'P>.TopBitsMont[int (a3 >>> 62)]
        FieldElement<'P>.OfCanonicalLimbs(a0, a1, a2, a3 &&& 0x3FFFFFFFFFFFFFFFUL) + FieldElement<'P>(t0, t1, t2, t3)

    /// A uniformly random element from the OS CSPRNG, by rejection sampling of
    /// 255-bit strings (p > 2^254, so each draw is accepted with probability > 1/2).
    static member Random() : FieldElement<'P> =
        let buf = Array.zeroCreate<byte> 32
        let mutable result = ValueNone
        while result.IsNone do
            RandomNumberGenerator.Fill(Span buf)
            buf[31] <- buf[31] &&& 0x7Fuy
            match FieldElement<'P>.TryReadBytes(ReadOnlySpan buf) with
            | Ok v -> result <- ValueSome v
            | Error _ -> ()
        CryptographicOperations.ZeroMemory(Span buf)
        result.Value

    /// Inverts every non-zero element in place with one field inversion
    /// (Montgomery's trick: 3(n-1) multiplications + 1 inversion). Zeros stay zero.
    /// The prefix products live in a pooled buffer (cleared on return: they are as secret
    /// as the inputs), so large batches do not allocate.
    static member BatchInvert(xs: Span<FieldElement<'P>>) =
        let n = xs.Length
        if n > 0 then
            let pool = Buffers.ArrayPool<FieldElement<'P>>.Shared
            let prefix = pool.Rent n
            try
                let mutable acc = FieldElement<'P>.One
                for i in 0 .. n - 1 do
                    prefix[i] <- acc
                    if not xs[i].IsZero then acc <- acc * xs[i]
                let mutable inv = acc.Invert()
                for i in n - 1 .. -1 .. 0 do
                    if not xs[i].IsZero then
                        let xi = xs[i]
                        xs[i] <- inv * prefix[i]
                        inv <- inv * xi
            finally
                pool.Return(prefix, clearArray = true)

    member x.Equals(y: FieldElement<'P>) =
        x.L0 = y.L0 && x.L1 = y.L1 && x.L2 = y.L2 && x.L3 = y.L3
    override x.Equals(o: obj) =
        match o with
        | :? FieldElement<'P> as y -> x.Equals y
        | _ -> false
    override x.GetHashCode() = HashCode.Combine(x.L0, x.L1, x.L2, x.L3)
    static member op_Equality(a: FieldElement<'P>, b: FieldElement<'P>) = a.Equals b
    static member op_Inequality(a: FieldElement<'P>, b: FieldElement<'P>) = not (a.Equals b)
    /// Canonical value as 0x-prefixed big-endian hex.
    override x.ToString() = "0x" + x.ToBigInteger().ToString("x64").TrimStart('0').PadLeft(64, '0')
    interface IEquatable<FieldElement<'P>> with
        member x.Equals y = x.Equals y
