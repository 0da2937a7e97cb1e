/// `commit` mode: activation-commitment throughput.
///   - commit: whole pipeline from a JSON file (stream parse + parallel BLAKE3 Merkle);
///   - parse only: the streaming JSON reader with a no-op sink;
///   - hash only: the Merkle root of an in-memory array (leaf + inner hashing).
/// The file mimics `json.dump(tensor.tolist())` of float32 activations: rows of 768
/// values, each a float32 widened to double and printed shortest-round-trip.
/// Options: --values N (default 1000000), --samples S (default 5).
module ZkLora.Bench.CommitBench

open System
open System.Globalization
open System.IO
open System.Text
open System.Threading
open ZkLora.Proofs

let private option (name: string) (fallback: int) (args: string[]) =
    match args |> Array.tryFindIndex ((=) name) with
    | Some i when i + 1 < args.Length -> int args[i + 1]
    | _ -> fallback

let private writeActivations (path: string) (values: float[]) =
    use w = new StreamWriter(path, false, UTF8Encoding(false), 1 <<< 20)
    w.Write("{\"input_data\": [")
    let row = 768
    for i in 0 .. values.Length - 1 do
        if i % row = 0 then w.Write(if i = 0 then "[" else "], [")
        elif i > 0 then w.Write(", ")
        w.Write(values[i].ToString("R", CultureInfo.InvariantCulture))
    if values.Length > 0 then w.Write("]")
    w.Write("]}")

let run (args: string[]) : int =
    let n = option "--values" 1_000_000 args
    let samples = option "--samples" 5 args
    let rng = Random(42)
    let values = Array.init n (fun _ -> float (float32 (rng.NextDouble() * 8.0 - 4.0)))
    let dir = Path.Combine(Path.GetTempPath(), "zklora-bench-commit-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    try
        let path = Path.Combine(dir, "activations.json")
        writeActivations path values
        let mib = float (FileInfo(path).Length) / 1048576.0
        printfn "# values=%d file=%.1f MiB samples=%d" n mib samples
        let nonce = Bytes32.Random()

        let mutable fileRoot = Bytes32.Zero
        let mutable memRoot = Bytes32.Zero
        let commit () =
            match ActivationCommitment.commitFileWithNonce nonce path CancellationToken.None with
            | Ok c -> fileRoot <- c.Root
            | Error e -> failwith (ActivationCommitment.describeFileError e)
        let parse () =
            use s = File.OpenRead path
            match ActivationReader.read s ignore CancellationToken.None with
            | Ok _ -> ()
            | Error e -> failwith (ActivationReader.describe e)
        let hash () = memRoot <- ActivationCommitment.commitValues nonce values
        // Rounds interleave the three measurements, so load from other processes on this
        // shared machine skews them alike instead of hitting one of them.
        let actions = [| commit; parse; hash |]
        for a in actions do a () // warm-up
        let times = Array.init actions.Length (fun _ -> Array.zeroCreate<float> samples)
        for r in 0 .. samples - 1 do
            actions |> Array.iteri (fun i a ->
                let sw = Diagnostics.Stopwatch.StartNew()
                a ()
                times[i][r] <- sw.Elapsed.TotalSeconds)
        let summary (xs: float[]) : Measure.Timing =
            let sorted = Array.sort xs
            { Samples = samples; MedianSeconds = sorted[samples / 2]; MinSeconds = sorted[0]; MaxSeconds = sorted[samples - 1] }
        let commit, parse, hash = summary times[0], summary times[1], summary times[2]
        if fileRoot <> memRoot then failwith "file and in-memory roots differ"

        let rate (t: Measure.Timing) = float n / t.MedianSeconds
        printfn "commit (file -> root)   median %.3f s  (min %.3f, max %.3f)  %.0f values/s  %.1f MiB/s"
            commit.MedianSeconds commit.MinSeconds commit.MaxSeconds (rate commit) (mib / commit.MedianSeconds)
        printfn "parse only              median %.3f s  (min %.3f, max %.3f)  %.0f values/s"
            parse.MedianSeconds parse.MinSeconds parse.MaxSeconds (rate parse)
        printfn "hash only (in memory)   median %.3f s  (min %.3f, max %.3f)  %.0f values/s"
            hash.MedianSeconds hash.MinSeconds hash.MaxSeconds (rate hash)
        printfn "peak working set        %.0f MiB (includes the %.0f MiB input array)" (Measure.peakWorkingSetMiB ()) (float n * 8.0 / 1048576.0)
        printfn "values=%d commit_s=%.3f values_per_s=%.0f" n commit.MedianSeconds (rate commit)
        0
    finally
        Directory.Delete(dir, true)
