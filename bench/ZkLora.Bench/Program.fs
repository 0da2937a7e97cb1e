module ZkLora.Bench.Program

open System
open BenchmarkDotNet.Running

/// `bdn` mode: the BenchmarkDotNet suites of this assembly, driven by BenchmarkDotNet's own
/// command line (e.g. `--filter *FieldBenchmarks*`, `--inProcess`, `--list flat`).
let runBenchmarkDotNet (args: string[]) =
    let summaries = BenchmarkSwitcher.FromAssembly(typeof<FieldBenchmarks>.Assembly).Run(args)
    if summaries |> Seq.exists (fun s -> s.HasCriticalValidationErrors) then 1 else 0

/// Each benchmark mode: name, one-line help, entry point taking the remaining arguments.
let modes : (string * string * (string[] -> int)) list =
    [ "math", "field, FFT and MSM micro-benchmarks (quick, < 1 min)", MathBench.run
      "msm", "Vesta MSM by size and scalar width (--samples S, --max-log L)", MsmBench.run
      "plonk", "proving system on a standard circuit (--k K, --all for 10/14/17/20)", PlonkBench.run
      "lora", "LoRA circuit prove/verify for the docs/design.md §7 shapes (--shape IxRxO --rows T [--fixed-point sb,vb,ib] [--backend plonk|projection] [--adapter-proof], --all)", LoraBench.run
      "vecarg", "projection backend pieces at one vector length: MSM, IPA fold, IPA, Hadamard proof (--log L)", VectorArgBench.run
      "commit", "activation commitment throughput (--values N, --samples S)", CommitBench.run
      "contract", "fixed-point quantize/delta (fast vs exact), Poseidon, adapter commitment (quick)", ContractBench.run
      "load", "contributor server on loopback: requests/s, latency percentiles, RSS at 1-64 clients (--seconds S, --clients 1,4,16,64)", LoadBench.run
      "bdn", "BenchmarkDotNet suites; BenchmarkDotNet arguments follow (e.g. --filter *Field*)", runBenchmarkDotNet
      // one line per mode; keep this list sorted by dependency order (math, plonk, lora, commit)
    ]

let usage () =
    eprintfn "usage: dotnet run -c Release --project bench/ZkLora.Bench -- <mode> [options]"
    eprintfn "modes:"
    for (name, help, _) in modes do eprintfn "  %-10s %s" name help

[<EntryPoint>]
let main argv =
    match argv |> Array.tryHead with
    | None -> usage (); 2
    | Some mode ->
        match modes |> List.tryFind (fun (n, _, _) -> n = mode) with
        | Some (_, _, run) ->
            printfn "# machine: %s" (Measure.machine ())
            printfn "# date: %s" (DateTime.UtcNow.ToString "yyyy-MM-dd HH:mm 'UTC'")
            try run argv[1..]
            with Measure.UsageError message -> eprintfn "%s" message; 2
        | None -> eprintfn "unknown mode '%s'" mode; usage (); 2
