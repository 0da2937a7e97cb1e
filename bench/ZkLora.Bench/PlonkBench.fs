/// `plonk` mode: the proving system on a standard circuit — a running dot product of
/// byte-sized inputs filling every usable row (4 advice columns, 3 selectors, one 8-bit
/// table shared by two selected lookups, a copy constraint per row, one public output).
///
///   dotnet run -c Release --project bench/ZkLora.Bench -- plonk --k 14          (one size)
///   dotnet run -c Release --project bench/ZkLora.Bench -- plonk --all --k 14    (10, 14, 17, 20)
///
/// Per size: parameter derivation (hash-to-curve, once per k), key generation, proving
/// (median after a warm-up proof), verification (median), proof size, peak working set
/// so far. Last line: `k=<k> prove_s=<x> verify_s=<y> proof_bytes=<n> peak_mb=<m>`.
module ZkLora.Bench.PlonkBench

open System
open System.Diagnostics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Bench.Measure
open ZkLora.Math.Commitment
open ZkLora.Math.Testing

/// The prover options of this run (`--trace` sets a phase-timing sink).
let mutable private proverOptions = Prover.defaultOptions

let private runK (pcs: ICommitmentScheme<'C>) (paramsFor: int -> unit) (k: int) =
    let n = 1 <<< k
    let rng = Random 42
    // rows: the dot region uses m + 1 rows; blinding for this circuit is 5 (+1 last row)
    let m = n - 5 - 1 - 1
    let xs = Array.init m (fun _ -> int64 (rng.Next 256))
    let ws = Array.init m (fun _ -> int64 (rng.Next 256))
    let circuit = StandardCircuit.dotProduct xs ws (fun _ v -> v)
    let inst = [| [| StandardCircuit.dotResult xs ws |] |]
    let sw = Stopwatch.StartNew()
    paramsFor k
    let paramsS = sw.Elapsed.TotalSeconds
    sw.Restart()
    let pk =
        match Keys.keygen pcs circuit k with
        | Ok pk -> pk
        | Error e -> failwithf "keygen: %s" e
    let keygenS = sw.Elapsed.TotalSeconds
    sw.Restart()
    match Keys.verifyingKey pcs circuit k with
    | Ok _ -> ()
    | Error e -> failwithf "verifying key: %s" e
    let vkS = sw.Elapsed.TotalSeconds
    let prove () =
        match Prover.proveWith proverOptions pcs pk circuit inst with
        | Ok p -> p
        | Error e -> failwithf "prove: %s" e
    let mutable proof = prove () // warm-up (JIT tiers, caches)
    let proveSamples = if k <= 14 then 3 else 1
    // CPU time next to wall time: on a shared machine it shows what the run was granted
    let proc = Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime
    let tp = time 0 proveSamples (fun () -> proof <- prove ())
    proc.Refresh()
    let proveCpu = (proc.TotalProcessorTime - cpu0).TotalSeconds / float proveSamples
    let verify () =
        match Verifier.verify pcs pk.Vk inst proof with
        | Ok() -> ()
        | Error e -> failwithf "verify: %s" e
    verify ()
    let tv = time 1 (if k <= 17 then 7 else 3) verify
    // the verifier's two parts: replaying the proof up to the deferred opening check, and the check
    let mutable check = Unchecked.defaultof<IDeferredCheck>
    let tRead = time 1 (if k <= 17 then 7 else 3) (fun () -> check <- (match Verifier.verifyDeferred pcs pk.Vk inst proof with Ok c -> c | Error e -> failwith e))
    let tDecide = time 1 (if k <= 17 then 7 else 3) (fun () -> if not (pcs.Decide [| check |]) then failwith "decide")
    let peak = peakWorkingSetMiB ()
    printfn "k=%-2d rows=%-8d params %7.2f s  keygen %7.2f s  vk keygen %7.3f s  prove %7.3f s (cpu %7.3f s)  verify %7.4f s (replay %7.4f s, final check %7.4f s)  proof %6d B  peak %7.0f MiB"
        k m paramsS keygenS vkS tp.MedianSeconds proveCpu tv.MedianSeconds tRead.MedianSeconds tDecide.MedianSeconds proof.Length peak
    sprintf "k=%d prove_s=%.3f verify_s=%.4f proof_bytes=%d peak_mb=%.0f" k tp.MedianSeconds tv.MedianSeconds proof.Length peak

let runWith (pcs: ICommitmentScheme<'C>) (paramsFor: int -> unit) (args: string[]) =
    let mutable k = 14
    let mutable all = false
    let mutable i = 0
    while i < args.Length do
        match args[i] with
        | "--k" when i + 1 < args.Length ->
            k <- int args[i + 1]
            i <- i + 2
        | "--all" ->
            all <- true
            i <- i + 1
        | "--trace" ->
            let sink =
                { new IProgress<Prover.ProverPhase> with
                    member _.Report p =
                        let managed = float (GC.GetTotalMemory false) / 1048576.0
                        let ws = float (Process.GetCurrentProcess().WorkingSet64) / 1048576.0
                        eprintfn "    %-22s %8.3f s   managed %7.0f MiB   working set %7.0f MiB" p.Phase p.Seconds managed ws }
            proverOptions <- { PhaseTimings = Some sink }
            i <- i + 1
        | other -> Measure.usageError "plonk: unknown option '%s' (use --k <k> [--all] [--trace])" other
    // the standard circuit has a 256-row lookup table, which needs k >= 9; the IPA stops at MaxK
    if k < 9 || k > pcs.MaxK then Measure.usageError "plonk: --k must be in 9..%d, got %d" pcs.MaxK k
    let ks = if all then List.distinct (List.sort [ 10; 14; 17; 20; k ]) else [ k ]
    let lines = ks |> List.map (fun kk -> kk, runK pcs paramsFor kk)
    printfn "%s" (lines |> List.find (fun (kk, _) -> kk = k) |> snd)
    0

/// The mode's entry point: the IPA over Vesta.
let run (args: string[]) =
    let scheme = VestaIpa.create ()
    runWith scheme (fun k -> scheme.Params k |> ignore) args
