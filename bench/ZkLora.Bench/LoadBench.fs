/// `load` mode: the contributor server under concurrent clients, on 127.0.0.1 only (the demo
/// adapter, 32 → 96, rank 4). Each client opens its own session and sends one-row lora_forward
/// calls back to back for the measured duration; reported per concurrency level: requests/s,
/// latency percentiles (p50/p95/p99) and the process's peak RSS (server and clients share the
/// process). Durable (write-ahead log, fsync per call) and non-durable servers are both measured.
/// Options: --seconds S per level (default 3), --clients 1,4,16,64 (default), --durable-only.
/// No proving happens (sessions are never ended).
module ZkLora.Bench.LoadBench

open System
open System.Diagnostics
open System.Net
open System.Threading
open System.Threading.Tasks
open ZkLora.Api.Multiparty
open ZkLora.Model

let private option (name: string) (fallback: string) (args: string[]) =
    match args |> Array.tryFindIndex ((=) name) with
    | Some i when i + 1 < args.Length -> args[i + 1]
    | Some _ -> Measure.usageError "%s needs a value" name
    | None -> fallback

let private percentile (sorted: float[]) (p: float) =
    if sorted.Length = 0 then nan
    else sorted[min (sorted.Length - 1) (int (Math.Ceiling(p / 100.0 * float sorted.Length)) - 1 |> max 0)]

let private level (endpoint: ContributorEndpoint) (clients: int) (seconds: float) (tag: string) (short: string) =
    let module0 = DemoModel.AdapterModules[0]
    let row = [| Array.init DemoModel.EmbeddingSize (fun i -> float i / 100.0) |]
    let stop = Stopwatch.StartNew()
    let latencies = Collections.Concurrent.ConcurrentBag<float[]>()
    let worker (c: int) =
        task {
            use conn = new ContributorConnection(endpoint)
            let session = sprintf "load-%s-%d-%d-%s" short clients c (Guid.NewGuid().ToString("N").Substring(0, 8))
            let mine = Collections.Generic.List<float>()
            while stop.Elapsed.TotalSeconds < seconds do
                let t = Stopwatch.GetTimestamp()
                let! _ = conn.LoraForwardAsync(session, module0, [| 1L; int64 DemoModel.EmbeddingSize |], row, CancellationToken.None)
                mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds)
            latencies.Add(mine.ToArray())
        }
    Task.WhenAll(Array.init clients (fun c -> worker c :> Task)).GetAwaiter().GetResult()
    let elapsed = stop.Elapsed.TotalSeconds
    let all = latencies |> Seq.concat |> Seq.toArray |> Array.sort
    printfn "| %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.0f |"
        tag clients all.Length (float all.Length / elapsed) (percentile all 50.0) (percentile all 95.0) (percentile all 99.0) (Measure.peakWorkingSetMiB ())

let run (args: string[]) : int =
    let seconds = float (option "--seconds" "3" args)
    let clients =
        (option "--clients" "1,4,16,64" args).Split(',', StringSplitOptions.RemoveEmptyEntries)
        |> Array.map (fun s -> match Int32.TryParse s with | true, n when n >= 1 && n <= 64 -> n | _ -> Measure.usageError "--clients: integers in 1..64, comma-separated")
    let durableOnly = args |> Array.contains "--durable-only"
    let dir = IO.Path.Combine(IO.Path.GetTempPath(), "zklora-bench-load-" + Guid.NewGuid().ToString("N"))
    try
        let paths = DemoModel.Create(IO.Path.Combine(dir, "demo"))
        let adapter = LoraAdapter.Load(paths.AdapterDirectory)
        printfn "# load: demo adapter (32 -> 96, rank 4), one-row lora_forward calls, %.0f s per level, loopback only" seconds
        printfn "| server | clients | requests | requests/s | p50 ms | p95 ms | p99 ms | peak RSS MiB |"
        printfn "|---|---|---|---|---|---|---|---|"
        for durable in (if durableOnly then [ true ] else [ true; false ]) do
            let tag = if durable then "durable (fsync/call)" else "in memory"
            let server =
                LoRAServer.Create(adapter, IO.Path.Combine(dir, (if durable then "durable" else "memory")),
                    LoRAServerOptions(Durable = durable, MaxOpenSessions = 1024, MaxOpenSessionsPerClient = 1024,
                                      MaxTotalRecordedValues = (1L <<< 30), SessionIdleTimeout = Timeout.InfiniteTimeSpan))
            use socket = new LoRAServerSocket(server, IPEndPoint(IPAddress.Loopback, 0),
                                              LoRAServerSocketOptions(MaxConnections = 128, MaxConnectionsPerClient = 128))
            socket.StartAsync().GetAwaiter().GetResult()
            let endpoint = ContributorEndpoint("127.0.0.1", socket.LocalEndPoint.Port)
            for n in clients do level endpoint n seconds tag (if durable then "d" else "m")
        0
    finally
        try IO.Directory.Delete(dir, true) with _ -> ()
