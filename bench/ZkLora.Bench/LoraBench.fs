/// `lora` mode: the LoRA circuit (one proof per module call) over the Vesta IPA, for the
/// docs/design.md §7 shapes, default fixed-point config, scaling 2/1, random weights and inputs of
/// moderate magnitude (every intermediate inside the contract's bounds).
///
///   dotnet run -c Release --project bench/ZkLora.Bench -- lora                      (2×1×2, 16×2×16, 64×4×64)
///   dotnet run -c Release --project bench/ZkLora.Bench -- lora --shape 768x2x256 --rows 1 [--fixed-point 16,32,64]
///   dotnet run -c Release --project bench/ZkLora.Bench -- lora --all                (adds 768×2×256 and 768×4×2304 × 16)
///   … --trace prints the prover's per-phase times (stderr); --samples N sets the warm proofs timed
///   (0 with --backend projection: the first proof only; the PLONK path times at least one)
///
/// Per shape: plan (w, k), witness + commitment, parameters (once per k), key generation,
/// proving cold (parameters + key generation + first proof, as on a first call) and warm
/// (median with the key cached), verification (median), proof size, peak working set so far.
/// Last line: `shape=… rows=… k=… prove_cold_s=… prove_warm_s=… verify_s=… proof_bytes=… peak_mb=…`.
module ZkLora.Bench.LoraBench

open System
open System.Diagnostics
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Circuit
open ZkLora.Bench.Measure
open ZkLora.Math.Commitment

/// The prover options of this run (`--trace` sets a phase-timing sink).
let mutable private proverOptions = Prover.defaultOptions

let private digest = String.replicate 64 "a"

/// Magnitude bits m for random A, B, x (|value| < 2^m) such that, in the worst case, every
/// intermediate stays inside the contract (scaling 2/1): with L = ceil(log2(in·rank)),
/// raw < in·2^2m needs 2m + L < ib - 1; r < rank·in·2^(3m - sb) needs 3m - sb + L < ib - 1;
/// delta ≈ 2·r / 2^sb needs 3m - 2sb + L + 1 < vb - 1. Capped at 30 (inputs of moderate size).
let private magnitudeBits (cfg: FixedPointConfig) (i: int) (r: int) =
    let l = int (Math.Ceiling(Math.Log2(float (i * r))))
    let sb, vb, ib = cfg.ScaleBits, cfg.ValueBits, cfg.IntermediateBits
    [ 30; vb - 2; (ib - 2 - l) / 2; (ib - 2 - l + sb) / 3; (vb - 3 - l + 2 * sb) / 3 ] |> List.min |> max 1

