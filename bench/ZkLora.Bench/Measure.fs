/// Small, rigorous timing helpers for the quick benchmark modes (the full
/// BenchmarkDotNet suites are run with `-- bdn <filter>`).
module ZkLora.Bench.Measure

open System
open System.Diagnostics

/// A mistake in a mode's command line: reported as a usage error (exit 2), not a crash.
exception UsageError of string

/// Raises a usage error with a formatted message.
let usageError fmt = Printf.ksprintf (fun m -> raise (UsageError m)) fmt

/// Summary of repeated timings of one operation, in seconds.
type Timing =
    { Samples: int
      MedianSeconds: float
      MinSeconds: float
      MaxSeconds: float }

/// Runs `action` `warmup` times untimed, then `samples` times timed; returns median/min/max.
/// The median is robust against the occasional GC pause or scheduler hiccup on a 2-core box.
let time (warmup: int) (samples: int) (action: unit -> unit) : Timing =
    for _ in 1..warmup do action ()
    let times =
        Array.init samples (fun _ ->
            let sw = Stopwatch.StartNew()
            action ()
            sw.Elapsed.TotalSeconds)
    Array.sortInPlace times
    { Samples = samples
      MedianSeconds = times[samples / 2]
      MinSeconds = times[0]
      MaxSeconds = times[samples - 1] }

/// Times a fast operation by running it `inner` times per sample; returns seconds per call.
let timePerCall (warmup: int) (samples: int) (inner: int) (action: unit -> unit) : Timing =
    let t = time warmup samples (fun () -> for _ in 1..inner do action ())
    let n = float inner
    { t with MedianSeconds = t.MedianSeconds / n; MinSeconds = t.MinSeconds / n; MaxSeconds = t.MaxSeconds / n }

/// Peak working set of this process so far, in MiB (Linux: VmHWM from /proc).
let peakWorkingSetMiB () : float =
    let status = "/proc/self/status"
    if IO.File.Exists status then
        IO.File.ReadAllLines status
        |> Array.tryFind (fun l -> l.StartsWith "VmHWM:")
        // "VmHWM:\t13568772 kB": a tab, then spaces only when the number is short
        |> Option.map (fun l -> float (l.Split([| ' '; '\t' |], StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0)
        |> Option.defaultWith (fun () -> float (Process.GetCurrentProcess().PeakWorkingSet64) / 1048576.0)
    else
        float (Process.GetCurrentProcess().PeakWorkingSet64) / 1048576.0

/// Machine description printed at the top of every run, for bench/RESULTS.md.
let machine () =
    sprintf "%s, %d logical cores, %s, .NET %s"
        (Runtime.InteropServices.RuntimeInformation.OSDescription)
        Environment.ProcessorCount
        (Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString())
        (Environment.Version.ToString())
