/// `math` mode: field, FFT and MSM micro-benchmarks (quick mode, under a minute).
/// Last line: `fp_mul_ns=<x> fft16_s=<y> msm16_s=<z>`.
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

let run (args: string[]) =
    let mul = fpMulNs ()
    printfn "Fp mul        %8.2f ns" mul
    let thr = fpMulThroughputNs ()
    printfn "Fp mul (indep.)%7.2f ns" thr
    let inv = fpInvUs ()
    printfn "Fp inversion  %8.2f us" inv
    printfn "fp_mul_ns=%.2f" mul
    let struct (fft16, fft16Cpu) = fftSeconds 16 15
    printfn "FFT 2^16      %8.4f s  (cpu %.4f s)" fft16 fft16Cpu
    // 2^20 is cheap enough to always run (a few seconds in total)
    let struct (fft20, fft20Cpu) = fftSeconds 20 (if Array.contains "--full" args then 7 else 3)
    printfn "FFT 2^20      %8.4f s  (cpu %.4f s)" fft20 fft20Cpu
    printfn "fft16_s=%.4f" fft16
    0
