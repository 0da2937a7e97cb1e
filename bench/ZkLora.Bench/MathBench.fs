/// `math` mode: field, FFT and MSM micro-benchmarks (quick mode, under a minute).
/// Last line: `fp_mul_ns=<x> fft16_s=<y> msm16_s=<z>`. `--full` adds MSM and generator
/// derivation at 2^20.
module ZkLora.Bench.MathBench

open System
open ZkLora.Math
open ZkLora.Bench.Measure

/// A dependent chain of multiplications, so the figure is latency, not throughput.
let fpMulNs () =
    let b = Fp.random ()
    let mutable a = Fp.random ()
    let inner = 2_000_000
    let t = timePerCall 2 7 inner (fun () -> a <- a * b)
    if a.IsZero then printfn "(unreachable)"
    t.MedianSeconds * 1e9

/// Independent multiplications over arrays (what FFT/MSM inner loops look like): throughput.
let fpMulThroughputNs () =
    let n = 1 <<< 12
    let xs = Array.init n (fun _ -> Fp.random ())
    let ys = Array.init n (fun _ -> Fp.random ())
    let zs = Array.zeroCreate<Fp> n
    let t = timePerCall 2 7 200 (fun () -> for i in 0 .. n - 1 do zs[i] <- xs[i] * ys[i])
    t.MedianSeconds * 1e9 / float n

let fpInvUs () =
    let mutable a = Fp.random ()
    let t = timePerCall 2 7 2_000 (fun () -> a <- a.Invert())
    t.MedianSeconds * 1e6

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
    let mul = fpMulNs ()
    printfn "Fp mul        %8.2f ns" mul
    let thr = fpMulThroughputNs ()
    printfn "Fp mul (indep.)%7.2f ns" thr
    let inv = fpInvUs ()
    printfn "Fp inversion  %8.2f us" inv
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
    printfn "fp_mul_ns=%.2f fft16_s=%.4f msm16_s=%.3f" mul fft16 msm16
    0
