namespace ZkLora.Math

open System
open System.Buffers.Binary
open System.Collections.Concurrent
open System.Text
open System.Threading.Tasks

/// Deterministic hash-to-curve for transparent commitment bases (no trusted setup).
///
/// Construction ("try-and-increment", version 1), for a domain string and an index i:
///   DST = ASCII "zklora/hash-to-curve/v1/pallas" (or ".../vesta")
///   for counter c = 0, 1, 2, …:
///     msg = LE32(|DST|) ‖ DST ‖ LE32(|D|) ‖ D ‖ LE32(i) ‖ LE32(c)      (D = UTF-8 of the domain)
///     h   = BLAKE3 extendable output of msg, 65 bytes
///     x   = (h[0..63] read little-endian) mod p
///     if x³ + 5 is a square mod p: y = the square root whose parity (lowest bit of the
///       canonical value) equals h[64] & 1; return (x, y)
/// Each attempt succeeds with probability ≈ 1/2 (x = 0 never does: 5 is a non-residue).
///
/// Security: modelling BLAKE3 as a random oracle, every output is a uniformly random point
/// (x is within 2^-250 of uniform; the square-test keeps each valid x with its two y's
/// equally likely), independent of every other (domain, index). Nobody — including whoever
/// chose the domain string — knows a discrete-log relation between outputs, which is what
/// Pedersen/IPA bases need. The length-prefixed message makes distinct (DST, domain, index,
/// counter) tuples hash distinct strings. It is not constant-time (the number of attempts
/// depends on the output), which is fine because every input is public.
[<AbstractClass; Sealed>]
type HashToCurve<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> private () =
    static let dst = Encoding.ASCII.GetBytes("zklora/hash-to-curve/v1/" + CurveConstants<'B, 'S>.Name)

    /// Message buffer for a domain with the trailing 8 bytes (index, counter) left to fill.
    static member internal Prefix(domain: string) : byte[] =
        if isNull domain then nullArg "domain"
        let d = Encoding.UTF8.GetBytes domain
        let buf = Array.zeroCreate<byte> (4 + dst.Length + 4 + d.Length + 8)
        BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan 0, dst.Length)
        dst.CopyTo(buf, 4)
        BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan(4 + dst.Length), d.Length)
        d.CopyTo(buf, 8 + dst.Length)
        buf

    /// One attempt loop for index i; `buf` comes from Prefix and `out` has 65 bytes. Returns
    /// the point and the counter of the attempt that succeeded.
    static member internal HashWithCounter(buf: byte[], index: uint32, out: byte[]) : struct (Affine<'B, 'S> * uint32) =
        let tail = buf.Length - 8
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan tail, index)
        let mutable counter = 0u
        let mutable result = ValueNone
        while result.IsNone do
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(tail + 4), counter)
            Blake3.Hasher.Hash(ReadOnlySpan buf, Span out)
            let x = FieldElement<'B>.OfUniformBytes(ReadOnlySpan(out, 0, 64))
            match FastSqrt<'B>.Sqrt(CurveMath.rhs x CurveConstants<'B, 'S>.B) with
            | ValueSome y ->
                let y = if CurveMath.parity y = uint64 (out[64] &&& 1uy) then y else -y
                result <- ValueSome(struct (Affine<'B, 'S>(x, y), counter))
            | ValueNone ->
                if counter = UInt32.MaxValue then failwith "hash-to-curve: counter exhausted (probability 2^-(2^32))"
                counter <- counter + 1u
        result.Value

    static member internal HashWith(buf: byte[], index: uint32, out: byte[]) : Affine<'B, 'S> =
        let struct (p, _) = HashToCurve<'B, 'S>.HashWithCounter(buf, index, out)
        p

    /// The point attempt `counter` of index i yields, given its y (canonical): Some when the
    /// attempt's x (from the hash) and y lie on the curve and y has the attempt's parity bit —
    /// i.e. the point is this hash's output for (domain, index) at that attempt — else None.
    /// One hash and a curve-equation check, no square root: how a stored generator is checked
    /// without deriving it again. (It does not check that earlier attempts failed: any attempt's
    /// output is as good a random-oracle point for the index; see `GeneratorStore`.)
    static member internal CheckAttempt(buf: byte[], index: uint32, counter: uint32, y: FieldElement<'B>, out: byte[]) : Affine<'B, 'S> voption =
        let tail = buf.Length - 8
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan tail, index)
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(tail + 4), counter)
        Blake3.Hasher.Hash(ReadOnlySpan buf, Span out)
        let x = FieldElement<'B>.OfUniformBytes(ReadOnlySpan(out, 0, 64))
        let p = Affine<'B, 'S>(x, y)
        if not x.IsZero && p.IsOnCurve && CurveMath.parity y = uint64 (out[64] &&& 1uy) then ValueSome p else ValueNone

    /// The point for (domain, index).
    static member Hash(domain: string, index: uint32) : Affine<'B, 'S> =
        HashToCurve<'B, 'S>.HashWith(HashToCurve<'B, 'S>.Prefix domain, index, Array.zeroCreate 65)

    /// Points for indices 0 … count−1 of a domain, derived in parallel (each worker reuses one
    /// message buffer). Output i equals Hash(domain, i).
    static member Generators(domain: string, count: int) : Affine<'B, 'S>[] =
        if count < 0 then invalidArg "count" "count must be non-negative"
        let points = Array.zeroCreate<Affine<'B, 'S>> count
        HashToCurve<'B, 'S>.DeriveInto(domain, points, null, 0, count)
        points

    /// Derives indices [from, until) into `points` and, unless `counters` is null, their
    /// successful attempt counters into `counters` (in parallel); entry i equals Hash(domain, i).
    static member internal DeriveInto(domain: string, points: Affine<'B, 'S>[], counters: uint32[], from: int, until: int) =
        if from < 0 || until > points.Length || (not (isNull counters) && until > counters.Length) || from > until then invalidArg "until" "range outside the arrays"
        if until > from then
            let prefix = HashToCurve<'B, 'S>.Prefix domain
            let chunk = max 64 ((until - from) / (8 * Environment.ProcessorCount))
            Parallel.ForEach(Partitioner.Create(from, until, chunk), fun (range: int * int) ->
                let lo, hi = range
                let buf = Array.copy prefix
                let out = Array.zeroCreate<byte> 65
                for i in lo .. hi - 1 do
                    let struct (p, c) = HashToCurve<'B, 'S>.HashWithCounter(buf, uint32 i, out)
                    points[i] <- p
                    if not (isNull counters) then counters[i] <- c)
            |> ignore
