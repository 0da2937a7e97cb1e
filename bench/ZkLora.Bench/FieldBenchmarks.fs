/// BenchmarkDotNet suite for the Pasta base field Fp (`-- bdn`, BenchmarkDotNet arguments
/// follow: e.g. `-- bdn --filter *FieldBenchmarks*`, add `--inProcess` to skip the per-run
/// project build). Latency benchmarks run dependent chains (each operation needs the previous
/// result), throughput benchmarks independent operations over arrays; `OperationsPerInvoke`
/// makes every figure per single operation (per element for batch inversion).
namespace ZkLora.Bench

open System
open BenchmarkDotNet.Attributes
open ZkLora.Math

[<MemoryDiagnoser>]
type FieldBenchmarks() =
    [<Literal>]
    let Chain = 1000

    [<Literal>]
    let BatchSize = 4096

    let mutable a = Fp.Zero
    let mutable b = Fp.Zero
    let mutable xs: Fp[] = [||]
    let mutable ys: Fp[] = [||]
    let mutable zs: Fp[] = [||]

    [<GlobalSetup>]
    member _.Setup() =
        a <- Fp.random ()
        b <- Fp.random ()
        xs <- Array.init BatchSize (fun _ -> Fp.random ())
        ys <- Array.init BatchSize (fun _ -> Fp.random ())
        zs <- Array.zeroCreate BatchSize

    [<Benchmark(OperationsPerInvoke = 1000)>]
    member _.MulLatency() =
        let mutable x = a
        for _ in 1..Chain do x <- x * b
        x

    [<Benchmark(OperationsPerInvoke = 4096)>]
    member _.MulThroughput() =
        for i in 0 .. BatchSize - 1 do zs[i] <- xs[i] * ys[i]
        zs[0]

    [<Benchmark(OperationsPerInvoke = 1000)>]
    member _.SquareLatency() =
        let mutable x = a
        for _ in 1..Chain do x <- x.Square()
        x

    [<Benchmark(OperationsPerInvoke = 1000)>]
    member _.AddLatency() =
        let mutable x = a
        for _ in 1..Chain do x <- x + b
        x

    [<Benchmark(OperationsPerInvoke = 1000)>]
    member _.SubLatency() =
        let mutable x = a
        for _ in 1..Chain do x <- x - b
        x

    [<Benchmark>]
    member _.Inversion() = a.Invert()

    [<Benchmark(OperationsPerInvoke = 4096)>]
    member _.BatchInversion4096() =
        Array.blit xs 0 zs 0 BatchSize
        Fp.batchInvert zs
        zs[0]
