/// `msm` mode: Vesta multi-scalar multiplication across sizes and scalar widths, the
/// building block of every commitment the prover and verifier compute.
///
///   dotnet run -c Release --project bench/ZkLora.Bench -- msm [--samples S] [--max-log 16]
///
/// Per size 2^6 .. 2^max-log: full-width random scalars, 8-bit values, and 8-bit values of
/// both signs with 6 full-width entries (a blinded witness column). Median (min) per MSM,
/// wall time with every core, and CPU time per MSM. Last line: `msm_full_<log>_us=… …`.
module ZkLora.Bench.MsmBench

open System
open System.Diagnostics
open ZkLora.Math
open ZkLora.Bench.Measure

let run (args: string[]) =
    let mutable samples = 15
    let mutable maxLog = 16
    let mutable i = 0
    while i < args.Length do
        match args[i] with
        | "--samples" when i + 1 < args.Length ->
            samples <- max 1 (int args[i + 1])
            i <- i + 2
        | "--max-log" when i + 1 < args.Length ->
            maxLog <- max 6 (min 20 (int args[i + 1]))
            i <- i + 2
        | other -> Measure.usageError "msm: unknown option '%s' (use [--samples S] [--max-log L])" other
    let rng = Random 3
    let bases = Vesta.generators "zklora/bench/msm" (1 <<< maxLog)
    let proc = Process.GetCurrentProcess()
    let summary = Collections.Generic.List<string>()
    for log in 6 .. 2 .. maxLog do
        let n = 1 <<< log
        let b = bases[.. n - 1]
        let small () = Fp.OfInt64(int64 (rng.Next 256))
        let kinds =
            [ "full", Array.init n (fun _ -> Fp.Random())
              "8-bit", Array.init n (fun _ -> small ())
              "signed+blind", Array.init n (fun j -> if j >= n - 6 then Fp.Random() elif j % 2 = 0 then -(small ()) else small ()) ]
        for (name, scalars) in kinds do
            let s = if log >= 14 then max 3 (samples / 3) else samples
            proc.Refresh()
            let cpu0 = proc.TotalProcessorTime
            let t = time 1 s (fun () -> Vesta.msm b scalars |> ignore)
            proc.Refresh()
            let cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds / float (s + 1)
            printfn "2^%-2d %-13s %10.1f us (min %10.1f)  cpu %10.1f us" log name (t.MedianSeconds * 1e6) (t.MinSeconds * 1e6) (cpu * 1e6)
            if name = "full" then summary.Add(sprintf "msm_full_%d_us=%.0f" log (t.MedianSeconds * 1e6))
    printfn "%s" (String.Join(" ", summary))
    0
