/// TEST ONLY: the additive group of Fp as a prime-order group of order p. Discrete
/// logarithms are trivial in it, so it gives no security — it exercises the algebra of
/// the inner product argument (completeness, verifier equations, encodings, batching)
/// independently of the elliptic-curve code. Never used outside tests.
module ZkLora.Math.Tests.TestGroup

open System
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Commitment

let group =
    { new IGroup<Fp> with
        member _.Name = "test-additive-fp"
        member _.Zero = Fp.Zero
        member _.Add(a, b) = a + b
        member _.Sub(a, b) = a - b
        member _.Mul(a, s) = a * s
        member _.Msm(scalars, points) =
            let s = scalars.Span
            let p = points.Span
            let mutable acc = Fp.Zero
            for i in 0 .. s.Length - 1 do acc <- acc + s[i] * p[i]
            acc
        member _.IsZero a = a.IsZero
        member _.EncodedSize = 32
        member _.Encode a = a.ToBytes()
        member _.Decode bytes = Fp.TryReadBytes bytes
        member _.Fold(points, half, u) = Array.init half (fun i -> points[i] + u * points[half + i])
        member _.Generators(domain, count) =
            Array.init count (fun i ->
                let h = Blake3.Hasher.New()
                h.Update(ReadOnlySpan(Text.Encoding.UTF8.GetBytes domain))
                h.Update(ReadOnlySpan(BitConverter.GetBytes i))
                let out = Array.zeroCreate<byte> 64
                h.Finalize(Span out)
                Fp.OfUniformBytes(ReadOnlySpan out)) }
