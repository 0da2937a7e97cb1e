namespace ZkLora.Math.Poly

open System
open System.Threading.Tasks
open ZkLora.Math

/// The multiplicative subgroup H = {ω^i : 0 ≤ i < n}, n = 2^k, of a PLONK circuit, together
/// with its extension H_ext of size 2^(k+e) and the coset g·H_ext (g = the field's
/// multiplicative generator, 5 for Pasta) on which the quotient is computed.
///
/// Why the coset: Z_H(X) = X^n − 1 vanishes on H ⊂ H_ext, so dividing by it pointwise needs
/// points outside H_ext. g generates the whole group F*, so g ∉ H_ext, and on g·H_ext
/// Z_H(g·ω_ext^i) = g^n·(ω_ext^n)^i − 1 takes only the 2^e values indexed by i mod 2^e
/// (ω_ext^n is a primitive 2^e-th root of unity), none of them zero.
///
/// One twiddle table (powers of ω_ext) serves the size-n and size-2^(k+e) transforms.
/// Instances are immutable and thread-safe; create one per circuit size and reuse it.
[<Sealed>]
type EvaluationDomain<'P when 'P :> IFieldParams and 'P: struct> private (k: int, e: int) =
    let n = 1 <<< k
    let extK = k + e
    let extN = 1 <<< extK
    let omegaExt = FieldElement<'P>.RootOfUnity extK
    let omega = FieldElement<'P>.RootOfUnity k
    let inv (v: uint64) = (FieldElement<'P>.OfUInt64 v).Invert()
    let nInv = inv (uint64 n)
    let extNInv = inv (uint64 extN)
    let g = FieldElement<'P>.Generator
    let gInv = g.Invert()
    let twiddles = Fft.twiddleTable omegaExt extN
    let vanishing =
        // Z_H(g·ω_ext^i) = g^n·ζ^i − 1 with ζ = ω_ext^n of order 2^e
        let gn = g.Pow(uint64 n)
        let zeta = FieldElement<'P>.RootOfUnity e
        let values = Array.zeroCreate<FieldElement<'P>> (1 <<< e)
        let mutable z = FieldElement<'P>.One
        for i in 0 .. values.Length - 1 do
            values[i] <- gn * z - FieldElement<'P>.One
            z <- z * zeta
        values
    let vanishingInv =
        let c = Array.copy vanishing
        FieldElement<'P>.BatchInvert(Span c)
        c

    /// ω_T^j for any integer j, read from the table of the size-T domain (T = 2^logT ≤ 2^(k+e)).
    let rootPow (logT: int) (j: int64) =
        let size = 1L <<< logT
        let j = ((j % size) + size) % size
        if size = 1L then FieldElement<'P>.One
        else
            let half = size / 2L
            let shift = extK - logT
            // ω^(j + T/2) = −ω^j
            if j < half then twiddles[int (j <<< shift)] else -twiddles[int ((j - half) <<< shift)]

    let requireLength (name: string) (expected: int) (actual: int) =
        if actual <> expected then
            invalidArg name (sprintf "expected %d values for this domain, got %d" expected actual)

    /// Largest supported k + e: the field's 2-adicity, and .NET's array length limit.
    static member MaxLog = min FieldElement<'P>.TwoAdicity 30

    /// A domain of size 2^k with an extension factor 2^e, or a message saying why not.
    static member TryCreate(k: int, e: int) : Result<EvaluationDomain<'P>, string> =
        if k < 0 || e < 0 then Error(sprintf "domain parameters must be non-negative (k = %d, e = %d)" k e)
        elif k > EvaluationDomain<'P>.MaxLog || e > EvaluationDomain<'P>.MaxLog - k then
            Error(sprintf "domain 2^%d extended by 2^%d exceeds the largest supported size 2^%d" k e EvaluationDomain<'P>.MaxLog)
        else Ok(EvaluationDomain<'P>(k, e))

    /// A domain of size 2^k with an extension factor 2^e; throws ArgumentException when unsupported.
    static member Create(k: int, e: int) : EvaluationDomain<'P> =
        match EvaluationDomain<'P>.TryCreate(k, e) with
        | Ok d -> d
        | Error msg -> invalidArg "k" msg

    /// The extension needed for gates of degree ≤ maxDegree: the quotient
    /// h = (Σ gates)/Z_H has degree < (maxDegree − 1)·n, so 2^e ≥ maxDegree − 1 points per
    /// row of H determine it.
    static member ExtensionFor(maxDegree: int) : int =
        if maxDegree < 1 then invalidArg "maxDegree" "constraint degree must be at least 1"
        let mutable e = 0
        while (1 <<< e) < maxDegree - 1 do e <- e + 1
        e

    /// log2 of the size of H.
    member _.K = k
    /// |H| = 2^k.
    member _.N = n
    /// log2 of the extension factor.
    member _.Extension = e
    /// log2 of |H_ext| = k + e.
    member _.ExtendedK = extK
    /// |H_ext| = 2^(k+e).
    member _.ExtendedN = extN
    /// ω, a primitive n-th root of unity.
    member _.Omega = omega
    /// ω⁻¹.
    member _.OmegaInv = rootPow k -1L
    /// n⁻¹.
    member _.NInv = nInv
    /// ω_ext, a primitive 2^(k+e)-th root of unity with ω_ext^(2^e) = ω.
    member _.ExtendedOmega = omegaExt
    /// ω_ext⁻¹.
    member _.ExtendedOmegaInv = rootPow extK -1L
    /// (2^(k+e))⁻¹.
    member _.ExtendedNInv = extNInv
    /// The coset generator g (the field's multiplicative generator).
    member _.CosetGenerator = g
    /// g⁻¹.
    member _.CosetGeneratorInv = gInv

    /// ω^i for any integer i (negative i means ω^(n+i), the rotations to previous rows).
    member _.OmegaPow(i: int) = rootPow k (int64 i)
    /// ω_ext^i for any integer i.
    member _.ExtendedOmegaPow(i: int) = rootPow extK (int64 i)
    /// x·ω^r: the point a rotation r reads when the gate is evaluated at x.
    member this.Rotate(x: FieldElement<'P>, r: int) = x * this.OmegaPow r

    /// The 2^e distinct values of Z_H on the extended coset: Z_H(g·ω_ext^i) = VanishingOnCoset[i mod 2^e].
    member _.VanishingOnCoset = ReadOnlySpan<FieldElement<'P>>(vanishing)
    /// Their inverses, for dividing by Z_H pointwise.
    member _.VanishingOnCosetInv = ReadOnlySpan<FieldElement<'P>>(vanishingInv)
    /// Z_H(x) = x^n − 1.
    member _.VanishingAt(x: FieldElement<'P>) = x.Pow(uint64 n) - FieldElement<'P>.One

    // ---- raw in-place transforms (arrays owned by the caller) ----

    /// Lagrange → coefficients is `IFftInPlace`; this is coefficients → evaluations on H:
    /// a[i] ← Σ_j a[j]·ω^(ij). Length must be n.
    member _.FftInPlace(a: FieldElement<'P>[]) =
        requireLength "a" n a.Length
        Fft.forward a twiddles extK
    /// Evaluations on H → coefficients. Length must be n.
    member _.IFftInPlace(a: FieldElement<'P>[]) =
        requireLength "a" n a.Length
        Fft.inverse a twiddles extK nInv
    /// Coefficients → evaluations on the coset shift·H: a[i] ← p(shift·ω^i). Length must be n.
    member _.FftOnCosetInPlace(a: FieldElement<'P>[], shift: FieldElement<'P>) =
        requireLength "a" n a.Length
        Fft.distributePowers a shift
        Fft.forward a twiddles extK
    /// Evaluations on shift·H → coefficients, given shift⁻¹. Length must be n.
    member _.IFftOnCosetInPlace(a: FieldElement<'P>[], shiftInv: FieldElement<'P>) =
        requireLength "a" n a.Length
        Fft.inverse a twiddles extK nInv
        Fft.distributePowers a shiftInv
    /// Coefficients → evaluations on the coset g·H: a[i] ← p(g·ω^i). Length must be n.
    member this.CosetFftInPlace(a: FieldElement<'P>[]) = this.FftOnCosetInPlace(a, g)
    /// Evaluations on g·H → coefficients. Length must be n.
    member this.CosetIFftInPlace(a: FieldElement<'P>[]) = this.IFftOnCosetInPlace(a, gInv)
    /// Coefficients (zero-padded to 2^(k+e)) → evaluations on g·H_ext: a[i] ← p(g·ω_ext^i).
    member _.ExtendedCosetFftInPlace(a: FieldElement<'P>[]) =
        requireLength "a" extN a.Length
        Fft.distributePowers a g
        Fft.forward a twiddles extK
    /// Evaluations on g·H_ext → the 2^(k+e) coefficients.
    member _.ExtendedCosetIFftInPlace(a: FieldElement<'P>[]) =
        requireLength "a" extN a.Length
        Fft.inverse a twiddles extK extNInv
        Fft.distributePowers a gInv
    /// a[i] ← a[i] / Z_H(g·ω_ext^i) for evaluations on the extended coset.
    member _.DivideByVanishingInPlace(a: FieldElement<'P>[]) =
        requireLength "a" extN a.Length
        let mask = (1 <<< e) - 1
        Polynomial.forChunks extN (fun lo hi -> for i in lo .. hi - 1 do a[i] <- a[i] * vanishingInv[i &&& mask])

    // ---- typed conversions ----

    /// n zero evaluations on H.
    member _.EmptyLagrange() : Polynomial<'P, LagrangeCoeff> = Polynomial.zero n
    /// n zero coefficients.
    member _.EmptyCoeff() : Polynomial<'P, Coeff> = Polynomial.zero n
    /// 2^(k+e) zero evaluations on the extended coset.
    member _.EmptyExtended() : Polynomial<'P, ExtendedLagrangeCoeff> = Polynomial.zero extN

    /// Evaluations on H (length n) → the n coefficients of the interpolating polynomial.
    member this.LagrangeToCoeff(p: Polynomial<'P, LagrangeCoeff>) : Polynomial<'P, Coeff> =
        requireLength "p" n p.Length
        let a = p.ToArray()
        this.IFftInPlace a
        Polynomial.ofOwnedArray a

    /// Coefficients (at most n) → evaluations on H.
    member this.CoeffToLagrange(p: Polynomial<'P, Coeff>) : Polynomial<'P, LagrangeCoeff> =
        if p.Length > n then invalidArg "p" (sprintf "%d coefficients do not fit a domain of size %d" p.Length n)
        let a = Array.zeroCreate<FieldElement<'P>> n
        p.Values.CopyTo(Span a)
        this.FftInPlace a
        Polynomial.ofOwnedArray a

    /// Coefficients (at most 2^(k+e)) → evaluations on the extended coset g·H_ext.
    member this.CoeffToExtended(p: Polynomial<'P, Coeff>) : Polynomial<'P, ExtendedLagrangeCoeff> =
        if p.Length > extN then invalidArg "p" (sprintf "%d coefficients do not fit an extended domain of size %d" p.Length extN)
        let a = Array.zeroCreate<FieldElement<'P>> extN
        p.Values.CopyTo(Span a)
        this.ExtendedCosetFftInPlace a
        Polynomial.ofOwnedArray a

    /// Evaluations on H → evaluations on the extended coset (interpolate, then re-evaluate).
    member this.LagrangeToExtended(p: Polynomial<'P, LagrangeCoeff>) : Polynomial<'P, ExtendedLagrangeCoeff> =
        requireLength "p" n p.Length
        let coeffs = p.ToArray()
        this.IFftInPlace coeffs
        let a = Array.zeroCreate<FieldElement<'P>> extN
        coeffs.CopyTo(a, 0)
        this.ExtendedCosetFftInPlace a
        Polynomial.ofOwnedArray a

    /// Evaluations on the extended coset → all 2^(k+e) coefficients. Use
    /// `Coefficients.truncate` to drop (and check) the high coefficients.
    member this.ExtendedToCoeff(p: Polynomial<'P, ExtendedLagrangeCoeff>) : Polynomial<'P, Coeff> =
        requireLength "p" extN p.Length
        let a = p.ToArray()
        this.ExtendedCosetIFftInPlace a
        Polynomial.ofOwnedArray a

    /// Pointwise division by Z_H on the extended coset (exact iff Z_H divides p's numerator).
    member this.DivideByVanishing(p: Polynomial<'P, ExtendedLagrangeCoeff>) : Polynomial<'P, ExtendedLagrangeCoeff> =
        requireLength "p" extN p.Length
        let a = p.ToArray()
        this.DivideByVanishingInPlace a
        Polynomial.ofOwnedArray a

    /// The column read at rotation r: q(ω^i) = p(ω^(i+r)), i.e. q(X) = p(ω^r·X), a cyclic shift.
    member _.RotateLagrange(p: Polynomial<'P, LagrangeCoeff>, r: int) : Polynomial<'P, LagrangeCoeff> =
        requireLength "p" n p.Length
        Polynomial.ofOwnedArray (EvaluationDomain<'P>.CyclicShift(p.Array, int64 r))

    /// p(ω^r·X) on the extended coset: ω^r = ω_ext^(r·2^e), a shift by r·2^e positions.
    member _.RotateExtended(p: Polynomial<'P, ExtendedLagrangeCoeff>, r: int) : Polynomial<'P, ExtendedLagrangeCoeff> =
        requireLength "p" extN p.Length
        Polynomial.ofOwnedArray (EvaluationDomain<'P>.CyclicShift(p.Array, int64 r <<< e))

    static member private CyclicShift(src: FieldElement<'P>[], by: int64) : FieldElement<'P>[] =
        let len = int64 src.Length
        let s = int (((by % len) + len) % len)
        let out = Array.zeroCreate<FieldElement<'P>> src.Length
        // out[i] = src[(i + s) mod len]
        Array.blit src s out 0 (src.Length - s)
        Array.blit src 0 out (src.Length - s) s
        out

    /// l_i(x) for each requested row i (any integer; taken mod n, so −1 is the last row):
    /// l_i(x) = ω^i·(x^n − 1) / (n·(x − ω^i)), one batch inversion for all rows.
    /// For x ∈ H the formula is 0/0 at one row; there l_i(x) = [x = ω^i] is returned.
    member this.LagrangeBasisAt(x: FieldElement<'P>, rows: int[]) : FieldElement<'P>[] =
        this.LagrangeBasisOf(x, rows |> Array.map this.OmegaPow)

    /// l_i(x) for every row i = 0 … n-1 (the vector an IPA opening at x pairs with values on H).
    member this.LagrangeBasis(x: FieldElement<'P>) : FieldElement<'P>[] =
        let w = Array.zeroCreate<FieldElement<'P>> n
        let mutable wi = FieldElement<'P>.One
        for i in 0 .. n - 1 do
            w[i] <- wi
            wi <- wi * omega
        this.LagrangeBasisOf(x, w)

    /// l_i(x) for the rows whose ω^i are given (the one implementation behind both forms).
    member private this.LagrangeBasisOf(x: FieldElement<'P>, w: FieldElement<'P>[]) : FieldElement<'P>[] =
        let zh = this.VanishingAt x
        if zh.IsZero then
            w |> Array.map (fun wi -> if wi.Equals x then FieldElement<'P>.One else FieldElement<'P>.Zero)
        else
            let nF = FieldElement<'P>.OfUInt64(uint64 n)
            let d = w |> Array.map (fun wi -> nF * (x - wi))
            FieldElement<'P>.BatchInvert(Span d)
            for i in 0 .. w.Length - 1 do d[i] <- w[i] * zh * d[i]
            d

    /// p(x) for p given by its evaluations on H, without interpolating (barycentric form):
    /// p(x) = (x^n − 1)/n · Σ_i p(ω^i)·ω^i/(x − ω^i). O(n) with one inversion per chunk.
    member this.EvaluateLagrange(p: Polynomial<'P, LagrangeCoeff>, x: FieldElement<'P>) : FieldElement<'P> =
        requireLength "p" n p.Length
        let v = p.Array
        let zh = this.VanishingAt x
        if zh.IsZero then
            // x = ω^j for some j: the value is stored
            let mutable found = -1
            let mutable i = 0
            while found < 0 && i < n do
                if (this.OmegaPow i).Equals x then found <- i
                i <- i + 1
            v[found]
        else
            let chunkSum lo hi =
                let len = hi - lo
                let w = Array.zeroCreate<FieldElement<'P>> len
                let d = Array.zeroCreate<FieldElement<'P>> len
                // ω^lo from the table, then successive powers
                let mutable wi = this.OmegaPow lo
                for j in 0 .. len - 1 do
                    w[j] <- wi
                    d[j] <- x - wi
                    wi <- wi * omega
                FieldElement<'P>.BatchInvert(Span d)
                let mutable acc = FieldElement<'P>.Zero
                for j in 0 .. len - 1 do acc <- acc + v[lo + j] * w[j] * d[j]
                acc
            let sum =
                if n < Polynomial.parallelThreshold then chunkSum 0 n
                else
                    let chunks = Environment.ProcessorCount * 2
                    let size = n / chunks
                    let partial = Array.zeroCreate<FieldElement<'P>> chunks
                    Parallel.For(0, chunks, fun c ->
                        partial[c] <- chunkSum (c * size) (if c = chunks - 1 then n else (c + 1) * size)) |> ignore
                    Array.fold (fun (a: FieldElement<'P>) b -> a + b) FieldElement<'P>.Zero partial
            zh * nInv * sum
