namespace ZkLora.Math

open System
open System.Collections.Generic
open System.Numerics

/// Square roots with one exponentiation and table-driven discrete logs in the 2-power roots of
/// unity, used by point decompression and hash-to-curve (about 350 multiplications against
/// roughly 1,000 for the textbook Tonelli–Shanks of FieldElement.Sqrt).
///
/// With p − 1 = 2^s·t (t odd) and g a primitive 2^s-th root of unity:
///   w = x^((t−1)/2),  v = x·w² = x^t ∈ μ_{2^s},  r₀ = x·w = x^((t+1)/2),  so r₀² = x·v.
/// Find e with v = g^e, 8 bits at a time from the low end: after removing the known low bits,
/// raising to 2^(s − 8(k+1)) lands in μ_{2^8} = ⟨g^(2^(s−8))⟩, where a 256-entry table gives the
/// next 8 bits. x is a square iff e is even (v is then a square in μ_{2^s}), and
/// r = r₀·g^(−e/2) satisfies r² = x·v·g^(−e) = x. Multiplication by g^(−d·2^(8k)) uses 4 tables
/// of 256 entries. Variable-time (only public inputs reach it: encodings and hash outputs).
/// Requires s to be a multiple of 8 (s = 32 for both Pasta fields; checked at start-up).
[<AbstractClass; Sealed>]
type internal FastSqrt<'P when 'P :> IFieldParams and 'P: struct> private () =
    static let s = 'P.TwoAdicity
    static let chunks = s / 8
    static do
        if s % 8 <> 0 || s = 0 then failwithf "%s: FastSqrt needs a 2-adicity that is a positive multiple of 8" 'P.Name
    static let g = FieldElement<'P>.RootOfUnity s
    static let gInv = g.Invert()
    /// negPow[k][d] = g^(−d·2^(8k)).
    static let negPow =
        Array.init chunks (fun k ->
            let step = gInv.Pow(1UL <<< (8 * k))
            let row = Array.zeroCreate<FieldElement<'P>> 256
            row[0] <- FieldElement<'P>.One
            for d in 1 .. 255 do row[d] <- row[d - 1] * step
            row)
    /// Discrete log in μ_{2^8}: h^d ↦ d with h = g^(2^(s−8)), keyed by the first Montgomery limb.
    static let logTable =
        let h = g.Pow(1UL <<< (s - 8))
        let table = Dictionary<uint64, int>(256)
        let mutable acc = FieldElement<'P>.One
        for d in 0 .. 255 do
            if table.ContainsKey acc.L0 then failwithf "%s: FastSqrt log table key collision" 'P.Name
            table[acc.L0] <- d
            acc <- acc * h
        if not (acc.Equals FieldElement<'P>.One) then failwithf "%s: root of unity has the wrong order" 'P.Name
        table
    /// 4-bit windows of (t − 1)/2, most significant first.
    static let nibbles =
        let e: BigInteger = (FieldElement<'P>.Modulus - BigInteger.One) >>> s
        let e = (e - BigInteger.One) / BigInteger 2
        let bytes = e.ToByteArray(isUnsigned = true, isBigEndian = true)
        bytes |> Array.collect (fun b -> [| int (b >>> 4); int (b &&& 15uy) |])

    /// x^((t−1)/2) by fixed 4-bit windows.
    static member private PowHalfOdd(x: FieldElement<'P>) : FieldElement<'P> =
        let table = Array.zeroCreate<FieldElement<'P>> 16
        table[0] <- FieldElement<'P>.One
        for i in 1 .. 15 do table[i] <- table[i - 1] * x
        let mutable acc = FieldElement<'P>.One
        let mutable started = false
        for nib in nibbles do
            if started then acc <- acc.Square().Square().Square().Square()
            if nib <> 0 then
                acc <- if started then acc * table[nib] else table[nib]
                started <- true
        acc

    /// A square root of x (either sign), or ValueNone when x is a non-residue.
    static member Sqrt(x: FieldElement<'P>) : FieldElement<'P> voption =
        if x.IsZero then ValueSome x
        else
            let w = FastSqrt<'P>.PowHalfOdd x
            let r0 = x * w
            let v = r0 * w
            let mutable cur = v
            let mutable e = 0UL
            let mutable ok = true
            let mutable k = 0
            while ok && k < chunks do
                let mutable u = cur
                for _ in 1 .. s - 8 * (k + 1) do u <- u.Square()
                match logTable.TryGetValue u.L0 with
                | true, d ->
                    e <- e ||| (uint64 d <<< (8 * k))
                    if k < chunks - 1 then cur <- cur * negPow[k][d]
                | _ -> ok <- false // unreachable for valid tables: u is always in μ_{2^8}
                k <- k + 1
            if not ok then failwithf "%s: FastSqrt internal error (element outside the 2-power roots of unity)" 'P.Name
            if e &&& 1UL = 1UL then ValueNone
            else
                let half = e >>> 1
                let mutable r = r0
                for k in 0 .. chunks - 1 do
                    let d = int ((half >>> (8 * k)) &&& 255UL)
                    if d <> 0 then r <- r * negPow[k][d]
                ValueSome r