let private runShape (samplesOverride: int option) (cfg: FixedPointConfig) (i: int, r: int, o: int, t: int) =
    // each shape derives its own parameters, so "params" is the cold figure of that k
    let scheme = VestaIpa.create ()
    let pcs = scheme :> ICommitmentScheme<VestaAffine>
    let rng = Random 42
    let v (bits: int) = BigInteger(rng.NextInt64(-(1L <<< bits), 1L <<< bits))
    let shape : LoraCircuit.LoraCircuitShape =
        { InDim = i; Rank = r; OutDim = o; Rows = t; Config = cfg; Scaling = { Num = BigInteger 2; Den = BigInteger.One } }
    let m = magnitudeBits cfg i r
    let a = Array.init r (fun _ -> Array.init i (fun _ -> v m))
    let b = Array.init o (fun _ -> Array.init r (fun _ -> v m))
    let xs = Array.init t (fun _ -> Array.init i (fun _ -> v m))
    let sw = Stopwatch.StartNew()
    let input =
        match LoraCircuit.build shape a b (Fp.Random()) xs digest with
        | Ok x -> x
        | Error e -> failwithf "build: %s" e
    let buildS = sw.Elapsed.TotalSeconds
    let p = input.Plan
    sw.Restart()
    scheme.Params p.K |> ignore
    let paramsS = sw.Elapsed.TotalSeconds
    sw.Restart()
    let pk =
        match Keys.keygen pcs (LoraCircuit.circuit p None) p.K with
        | Ok pk -> pk
        | Error e -> failwithf "keygen: %s" e
    let keygenS = sw.Elapsed.TotalSeconds
    // what a fresh verifier pays to derive the verifying key (parameters already cached)
    let vkS =
        (time 0 3 (fun () ->
            match Keys.verifyingKey pcs (LoraCircuit.circuit p None) p.K with
            | Ok _ -> ()
            | Error e -> failwithf "verifying key: %s" e)).MedianSeconds
    let circuit = LoraCircuit.circuit p (Some input.Witness)
    let prove () =
        match Prover.proveWith proverOptions pcs pk circuit input.Instances with
        | Ok proof -> proof
        | Error e -> failwithf "prove: %s" e
    sw.Restart()
    let mutable proof = prove () // the first proof: with parameters and keygen, the cold figure
    let firstS = sw.Elapsed.TotalSeconds
    let coldS = paramsS + keygenS + firstS
    let samples = match samplesOverride with Some s -> max 1 s | None -> if p.K <= 12 then 3 else 1
    // CPU time next to wall time: on a shared machine it shows what the run was granted
    let proc = Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime
    let tp = time 0 samples (fun () -> proof <- prove ())
    proc.Refresh()
    let proveCpu = (proc.TotalProcessorTime - cpu0).TotalSeconds / float samples
    let verify () =
        match Verifier.verify pcs pk.Vk input.Instances proof with
        | Ok() -> ()
        | Error e -> failwithf "verify: %s" e
    verify ()
    let tv = time 1 (max 5 samples) verify
    // the verifier's two parts: replaying the proof up to the deferred opening check, and the check
    let mutable check = Unchecked.defaultof<IDeferredCheck>
    let tRead = time 1 (max 5 samples) (fun () -> check <- (match Verifier.verifyDeferred pcs pk.Vk input.Instances proof with Ok c -> c | Error e -> failwith e))
    let tDecide = time 1 (max 5 samples) (fun () -> if not (pcs.Decide [| check |]) then failwith "decide")
    let peak = peakWorkingSetMiB ()
    printfn "%dx%dx%d rows=%-2d fixed_point=%d,%d,%d w=%-2d k=%-2d build %6.2f s  params %6.2f s  keygen %6.2f s  vk keygen %6.3f s  first prove %7.2f s  warm prove %7.3f s (cpu %6.3f s)  verify %7.4f s (replay %7.4f s, final check %7.4f s)  proof %6d B  peak %6.0f MiB"
        i r o t cfg.ScaleBits cfg.ValueBits cfg.IntermediateBits p.LimbBits p.K buildS paramsS keygenS vkS firstS tp.MedianSeconds proveCpu tv.MedianSeconds tRead.MedianSeconds tDecide.MedianSeconds proof.Length peak
    sprintf "shape=%dx%dx%d rows=%d k=%d prove_cold_s=%.3f prove_warm_s=%.3f verify_s=%.4f proof_bytes=%d peak_mb=%.0f vk_keygen_s=%.3f"
        i r o t p.K coldS tp.MedianSeconds tv.MedianSeconds proof.Length peak vkS

