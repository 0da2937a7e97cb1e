/// `math` mode: field, FFT and MSM micro-benchmarks (quick mode, under a minute).
/// Last line: `fp_mul_ns=<x> fft16_s=<y> msm16_s=<z>`. `--full` adds MSM and generator
/// derivation at 2^20.
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

/// Forward FFT of 2^k random elements on an existing domain (twiddles precomputed, as in a
/// prover that reuses its domain); median seconds per transform.
/// The warm-up runs for at least half a second so tiered JIT has promoted the kernels.
let fftSeconds (k: int) (samples: int) =
    let d = ZkLora.Math.Poly.EvaluationDomain<PallasBase>.Create(k, 0)
    // inputs from a cheap recurrence (a million CSPRNG draws would dominate the run)
    let c = Fp.random ()
    let a = Array.zeroCreate<Fp> (1 <<< k)
    a[0] <- Fp.random ()
    for i in 1 .. a.Length - 1 do a[i] <- a[i - 1] * c + Fp.one
    let sw = Diagnostics.Stopwatch.StartNew()
    let mutable runs = 0
    while runs < 2 || sw.Elapsed.TotalSeconds < 0.5 do
        d.FftInPlace a
        runs <- runs + 1
    // CPU time alongside wall time: on a shared 2-core box the ratio shows how much of
    // the parallel speed-up the scheduler actually granted
    let proc = Diagnostics.Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime
    let t = time 0 samples (fun () -> d.FftInPlace a)
    proc.Refresh()
    struct (t.MedianSeconds, (proc.TotalProcessorTime - cpu0).TotalSeconds / float samples)

/// Curve operations: dependent chains, so latency per operation.
let curveOpsNs () =
    let g = Pallas.generator
    let q = Pallas.mul g (Fq.random ())
    let qa = Pallas.toAffine q
    let mutable a = Pallas.mul g (Fq.random ())
    let add = timePerCall 2 7 100_000 (fun () -> a <- a + q)
    let mixed = timePerCall 2 7 100_000 (fun () -> a <- a.AddAffine qa)
    let dbl = timePerCall 2 7 100_000 (fun () -> a <- a.Double())
    let k = Fq.random ()
    let ct = timePerCall 1 5 50 (fun () -> a <- a * k)
    let vt = timePerCall 1 5 50 (fun () -> a <- a.MulVartime k)
    if a.IsIdentity then printfn "(unreachable)"
    add.MedianSeconds * 1e9, mixed.MedianSeconds * 1e9, dbl.MedianSeconds * 1e9, ct.MedianSeconds * 1e6, vt.MedianSeconds * 1e6

/// Hash-to-curve derivation of 2^logN Vesta bases (the IPA commitment curve); returns the
/// bases and the median seconds.
let generatorsS (logN: int) (samples: int) =
    let n = 1 <<< logN
    let mutable bases = [||]
    let t = time 0 samples (fun () -> bases <- Vesta.generators "zklora/bench" n)
    bases, t.MedianSeconds

/// MSM over the given Vesta bases with random Fp scalars; median seconds.
let msmS (bases: VestaAffine[]) (samples: int) =
    let scalars = Array.init bases.Length (fun _ -> Fp.random ())
    let mutable r = Vesta.identity
    let t = time 1 samples (fun () -> r <- Vesta.msm bases scalars)
    if r.IsIdentity then printfn "(unlikely: MSM gave the identity)"
    t.MedianSeconds

let run (args: string[]) =
    let full = args |> Array.contains "--full"
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
    let struct (fft16, fft16Cpu) = fftSeconds 16 15
    printfn "FFT 2^16      %8.4f s  (cpu %.4f s)" fft16 fft16Cpu
    // 2^20 is cheap enough to always run (a few seconds in total)
    let struct (fft20, fft20Cpu) = fftSeconds 20 (if full then 7 else 3)
    printfn "FFT 2^20      %8.4f s  (cpu %.4f s)" fft20 fft20Cpu
    printfn "fft16_s=%.4f" fft16
    let add, mixed, dbl, ct, vt = curveOpsNs ()
    printfn "Pallas add    %8.1f ns   (complete projective, 12M)" add
    printfn "Pallas madd   %8.1f ns   (mixed with affine, 11M)" mixed
    printfn "Pallas double %8.1f ns" dbl
    printfn "Pallas k*P    %8.1f us   (constant-time, 4-bit windows)" ct
    printfn "Pallas k*P    %8.1f us   (variable-time wNAF)" vt
    let bases, gen16 = generatorsS 16 3
    printfn "Vesta generators 2^16  %7.3f s   (hash-to-curve, parallel)" gen16
    let msm16 = msmS bases 5
    printfn "Vesta MSM 2^16         %7.3f s" msm16
    if full then
        let bases20, gen20 = generatorsS 20 1
        printfn "Vesta generators 2^20  %7.3f s" gen20
        let msm20 = msmS bases20 3
        printfn "Vesta MSM 2^20         %7.3f s" msm20
    printfn "msm16_s=%.3f" msm16
    printfn "fp_mul_ns=%.2f fft16_s=%.4f msm16_s=%.3f" (fst mul) fft16 msm16
    0
