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
let fftSeconds (k: int) (samples: int) =
    let d = ZkLora.Math.Poly.EvaluationDomain<PallasBase>.Create(k, 0)
    let src = Array.init (1 <<< k) (fun _ -> Fp.random ())
    let a = Array.copy src
    let t = time 1 samples (fun () -> d.FftInPlace a)
    t.MedianSeconds

let run (args: string[]) =
    let mul = fpMulNs ()
    printfn "Fp mul        %8.2f ns" mul
    let thr = fpMulThroughputNs ()
    printfn "Fp mul (indep.)%7.2f ns" thr
    let inv = fpInvUs ()
    printfn "Fp inversion  %8.2f us" inv
    printfn "fp_mul_ns=%.2f" mul
    let fft16 = fftSeconds 16 9
    printfn "FFT 2^16      %8.4f s" fft16
    // 2^20 is cheap enough to always run (a few seconds in total)
    let fft20 = fftSeconds 20 (if Array.contains "--full" args then 7 else 3)
    printfn "FFT 2^20      %8.4f s" fft20
    printfn "fft16_s=%.4f" fft16
    0