/// The projection backend (docs/projection-protocol.md) on the same random data as the
/// PLONK run: adapter commitment (and, with --adapter-proof, the one-time range proof), then
/// the per-call proof of all T rows. Peak memory is the process's, so run one backend per process.
let private runProjection (samplesOverride: int option) (adapterProof: bool) (batch: int) (cfg: FixedPointConfig) (i: int, r: int, o: int, t: int) =
    let rng = Random 42
    let v (bits: int) = BigInteger(rng.NextInt64(-(1L <<< bits), 1L <<< bits))
    let m = magnitudeBits cfg i r
    let a = Array.init r (fun _ -> Array.init i (fun _ -> v m))
    let b = Array.init o (fun _ -> Array.init r (fun _ -> v m))
    let xs = Array.init t (fun _ -> Array.init i (fun _ -> v m))
    let num, den = BigInteger 2, BigInteger.One
    let delta = match deltaRows cfg a b xs num den with Ok d -> d | Error e -> failwithf "contract: %s" e
    let shape : ZkLora.Proofs.Projection.AdapterProof.AdapterShape = { InDim = i; Rank = r; OutDim = o; Config = cfg }
    let generators = PedersenGenerators() // derived by the first use below (cold), kept for the warm runs
    let sw = Stopwatch.StartNew()
    let c, secret = match ZkLora.Proofs.Projection.AdapterProof.commit generators shape a b with Ok x -> x | Error e -> failwith e
    let commitS = sw.Elapsed.TotalSeconds
    let adapterLine =
        if adapterProof then
            sw.Restart()
            let ap = match ZkLora.Proofs.Projection.AdapterProof.prove generators shape c secret with Ok p -> p | Error e -> failwith e
            let apS = sw.Elapsed.TotalSeconds
            sw.Restart()
            match ZkLora.Proofs.Projection.AdapterProof.verify generators shape c ap with Ok() -> () | Error e -> failwith e
            let avS = sw.Elapsed.TotalSeconds
            sprintf "  adapter proof %7.2f s  verify %7.3f s  %6d B" apS avS (ZkLora.Proofs.Projection.AdapterProof.encode ap).Length
        else ""
    let st : ZkLora.Proofs.Projection.CallProof.CallStatement =
        { Digest = Array.create 32 0xAAuy; Shape = shape; Num = num; Den = den; X = xs; Delta = delta; Adapter = c }
    let prove () = match ZkLora.Proofs.Projection.CallProof.prove generators st secret with Ok p -> p | Error e -> failwith e
    sw.Restart()
    let cpuFirst = Process.GetCurrentProcess().TotalProcessorTime
    let mutable proof = prove () // the first proof derives the generators (cold)
    let firstS = sw.Elapsed.TotalSeconds
    let firstCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuFirst).TotalSeconds
    // --samples 0: the first proof only (for very large statements; warm figures are then NaN)
    let samples = defaultArg samplesOverride 1
    let proc = Process.GetCurrentProcess()
    let cpu0 = proc.TotalProcessorTime
    let tp =
        if samples = 0 then { Samples = 0; MedianSeconds = nan; MinSeconds = nan; MaxSeconds = nan }
        else time 0 samples (fun () -> proof <- prove ())
    proc.Refresh()
    let proveCpu = if samples = 0 then nan else (proc.TotalProcessorTime - cpu0).TotalSeconds / float samples
    let verify () = match ZkLora.Proofs.Projection.CallProof.verify generators st proof with Ok() -> () | Error e -> failwith e
    let cpuV = proc.TotalProcessorTime
    let tv = time 0 (max 1 samples) verify
    proc.Refresh()
    let verifyCpu = (proc.TotalProcessorTime - cpuV).TotalSeconds / float (max 1 samples)
    let bytes = ZkLora.Proofs.Projection.CallProof.encode proof
    let batchLine =
        if batch > 1 then
            // `batch` statements with fresh x rows against the same adapter, verified one by one
            // and with CallProof.verifyMany (one shared final MSM)
            let items =
                Array.init batch (fun k ->
                    let xk = Array.init t (fun _ -> Array.init i (fun _ -> v m))
                    let dk = match deltaRows cfg a b xk num den with Ok d -> d | Error e -> failwithf "contract: %s" e
                    let stk = { st with X = xk; Delta = dk; Digest = Array.create 32 (byte k) }
                    stk, (match ZkLora.Proofs.Projection.CallProof.prove generators stk secret with Ok p -> p | Error e -> failwith e))
            let one = Stopwatch.StartNew()
            for (stk, pk) in items do
                match ZkLora.Proofs.Projection.CallProof.verify generators stk pk with Ok() -> () | Error e -> failwith e
            let oneS = one.Elapsed.TotalSeconds
            let many = Stopwatch.StartNew()
            match ZkLora.Proofs.Projection.CallProof.verifyMany generators items with Ok() -> () | Error e -> failwith e
            let manyS = many.Elapsed.TotalSeconds
            sprintf "  batch of %d: verify one by one %7.3f s (%6.3f s/proof), verifyMany %7.3f s (%6.3f s/proof)" batch oneS (oneS / float batch) manyS (manyS / float batch)
        else ""
    let peak = peakWorkingSetMiB ()
    printfn "projection %dx%dx%d rows=%-2d fixed_point=%d,%d,%d commit %6.3f s  first prove %7.2f s (cpu %7.2f s)  warm prove %7.3f s (cpu %6.3f s)  verify %7.3f s (cpu %6.3f s)  proof %6d B  peak %6.0f MiB%s%s"
        i r o t cfg.ScaleBits cfg.ValueBits cfg.IntermediateBits commitS firstS firstCpu tp.MedianSeconds proveCpu tv.MedianSeconds verifyCpu bytes.Length peak adapterLine batchLine
    sprintf "backend=projection shape=%dx%dx%d rows=%d prove_cold_s=%.3f prove_warm_s=%.3f verify_s=%.4f proof_bytes=%d peak_mb=%.0f"
        i r o t firstS tp.MedianSeconds tv.MedianSeconds bytes.Length peak

