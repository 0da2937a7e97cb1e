namespace ZkLora.Math

open System

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

