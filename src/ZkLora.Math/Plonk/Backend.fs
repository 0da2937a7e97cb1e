/// The two small interfaces the proving system uses from the rest of the math core:
/// polynomial transforms (Poly/) and the Fiat–Shamir transcript (Transcript/). Thin
/// adapters, so the protocol code reads in its own terms (arrays of coefficients or
/// values) and the underlying modules can evolve independently.
namespace ZkLora.Math.Plonk

open System
open System.Collections.Concurrent
open ZkLora.Math
open ZkLora.Math.Poly

/// Polynomial operations (coefficients low to high) on plain arrays, backed by Poly/.
module internal PolyOps =
    let private domains = ConcurrentDictionary<int, EvaluationDomain<PallasBase>>()

    let private log2 (n: int) =
        let k = Numerics.BitOperations.Log2(uint32 n)
        if n <= 0 || (1 <<< k) <> n then invalidArg "n" "size must be a power of two"
        k

    /// The (cached) domain of size n (no extension).
    let domain (n: int) = domains.GetOrAdd(log2 n, fun k -> EvaluationDomain<PallasBase>.Create(k, 0))

    /// Evaluations at ω^i (i < n) of the polynomial with coefficients `a` (in place).
    let fft (a: Fp[]) = (domain a.Length).FftInPlace a

    /// Coefficients from evaluations at the n-th roots of unity (in place).
    let ifft (a: Fp[]) = (domain a.Length).IFftInPlace a

    /// Evaluations at shift·ω^i of `coeffs` padded to `size` (a new array).
    let cosetFft (coeffs: Fp[]) (size: int) (shift: Fp) =
        if coeffs.Length > size then invalidArg "coeffs" "polynomial longer than the coset"
        let a = Array.zeroCreate size
        Array.blit coeffs 0 a 0 coeffs.Length
        Fft.distributePowers a shift
        (domain size).FftInPlace a
        a

    /// Coefficients from evaluations at shift·ω^i (in place).
    let cosetIfft (a: Fp[]) (shift: Fp) =
        (domain a.Length).IFftInPlace a
        Fft.distributePowers a (shift.Invert())

    /// p(x).
    let evaluate (coeffs: Fp[]) (x: Fp) = Coefficients.evaluate (Polynomial.ofOwnedArray<PallasBase, Coeff> coeffs) x

    /// (p(X) - p(z)) / (X - z), same length as p (top coefficient 0).
    let divideByLinear (coeffs: Fp[]) (z: Fp) =
        let struct (q, _) = Coefficients.divideByLinear (Polynomial.ofOwnedArray<PallasBase, Coeff> coeffs) z
        let out = Array.zeroCreate coeffs.Length
        q.Values.CopyTo(Span(out, 0, q.Length))
        out

/// Bulk CSPRNG field elements (blinding rows, random polynomials): one OS call per
/// batch instead of one per element. Each element is a uniform 255-bit string from
/// RandomNumberGenerator, accepted when below p (rejection sampling, so the output is
/// exactly uniform); each element has a spare 32-byte draw for a first rejection.
module internal Randomness =
    open System.Security.Cryptography

    let fill (dest: Span<Fp>) =
        let batch = 4096
        let buf = Array.zeroCreate<byte> (64 * min batch (max 1 dest.Length))
        let mutable i = 0
        while i < dest.Length do
            let count = min batch (dest.Length - i)
            RandomNumberGenerator.Fill(Span(buf, 0, 64 * count))
            for j in 0 .. count - 1 do
                let tryAt (offset: int) =
                    buf[offset + 31] <- buf[offset + 31] &&& 0x7Fuy
                    Fp.TryReadBytes(ReadOnlySpan(buf, offset, 32))
                dest[i + j] <-
                    match tryAt (64 * j) with
                    | Ok v -> v
                    | Error _ ->
                        match tryAt (64 * j + 32) with
                        | Ok v -> v
                        | Error _ -> Fp.Random()
            i <- i + count
        CryptographicOperations.ZeroMemory(Span buf)

    /// `count` uniformly random field elements.
    let array (count: int) =
        let a = Array.zeroCreate<Fp> count
        fill (Span a)
        a

/// A Fiat–Shamir transcript as the proving system uses it.
type ITranscript =
    inherit IDisposable
    /// Absorbs opaque bytes.
    abstract Absorb: label: string * data: byte[] -> unit
    /// Absorbs an encoded commitment (a compressed point).
    abstract AbsorbCommitment: label: string * encoded: byte[] -> unit
    abstract AbsorbScalar: label: string * value: Fp -> unit
    abstract Challenge: label: string -> Fp

/// The project's BLAKE3 transcript (Transcript/) behind `ITranscript`.
[<Sealed>]
type internal Blake3Transcript(domain: string) =
    let t = Transcript.Transcript.create domain
    interface ITranscript with
        member _.Absorb(label, data) = t.AbsorbBytes(label, ReadOnlySpan data)
        member _.AbsorbCommitment(label, encoded) =
            // Curve points are 32-byte compressed encodings; other commitment types (the
            // test-only ideal oracle) are absorbed as tagged bytes.
            if encoded.Length = 32 then t.AbsorbPoint(label, ReadOnlySpan encoded)
            else t.AbsorbBytes(label, ReadOnlySpan encoded)
        member _.AbsorbScalar(label, v) = t.AbsorbScalar(label, v)
        member _.Challenge label = t.SqueezeChallenge<PallasBase> label
        member _.Dispose() = (t :> IDisposable).Dispose()
