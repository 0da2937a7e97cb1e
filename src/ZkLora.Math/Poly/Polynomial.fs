namespace ZkLora.Math.Poly

open System
open System.Numerics
open System.Threading.Tasks
open ZkLora.Math

/// Basis marker: the values are the coefficients a_0, a_1, … of a_0 + a_1·X + ….
[<AbstractClass; Sealed>]
type Coeff = class end

/// Basis marker: the values are evaluations on the domain H = {ω^i} (row i holds p(ω^i)).
[<AbstractClass; Sealed>]
type LagrangeCoeff = class end

/// Basis marker: the values are evaluations on the extended coset g·H_ext = {g·ω_ext^i},
/// where the quotient of a PLONK prover is computed pointwise.
[<AbstractClass; Sealed>]
type ExtendedLagrangeCoeff = class end

/// A dense polynomial over the field 'P in the basis 'B (a phantom marker: `Coeff`,
/// `LagrangeCoeff` or `ExtendedLagrangeCoeff`), so coefficients can never be mixed up
/// with evaluations at compile time.
///
/// Immutable from the outside: the public constructors copy, and every operation returns
/// a new polynomial. Internally the backing array is shared without copying where the
/// library itself produced it (`ofOwnedArray`).
[<Sealed>]
type Polynomial<'P, 'B when 'P :> IFieldParams and 'P: struct> internal (values: FieldElement<'P>[]) =
    /// The backing array (internal: the library may hand out and mutate fresh ones only).
    member internal _.Array = values
    /// Number of stored values (coefficients or evaluations).
    member _.Length = values.Length
    /// The i-th coefficient / evaluation.
    member _.Item with get (i: int) = values[i]
    /// Read-only view of the values, without copying.
    member _.Values = ReadOnlySpan<FieldElement<'P>>(values)
    /// A fresh copy of the values.
    member _.ToArray() = Array.copy values
    override _.ToString() = sprintf "Polynomial<%s>[%d]" typeof<'B>.Name values.Length

/// Dense polynomial arithmetic. Operations that only make sense in one basis take that
/// basis in their signature; length mismatches are programming errors (ArgumentException).
[<RequireQualifiedAccess>]
module Polynomial =
    /// Above this many multiplications a loop is split across cores.
    let internal parallelThreshold = 1 <<< 14

    /// Wraps an array the caller gives up (no copy). Library-internal.
    let internal ofOwnedArray<'P, 'B when 'P :> IFieldParams and 'P: struct> (xs: FieldElement<'P>[]) =
        Polynomial<'P, 'B>(xs)

    /// A polynomial from a copy of the given values.
    let ofArray<'P, 'B when 'P :> IFieldParams and 'P: struct> (xs: FieldElement<'P>[]) : Polynomial<'P, 'B> =
        Polynomial<'P, 'B>(Array.copy xs)

    /// A polynomial from a copy of the given span.
    let ofSpan<'P, 'B when 'P :> IFieldParams and 'P: struct> (xs: ReadOnlySpan<FieldElement<'P>>) : Polynomial<'P, 'B> =
        Polynomial<'P, 'B>(xs.ToArray())

    /// n zeros.
    let zero<'P, 'B when 'P :> IFieldParams and 'P: struct> (n: int) : Polynomial<'P, 'B> =
        if n < 0 then invalidArg "n" "length must be non-negative"
        Polynomial<'P, 'B>(Array.zeroCreate n)

    /// Runs body over [0, n) in contiguous chunks, in parallel when n is large.
    let internal forChunks (n: int) (body: int -> int -> unit) =
        if n < parallelThreshold then body 0 n
        else
            let chunks = min (Environment.ProcessorCount * 4) (n / 1024)
            let size = (n + chunks - 1) / chunks
            Parallel.For(0, chunks, fun c -> body (c * size) (min n ((c + 1) * size))) |> ignore

    let private requireSameLength (a: Polynomial<'P, 'B>) (b: Polynomial<'P, 'B>) =
        if a.Length <> b.Length then
            invalidArg "b" (sprintf "evaluation vectors differ in length (%d vs %d)" a.Length b.Length)

    /// Element-wise combination; coefficient vectors of different length are zero-padded,
    /// evaluation vectors must match (they live on the same domain).
    let private zipPad (allowPad: bool) (f: FieldElement<'P> -> FieldElement<'P> -> FieldElement<'P>)
                       (a: Polynomial<'P, 'B>) (b: Polynomial<'P, 'B>) : Polynomial<'P, 'B> =
        if not allowPad then requireSameLength a b
        let x, y = a.Array, b.Array
        let n = max x.Length y.Length
        let out = Array.zeroCreate<FieldElement<'P>> n
        let zero = FieldElement<'P>.Zero
        forChunks n (fun lo hi ->
            for i in lo .. hi - 1 do
                let u = if i < x.Length then x[i] else zero
                let v = if i < y.Length then y[i] else zero
                out[i] <- f u v)
        Polynomial<'P, 'B>(out)

    let private isCoeff<'B> = typeof<'B> = typeof<Coeff>

    /// a + b (coefficient vectors may differ in length).
    let add (a: Polynomial<'P, 'B>) (b: Polynomial<'P, 'B>) = zipPad isCoeff<'B> (fun u v -> u + v) a b
    /// a − b (coefficient vectors may differ in length).
    let sub (a: Polynomial<'P, 'B>) (b: Polynomial<'P, 'B>) = zipPad isCoeff<'B> (fun u v -> u - v) a b

    /// Applies f to every value.
    let map (f: FieldElement<'P> -> FieldElement<'P>) (a: Polynomial<'P, 'B>) : Polynomial<'P, 'B> =
        let x = a.Array
        let out = Array.zeroCreate<FieldElement<'P>> x.Length
        forChunks x.Length (fun lo hi -> for i in lo .. hi - 1 do out[i] <- f x[i])
        Polynomial<'P, 'B>(out)

    /// −a.
    let neg (a: Polynomial<'P, 'B>) = map (fun u -> -u) a
    /// c·a (multiplication by a constant; valid in every basis).
    let scale (c: FieldElement<'P>) (a: Polynomial<'P, 'B>) = map (fun u -> c * u) a
    /// a + c·b, the accumulation step of random linear combinations.
    let addScaled (a: Polynomial<'P, 'B>) (c: FieldElement<'P>) (b: Polynomial<'P, 'B>) =
        zipPad isCoeff<'B> (fun u v -> u + c * v) a b

    /// Pointwise product of two evaluation vectors on the same domain (H or the extended coset).
    /// Deliberately not offered for `Coeff`, where a product is a convolution (`Coefficients.mul`).
    let mulPointwise (a: Polynomial<'P, 'B>) (b: Polynomial<'P, 'B>) : Polynomial<'P, 'B> =
        if isCoeff<'B> then invalidArg "a" "pointwise product of coefficient vectors is not a polynomial product"
        zipPad false (fun u v -> u * v) a b

    /// Equal values (exact comparison of lengths and every value).
    let equals (a: Polynomial<'P, 'B>) (b: Polynomial<'P, 'B>) =
        a.Length = b.Length
        && (let x, y = a.Array, b.Array
            let mutable eq = true
            let mutable i = 0
            while eq && i < x.Length do
                eq <- x[i].Equals y[i]
                i <- i + 1
            eq)

/// Operations on polynomials in coefficient form.
[<RequireQualifiedAccess>]
module Coefficients =
    /// Index of the highest non-zero coefficient, or −1 for the zero polynomial.
    let degree (p: Polynomial<'P, Coeff>) : int =
        let x = p.Array
        let mutable d = x.Length - 1
        while d >= 0 && x[d].IsZero do d <- d - 1
        d

    /// Horner's rule on coefficients [lo, hi) — returns Σ_{i∈[lo,hi)} a_i·x^(i−lo).
    let private hornerRange (x: FieldElement<'P>[]) (lo: int) (hi: int) (at: FieldElement<'P>) =
        let mutable acc = FieldElement<'P>.Zero
        for i in hi - 1 .. -1 .. lo do
            acc <- acc * at + x[i]
        acc

    /// p(x) by Horner's rule. Large polynomials are split into one chunk per core,
    /// each evaluated by Horner and recombined with the powers x^start.
    let evaluate (p: Polynomial<'P, Coeff>) (x: FieldElement<'P>) : FieldElement<'P> =
        let a = p.Array
        let n = a.Length
        if n < Polynomial.parallelThreshold then hornerRange a 0 n x
        else
            let chunks = Environment.ProcessorCount
            let size = (n + chunks - 1) / chunks
            let partial = Array.zeroCreate<FieldElement<'P>> chunks
            Parallel.For(0, chunks, fun c ->
                let lo = c * size
                let hi = min n (lo + size)
                if lo < hi then partial[c] <- hornerRange a lo hi x * x.Pow(uint64 lo)) |> ignore
            let mutable acc = FieldElement<'P>.Zero
            for v in partial do acc <- acc + v
            acc

    /// Evaluates several polynomials at the same point (in parallel across polynomials).
    let evaluateMany (ps: Polynomial<'P, Coeff>[]) (x: FieldElement<'P>) : FieldElement<'P>[] =
        let out = Array.zeroCreate<FieldElement<'P>> ps.Length
        let total = ps |> Array.sumBy (fun p -> int64 p.Length)
        if total < int64 Polynomial.parallelThreshold || ps.Length = 1 then
            for i in 0 .. ps.Length - 1 do out[i] <- evaluate ps[i] x
        else
            Parallel.For(0, ps.Length, fun i -> out[i] <- evaluate ps[i] x) |> ignore
        out

    /// Synthetic division by (X − a): returns (q, r) with p(X) = q(X)·(X − a) + r, where
    /// r = p(a). The quotient has one coefficient fewer than p (zero-length p gives (0, 0)).
    /// Callers that open commitments check r against the claimed evaluation.
    let divideByLinear (p: Polynomial<'P, Coeff>) (a: FieldElement<'P>) : struct (Polynomial<'P, Coeff> * FieldElement<'P>) =
        let c = p.Array
        let n = c.Length
        if n = 0 then struct (Polynomial.zero 0, FieldElement<'P>.Zero)
        else
            // q_{i-1} = c_i + a·q_i from the top; the last carry is the remainder.
            let q = Array.zeroCreate<FieldElement<'P>> (n - 1)
            let mutable carry = FieldElement<'P>.Zero
            for i in n - 1 .. -1 .. 1 do
                carry <- c[i] + carry * a
                q[i - 1] <- carry
            let r = c[0] + carry * a
            struct (Polynomial.ofOwnedArray q, r)

    /// Schoolbook product, O(|a|·|b|); used for short factors.
    let mulNaive (a: Polynomial<'P, Coeff>) (b: Polynomial<'P, Coeff>) : Polynomial<'P, Coeff> =
        let x, y = a.Array, b.Array
        if x.Length = 0 || y.Length = 0 then Polynomial.zero 0
        else
            let out = Array.zeroCreate<FieldElement<'P>> (x.Length + y.Length - 1)
            for i in 0 .. x.Length - 1 do
                let xi = x[i]
                if not xi.IsZero then
                    for j in 0 .. y.Length - 1 do
                        out[i + j] <- out[i + j] + xi * y[j]
            Polynomial.ofOwnedArray out

    /// Product of two coefficient vectors: schoolbook for short factors, otherwise by
    /// evaluating both on a power-of-two domain that fits the product and interpolating.
    let mul (a: Polynomial<'P, Coeff>) (b: Polynomial<'P, Coeff>) : Polynomial<'P, Coeff> =
        let la, lb = a.Length, b.Length
        if min la lb <= 32 then mulNaive a b
        else
            let len = la + lb - 1
            let logN = Fft.log2 (int (BitOperations.RoundUpToPowerOf2(uint32 len)))
            if logN > FieldElement<'P>.TwoAdicity then invalidArg "b" "product degree exceeds the field's largest FFT domain"
            let n = 1 <<< logN
            let t = Fft.twiddleTable (FieldElement<'P>.RootOfUnity logN) n
            let x = Array.zeroCreate<FieldElement<'P>> n
            let y = Array.zeroCreate<FieldElement<'P>> n
            Array.blit a.Array 0 x 0 la
            Array.blit b.Array 0 y 0 lb
            Fft.forward x t logN
            Fft.forward y t logN
            Polynomial.forChunks n (fun lo hi -> for i in lo .. hi - 1 do x[i] <- x[i] * y[i])
            Fft.inverse x t logN ((FieldElement<'P>.OfUInt64(uint64 n)).Invert())
            Polynomial.ofOwnedArray (if n = len then x else Array.sub x 0 len)

    /// p(X)·(X^n − 1) = −p(X) + X^n·p(X): the multiple of the vanishing polynomial of a
    /// domain of size n (used to build divisible test inputs and for blinding).
    let mulByVanishing (n: int) (p: Polynomial<'P, Coeff>) : Polynomial<'P, Coeff> =
        if n < 1 then invalidArg "n" "domain size must be positive"
        let x = p.Array
        let out = Array.zeroCreate<FieldElement<'P>> (x.Length + n)
        for i in 0 .. x.Length - 1 do
            out[i] <- out[i] - x[i]
            out[i + n] <- out[i + n] + x[i]
        Polynomial.ofOwnedArray out

    /// The first `len` coefficients, checking that every dropped coefficient is zero
    /// (the assertion a prover uses after dividing by Z_H: a non-zero high coefficient
    /// means the numerator was not divisible, i.e. a constraint is violated).
    let truncate (len: int) (p: Polynomial<'P, Coeff>) : Result<Polynomial<'P, Coeff>, string> =
        if len < 0 then invalidArg "len" "length must be non-negative"
        let x = p.Array
        if len >= x.Length then
            let out = Array.zeroCreate<FieldElement<'P>> len
            Array.blit x 0 out 0 x.Length
            Ok(Polynomial.ofOwnedArray out)
        else
            let mutable firstNonZero = -1
            let mutable i = len
            while firstNonZero < 0 && i < x.Length do
                if not x[i].IsZero then firstNonZero <- i
                i <- i + 1
            if firstNonZero >= 0 then
                Error(sprintf "cannot truncate to %d coefficients: coefficient %d is non-zero (degree %d)" len firstNonZero (degree p))
            else Ok(Polynomial.ofOwnedArray (Array.sub x 0 len))

    /// The first `len` coefficients without checking the dropped ones (hot path once a
    /// circuit is known to be satisfied; pair with `truncate` in debug checks).
    let truncateUnchecked (len: int) (p: Polynomial<'P, Coeff>) : Polynomial<'P, Coeff> =
        if len < 0 then invalidArg "len" "length must be non-negative"
        let x = p.Array
        let out = Array.zeroCreate<FieldElement<'P>> len
        Array.blit x 0 out 0 (min len x.Length)
        Polynomial.ofOwnedArray out

    /// Splits coefficients into consecutive pieces of `size` (the last zero-padded):
    /// p(X) = Σ_j X^(j·size)·piece_j(X), how a quotient of degree > n is committed.
    let chunks (size: int) (p: Polynomial<'P, Coeff>) : Polynomial<'P, Coeff>[] =
        if size < 1 then invalidArg "size" "chunk size must be positive"
        let x = p.Array
        let count = max 1 ((x.Length + size - 1) / size)
        Array.init count (fun j ->
            let out = Array.zeroCreate<FieldElement<'P>> size
            let lo = j * size
            Array.blit x lo out 0 (max 0 (min size (x.Length - lo)))
            Polynomial.ofOwnedArray out)
