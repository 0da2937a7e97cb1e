/// INTERIM stand-ins for the project's polynomial and transcript modules (Poly/,
/// Transcript/), which are being written on another branch. The proving system uses
/// only the two small interfaces below (`PolyOps`, `ITranscript`); when the real
/// modules land on main these bodies are replaced by calls into them.
namespace ZkLora.Math.Plonk

open System
open System.Threading.Tasks
open ZkLora.Math

/// The polynomial operations the proving system needs (coefficients low to high).
module internal PolyOps =
    let private log2 (n: int) =
        let mutable k = 0
        while (1 <<< k) < n do k <- k + 1
        if (1 <<< k) <> n then invalidArg "n" "size must be a power of two"
        k

    let private bitReverse (a: Fp[]) =
        let n = a.Length
        let mutable j = 0
        for i in 1 .. n - 1 do
            let mutable bit = n >>> 1
            while j &&& bit <> 0 do
                j <- j ^^^ bit
                bit <- bit >>> 1
            j <- j ^^^ bit
            if i < j then
                let t = a[i]
                a[i] <- a[j]
                a[j] <- t

    /// In-place radix-2 FFT: a[i] <- Σ_j a_j·ω^(ij) for the primitive |a|-th root ω.
    let private fftWith (a: Fp[]) (omega: Fp) =
        let n = a.Length
        if n > 1 then
            bitReverse a
            let logN = log2 n
            // twiddles for the largest stage; smaller stages stride through them
            let half = n / 2
            let tw = Array.zeroCreate<Fp> half
            let mutable w = Fp.One
            for i in 0 .. half - 1 do
                tw[i] <- w
                w <- w * omega
            for s in 1 .. logN do
                let m = 1 <<< s
                let mh = m >>> 1
                let stride = n / m
                let groups = n / m
                let body (g: int) =
                    let start = g * m
                    for j in 0 .. mh - 1 do
                        let t = tw[j * stride] * a[start + j + mh]
                        let u = a[start + j]
                        a[start + j] <- u + t
                        a[start + j + mh] <- u - t
                if groups >= 16 && n >= 4096 then Parallel.For(0, groups, body) |> ignore
                else for g in 0 .. groups - 1 do body g

    /// Evaluations at ω^i (i < n) of the polynomial with coefficients `a` (in place).
    let fft (a: Fp[]) = fftWith a (Fp.RootOfUnity(log2 a.Length))

    /// Coefficients from evaluations at the n-th roots of unity (in place).
    let ifft (a: Fp[]) =
        let n = a.Length
        let k = log2 n
        fftWith a (Fp.RootOfUnity(k).Invert())
        let nInv = (Fp.OfUInt64(uint64 n)).Invert()
        for i in 0 .. n - 1 do a[i] <- a[i] * nInv

    /// Evaluations at shift·ω^i of coefficients `coeffs` padded to `size` (a new array).
    let cosetFft (coeffs: Fp[]) (size: int) (shift: Fp) =
        let a = Array.zeroCreate size
        let mutable s = Fp.One
        for i in 0 .. (min coeffs.Length size) - 1 do
            a[i] <- coeffs[i] * s
            s <- s * shift
        if coeffs.Length > size then invalidArg "coeffs" "polynomial longer than the coset"
        fft a
        a

    /// Coefficients from evaluations at shift·ω^i (in place).
    let cosetIfft (a: Fp[]) (shift: Fp) =
        ifft a
        let inv = shift.Invert()
        let mutable s = Fp.One
        for i in 0 .. a.Length - 1 do
            a[i] <- a[i] * s
            s <- s * inv

    /// p(x) by Horner's rule.
    let evaluate (coeffs: Fp[]) (x: Fp) =
        let mutable acc = Fp.Zero
        for i in coeffs.Length - 1 .. -1 .. 0 do acc <- acc * x + coeffs[i]
        acc

    /// (p(X) - p(z)) / (X - z) by synthetic division (same length, top coefficient 0).
    let divideByLinear (coeffs: Fp[]) (z: Fp) =
        let n = coeffs.Length
        let q = Array.zeroCreate n
        let mutable carry = Fp.Zero
        for i in n - 1 .. -1 .. 1 do
            carry <- coeffs[i] + carry * z
            q[i - 1] <- carry
        q

/// A Fiat–Shamir transcript: absorbs labelled bytes, squeezes field challenges.
type ITranscript =
    abstract Absorb: label: string * data: byte[] -> unit
    abstract Challenge: label: string -> Fp

/// INTERIM BLAKE3 transcript: a running BLAKE3 hash over length-prefixed labels and
/// data; a challenge is 64 bytes of BLAKE3-XOF output of the state so far (reduced
/// modulo p, statistically uniform), which is absorbed back so later challenges depend
/// on it.
[<Sealed>]
type internal Blake3Transcript(domain: string) =
    let mutable hasher = Blake3.Hasher.New()
    let absorb (label: string) (data: ReadOnlySpan<byte>) =
        let lb = Text.Encoding.UTF8.GetBytes label
        let len = Array.zeroCreate<byte> 12
        Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(Span(len, 0, 4), lb.Length)
        Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(Span(len, 4, 8), int64 data.Length)
        hasher.Update(ReadOnlySpan len)
        hasher.Update(ReadOnlySpan lb)
        hasher.Update data
    do absorb "zklora/transcript/domain" (ReadOnlySpan(Text.Encoding.UTF8.GetBytes domain))
    interface ITranscript with
        member _.Absorb(label, data) = absorb label (ReadOnlySpan data)
        member _.Challenge(label) =
            absorb "challenge" (ReadOnlySpan(Text.Encoding.UTF8.GetBytes label))
            let out = Array.zeroCreate<byte> 64
            hasher.Finalize(Span out)
            absorb "challenge-output" (ReadOnlySpan out)
            Fp.OfUniformBytes(ReadOnlySpan out)