let private parseShape (s: string) =
    match s.Split 'x' |> Array.map Int32.TryParse with
    | [| (true, i); (true, r); (true, o) |] -> i, r, o
    | _ -> Measure.usageError "lora: --shape must look like 16x2x16, got '%s'" s

let run (args: string[]) =
    let mutable shapes = [ 2, 1, 2, 1; 16, 2, 16, 1; 64, 4, 64, 1 ]
    let mutable custom: (int * int * int) option = None
    let mutable rows = 1
    let mutable samples = None
    let mutable cfg = defaultConfig
    let mutable backend = "plonk"
    let mutable adapterProof = false
    let mutable batch = 1
    let mutable i = 0
    while i < args.Length do
        match args[i] with
        | "--shape" when i + 1 < args.Length ->
            custom <- Some(parseShape args[i + 1])
            i <- i + 2
        | "--rows" when i + 1 < args.Length ->
            rows <- int args[i + 1]
            i <- i + 2
        | "--fixed-point" when i + 1 < args.Length ->
            cfg <-
                match args[i + 1].Split ',' |> Array.map Int32.TryParse with
                | [| (true, sb); (true, vb); (true, ib) |] ->
                    let c = { ScaleBits = sb; ValueBits = vb; IntermediateBits = ib }
                    match validateConfig c with
                    | Ok _ -> c
                    | Error e -> Measure.usageError "lora: --fixed-point %s: %s" args[i + 1] e
                | _ -> Measure.usageError "lora: --fixed-point must look like 16,32,64, got '%s'" args[i + 1]
            i <- i + 2
        | "--backend" when i + 1 < args.Length ->
            backend <-
                match args[i + 1] with
                | "plonk" | "projection" as b -> b
                | other -> Measure.usageError "lora: --backend must be plonk or projection, got '%s'" other
            i <- i + 2
        | "--adapter-proof" ->
            adapterProof <- true
            i <- i + 1
        | "--verify-batch" when i + 1 < args.Length ->
            batch <- max 1 (int args[i + 1])
            i <- i + 2
        | "--samples" when i + 1 < args.Length ->
            samples <- Some(max 0 (int args[i + 1])) // 0: first proof only (projection backend)
            i <- i + 2
        | "--trace" ->
            proverOptions <- { PhaseTimings = Some { new IProgress<Prover.ProverPhase> with member _.Report p = eprintfn "    %-22s %8.3f s" p.Phase p.Seconds } }
            i <- i + 1
        | "--all" ->
            shapes <- shapes @ [ 768, 2, 256, 1; 768, 4, 2304, 16 ]
            i <- i + 1
        | other -> Measure.usageError "lora: unknown option '%s' (use --shape IxRxO [--rows T] [--fixed-point sb,vb,ib] [--samples N] [--trace] [--backend plonk|projection] [--adapter-proof] [--verify-batch K] | --all)" other
    let shapes = match custom with Some(a, b, c) -> [ a, b, c, rows ] | None -> shapes
    let lines = shapes |> List.map (if backend = "projection" then runProjection samples adapterProof batch cfg else runShape samples cfg)
    printfn "%s" (List.last lines)
    0
