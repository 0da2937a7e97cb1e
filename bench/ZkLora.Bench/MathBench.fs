/// `math` mode: field, FFT and MSM micro-benchmarks (quick mode, under a minute).
/// Last line: `fp_mul_ns=<x>` (FFT and MSM figures are added by their own benchmarks).
///
/// Each timed sample runs a whole loop inside one non-inlined function, so the figures
/// are the operations themselves, not a closure call per operation. Samples are repeated
/// and the median reported; on this shared 2-core machine the minimum is printed too.
module ZkLora.Bench.MathBench

open System
open System.Runtime.CompilerServices
open ZkLora.Math
open ZkLora.Bench.Measure

/// A dependent chain of multiplications: each one needs the previous result (latency).
[<MethodImpl(MethodImplOptions.NoInlining)>]
let mulChain (n: int) (a0: Fp) (b: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a * b
    a

[<MethodImpl(MethodImplOptions.NoInlining)>]
let squareChain (n: int) (a0: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a.Square()
    a

[<MethodImpl(MethodImplOptions.NoInlining)>]
let addChain (n: int) (a0: Fp) (b: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a + b
    a

[<MethodImpl(MethodImplOptions.NoInlining)>]
let subChain (n: int) (a0: Fp) (b: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a - b
    a

/// Horner steps acc <- acc·x + c: a multiply feeding an add feeding a multiply (polynomial evaluation).
[<MethodImpl(MethodImplOptions.NoInlining)>]
let hornerChain (n: int) (a0: Fp) (x: Fp) (c: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a * x + c
    a

/// Alternating square and multiply (the shape of square-and-multiply exponentiation).
[<MethodImpl(MethodImplOptions.NoInlining)>]
let squareMulChain (n: int) (a0: Fp) (b: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a.Square() * b
    a

/// Independent multiplications over arrays (what FFT/MSM inner loops look like): throughput.
[<MethodImpl(MethodImplOptions.NoInlining)>]
let mulArrays (xs: Fp[]) (ys: Fp[]) (zs: Fp[]) =
    for i in 0 .. xs.Length - 1 do zs[i] <- xs[i] * ys[i]

[<MethodImpl(MethodImplOptions.NoInlining)>]
let invChain (n: int) (a0: Fp) =
    let mutable a = a0
    for _ in 1..n do a <- a.Invert()
    a

[<MethodImpl(MethodImplOptions.NoInlining)>]
let fermatChain (n: int) (a0: Fp) =
    let mutable a = a0
    let e = Fp.Modulus - Numerics.BigInteger 2
    for _ in 1..n do a <- a.Pow e
    a

/// Nanoseconds per operation for `run inner` (one sample = one call); median and minimum.
let perOp (inner: int) (run: int -> Fp) : float * float =
    let mutable sink = Fp.Zero
    let t = time 3 15 (fun () -> sink <- run inner)
    if sink.IsZero && sink.IsZero then () // keep the result alive
    t.MedianSeconds * 1e9 / float inner, t.MinSeconds * 1e9 / float inner

let private report (name: string) (unit: string) (scale: float) (median: float, minimum: float) =
    printfn "%-28s %9.2f %s   (min %.2f)" name (median / scale) unit (minimum / scale)

let run (_args: string[]) =
    let a = Fp.random ()
    let b = Fp.random ()
    let mul = perOp 2_000_000 (fun n -> mulChain n a b)
    report "Fp mul (latency)" "ns" 1.0 mul
    let n = 1 <<< 12
    let xs = Array.init n (fun _ -> Fp.random ())
    let ys = Array.init n (fun _ -> Fp.random ())
    let zs = Array.zeroCreate<Fp> n
    let thr = perOp 200 (fun k -> (for _ in 1..k do mulArrays xs ys zs); zs[0])
    report "Fp mul (throughput)" "ns" (float n) thr
    report "Fp square (latency)" "ns" 1.0 (perOp 2_000_000 (fun n -> squareChain n a))
    report "Fp add (latency)" "ns" 1.0 (perOp 5_000_000 (fun n -> addChain n a b))
    report "Fp mul+add (Horner step)" "ns" 1.0 (perOp 2_000_000 (fun n -> hornerChain n a b b))
    report "Fp square+mul" "ns" 1.0 (perOp 1_000_000 (fun n -> squareMulChain n a b))
    report "Fp sub (latency)" "ns" 1.0 (perOp 5_000_000 (fun n -> subChain n a b))
    report "Fp inversion" "us" 1000.0 (perOp 5_000 (fun n -> invChain n a))
    report "Fp inversion (Fermat)" "us" 1000.0 (perOp 200 (fun n -> fermatChain n a))
    let batch = perOp 20 (fun k ->
        for _ in 1..k do
            Array.blit xs 0 zs 0 n
            Fp.batchInvert zs
        zs[0])
    report "Fp batch inversion (4096)" "ns/elt" (float n) batch
    printfn "fp_mul_ns=%.2f" (fst mul)
    0
