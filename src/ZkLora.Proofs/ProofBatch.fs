/// Batch proving (docs/design.md §1.2 step 3): one proof per recorded module call, all token rows of
/// the call in one statement, written to the proof directory under the docs/design.md §4.5 names.
///
/// Why it is sound to hand these files to a verifier: each statement is built from the
/// call's transcript entry and the manifest entry (`Statement.ofEntry`), its digest is an
/// instance value of the proof, and the prover refuses (with the MockProver report) any
/// call whose recorded delta is not the committed adapter's exact output — so a wrong
/// delta yields no proof at all, never an invalid-but-written one.
module ZkLora.Proofs.ProofBatch

open System
open System.IO
open System.Numerics
open System.Threading
open System.Threading.Tasks
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Commitment
open ZkLora.Proofs.Circuit

/// The contributor's secret witness for one module: quantized A (rank × in_dim), B
/// (out_dim × rank) and the commitment salt.
type PrivateAdapter =
    { A: BigInteger[][]
      B: BigInteger[][]
      Salt: Fp }

/// Progress of a batch: proofs finished, proofs in total, and the call just finished.
type ProveProgress =
    { Done: int
      Total: int
      Finished: ArtifactNames.ProofKey option }

/// Options of `proveCalls`.
type ProveOptions =
    { /// Most statements proved at once (each proof also parallelises internally).
      MaxDegreeOfParallelism: int
      /// Rough memory budget for concurrent proofs, in bytes; the degree of parallelism is
      /// lowered so that (estimated peak per proof) × degree stays below it.
      MemoryBudgetBytes: int64
      /// Projection backend: most calls of one module in one session per proof (0: all of
      /// them, split only where a proof would exceed the projection policy; 1: one per call).
      ProjectionCallsPerProof: int
      /// Proving keys a `ProverContext` keeps (by circuit id, least recently used evicted).
      KeyCacheSize: int }

/// What a finished batch wrote.
type ProvedCall =
    { Key: ArtifactNames.ProofKey
      CircuitId: string
      StatementPath: string
      ProofPath: string
      MetaPath: string
      Seconds: float }

/// The default options: as many statements at once as processors, a 4096 MiB budget, all
/// calls of a module in a session in one projection proof, 4 cached proving keys. The library
/// reads no environment: hosts map their configuration onto these (the CLI reads
/// `ZKLORA_PROVE_PARALLELISM`, `ZKLORA_PROVE_MEMORY_MB`, `ZKLORA_PROJECTION_CALLS_PER_PROOF`
/// and `ZKLORA_KEY_CACHE_SIZE`).
let defaultOptions () =
    { MaxDegreeOfParallelism = Environment.ProcessorCount
      MemoryBudgetBytes = 4096L * 1048576L
      ProjectionCallsPerProof = 0
      KeyCacheSize = 4 }

/// What a prover keeps between batches, owned by its host: its options, the proving keys by
/// circuit id (a bounded LRU cache, so the second proof of a circuit shape pays no key
/// generation) and the public parameters (commitment generators) its proofs needed so far.
/// Thread-safe. Nothing is kept process-wide: dropping the context frees all of it; two
/// contexts share only what the host gives both (one `PublicParameters`, to derive the
/// generators once).
[<Sealed>]
type ProverContext(options: ProveOptions, parameters: PublicParameters) =
    do
        if options.MaxDegreeOfParallelism < 1 then invalidArg "options" "the degree of parallelism must be at least 1"
        if options.MemoryBudgetBytes < 1L then invalidArg "options" "the memory budget must be positive"
        if options.ProjectionCallsPerProof < 0 then invalidArg "options" "calls per projection proof must be ≥ 0"
        if options.KeyCacheSize < 1 then invalidArg "options" "the proving-key cache must hold at least one key"
    let keys = Proving.KeyCache<string, Proving.VestaProvingKey>(options.KeyCacheSize)
    /// A context with its own public parameters.
    new(options: ProveOptions) = ProverContext(options, PublicParameters())
    /// A context with `defaultOptions ()` and its own public parameters.
    new() = ProverContext(defaultOptions ())
    member _.Options = options
    /// The commitment parameters (Pedersen generators, PLONK IPA parameters) of this context.
    member _.Parameters = parameters
    /// The proving keys generated so far, by circuit id.
    member _.ProvingKeys = keys

/// The circuit shape of a call proved with a manifest adapter.
let shapeOf (e: TranscriptEntry) (a: ManifestAdapter) : LoraCircuit.LoraCircuitShape =
    let rows, _ = ArtifactCommon.rowsAndCols e.InputShape
    { InDim = a.Shape.InDim; Rank = a.Shape.Rank; OutDim = a.Shape.OutDim
      Rows = int (min rows (int64 Int32.MaxValue)); Config = a.FixedPoint; Scaling = a.Scaling }

/// Estimated peak bytes of one proof of a plan: advice plus argument columns in values and
/// coefficients, the quotient on the extended domain, with slack for the transient FFTs.
/// Calibration: the structural count (× 6 field elements of 32 bytes per column row) was measured
/// 2.4× too low (a 1024-row distilgpt2 c_attn call: 6.7 GB measured RSS against 2.58 GiB
/// estimated, issue 15), so the count is scaled by 15 instead of 6 (2.5×). The proving-key cache
/// (`ProverContext.ProvingKeys`) is not included: it stays resident after proving.
let estimatedProofBytes (p: LoraCircuit.LoraPlan) =
    let columns = int64 (LoraCircuit.adviceColumns p + p.Lanes + 16)
    columns * (1L <<< p.K) * 32L * 15L

let private describeKey (k: ArtifactNames.ProofKey) = sprintf "%s.%s.%d" k.SessionId k.ModuleName k.InvocationIndex

/// Everything one call needs before the proving system runs; all checks that can fail
/// cheaply happen here, so a batch never starts proving when one of its calls is bad.
type private Prepared =
    { Entry: TranscriptEntry
      Statement: Statement
      Digest: string
      Plan: LoraCircuit.LoraPlan
      CircuitId: string
      Witness: LoraCircuit.LoraWitness
      Instances: Fp[][] }

let private firstDifference (recorded: BigInteger[][]) (computed: BigInteger[][]) =
    Seq.init recorded.Length id
    |> Seq.tryPick (fun t ->
        Array.zip recorded[t] computed[t]
        |> Array.tryFindIndex (fun (r, c) -> r <> c)
        |> Option.map (fun k -> t, k, recorded[t][k], computed[t][k]))

let private prepare (manifest: Manifest) (adapters: Map<string, PrivateAdapter>) (e: TranscriptEntry) : Result<Prepared, string> =
    let key = describeKey (TranscriptEntry.key e)
    let ctx r = r |> Result.mapError (fun msg -> sprintf "call %s: %s" key msg)
    ctx <| result {
        let! a =
            match Manifest.tryFind e.ModuleName manifest with
            | Some a -> Ok a
            | None -> Error(sprintf "module '%s' is not in the manifest" e.ModuleName)
        let! w =
            match adapters.TryFind e.ModuleName with
            | Some w -> Ok w
            | None -> Error(sprintf "no private adapter (A, B, salt) for module '%s'" e.ModuleName)
        do! Statement.checkEntryAgainstAdapter e a
        // The witness must open the manifest's commitment, or the proof would be for a
        // different adapter than the one the verifier pinned.
        let! c = AdapterCommitment.commit a.Shape a.FixedPoint a.Scaling w.Salt w.A w.B
        do! if ArtifactCommon.PoseidonCommitment c = a.Commitment then Ok() else Error "the private adapter (A, B, salt) does not open the manifest's commitment"
        let! p = LoraCircuit.plan (shapeOf e a)
        let cid = LoraCircuit.circuitId p
        let! s = Statement.ofEntry e a cid
        let! digest = Statement.digest s
        let! wit = LoraCircuit.witness p.Shape w.A w.B w.Salt e.X
        // Native consistency report first (clear and cheap); the prover's own satisfaction
        // check (MockProver) then guards the circuit itself.
        do!
            match firstDifference e.Delta wit.Delta with
            | Some(t, k, r, cv) ->
                Error(sprintf "the recorded delta differs from the committed adapter's output at row %d, column %d (recorded %O, adapter gives %O); no valid proof exists for this call" t k r cv)
            | None -> Ok()
        // Instances from the RECORDED values (what the verifier will use).
        let! commitment = Manifest.poseidonCommitment a
        let! inst = LoraCircuit.instances p.Shape e.X e.Delta commitment digest
        return { Entry = e; Statement = s; Digest = digest; Plan = p; CircuitId = cid; Witness = wit; Instances = inst }
    }

let private writeArtifacts (proofDir: string) (p: Prepared) (proof: byte[]) : Result<string * string * string, string> =
    result {
        let key = Statement.key p.Statement
        let! sName = ArtifactNames.statementFileName key
        let! pName = ArtifactNames.proofFileName key
        let! mName = ArtifactNames.metaFileName key
        let sPath, pPath, mPath = Path.Combine(proofDir, sName), Path.Combine(proofDir, pName), Path.Combine(proofDir, mName)
        let! meta = ProofMeta.create p.Statement (ReadOnlySpan proof)
        let! sText = Statement.toJson p.Statement |> Result.mapError (fun e -> sprintf "cannot write statement: %s" e)
        let! mText = ProofMeta.toJson meta |> Result.mapError (fun e -> sprintf "cannot write proof meta: %s" e)
        // proof, then statement, then meta (the meta binds the other two by digest); each is
        // written under a temporary name and renamed into place, never over an existing file.
        do! ArtifactCommon.writeNewFileAtomic "proof" pPath proof
        do! ArtifactCommon.writeNewFileAtomic "statement" sPath (Text.Encoding.ASCII.GetBytes sText)
        do! ArtifactCommon.writeNewFileAtomic "proof meta" mPath (Text.Encoding.ASCII.GetBytes mText)
        return sPath, pPath, mPath
    }

/// One unit of proving work: a PLONK call, or a group of calls of one module proved together
/// by the projection backend.
type private Job =
    | PlonkJob of Prepared
    | ProjectionJob of ManifestAdapter * ProjectionArtifacts.ProjectionSecret * TranscriptEntry list

let private jobKey (j: Job) =
    match j with
    | PlonkJob p -> Statement.key p.Statement
    | ProjectionJob(_, _, es) -> TranscriptEntry.key (es |> List.minBy (fun e -> e.InvocationIndex))

let private jobCircuit (j: Job) =
    match j with
    | PlonkJob p -> p.CircuitId
    | ProjectionJob(a, _, es) ->
        ProjectionArtifacts.layoutId a.Shape a.FixedPoint a.Scaling (es |> List.sumBy (fun e -> fst (ArtifactCommon.rowsAndCols e.InputShape)))

let private jobBytes (j: Job) =
    match j with
    | PlonkJob p -> estimatedProofBytes p.Plan
    | ProjectionJob(a, _, es) ->
        ProjectionArtifacts.estimatedProofBytes a.Shape a.FixedPoint a.Scaling (es |> List.sumBy (fun e -> fst (ArtifactCommon.rowsAndCols e.InputShape)))

/// The cheap checks of a projection call before any proving: the module is a projection
/// module with a private adapter, and the recorded delta is the adapter's exact output.
let private checkProjectionCall (a: ManifestAdapter) (w: PrivateAdapter) (e: TranscriptEntry) : Result<unit, string> =
    let key = describeKey (TranscriptEntry.key e)
    result {
        do! Statement.checkEntryAgainstAdapter e a
        let! computed = FixedPoint.deltaRows a.FixedPoint w.A w.B e.X a.Scaling.Num a.Scaling.Den
        match firstDifference e.Delta computed with
        | Some(t, k, r, cv) ->
            return! Error(sprintf "the recorded delta differs from the committed adapter's output at row %d, column %d (recorded %O, adapter gives %O); no valid proof exists for this call" t k r cv)
        | None -> return ()
    }
    |> Result.mapError (fun m -> sprintf "call %s: %s" key m)

let private projectionJobs (options: ProveOptions) (manifest: Manifest) (adapters: Map<string, PrivateAdapter>) (calls: TranscriptEntry list) : Result<Job list, string> =
    calls
    |> List.groupBy (fun e -> e.SessionId, e.ModuleName)
    |> traverse (fun _ ((_, moduleName), es) ->
        result {
            let! a = match Manifest.tryFind moduleName manifest with Some a -> Ok a | None -> Error(sprintf "module '%s' is not in the manifest" moduleName)
            let! w = match adapters.TryFind moduleName with Some w -> Ok w | None -> Error(sprintf "no private adapter (A, B, blind) for module '%s'" moduleName)
            let! _ = es |> traverse (fun _ e -> checkProjectionCall a w e)
            let secret : ProjectionArtifacts.ProjectionSecret = { A = w.A; B = w.B; Blind = w.Salt }
            let groups = ProjectionArtifacts.groupCalls a options.ProjectionCallsPerProof options.MemoryBudgetBytes es
            // every group must make a statement (and the blind must open C_W) before proving starts
            let! _ = groups |> traverse (fun _ g -> ProjectionArtifacts.statementOf a g)
            return groups |> List.map (fun g -> ProjectionJob(a, secret, g))
        })
    |> Result.map List.concat

/// Proves every call (transcript entries as the contributor recorded them) with the private
/// adapters, writing `<session>.<module>.<index>.zklora.{statement.json,proof,meta.json}` into
/// `proofDir`. Every call is checked first (manifest entry, opening of the commitment, exact
/// delta); then statements are proved in parallel (bounded by the context's options and the
/// memory estimate), keys coming from the context's cache. Calls of modules whose manifest entry is committed
/// for the projection backend are proved by it, grouped per (session, module) as
/// `ProjectionCallsPerProof` says (one statement, named after its first call, covers the
/// group); `PrivateAdapter.Salt` is then the Pedersen blind. Returns what was written, one
/// item per proof in input order of their first call, or the first error (by input order).
let proveCalls
    (context: ProverContext)
    (manifest: Manifest)
    (adapters: Map<string, PrivateAdapter>)
    (calls: TranscriptEntry list)
    (proofDir: string)
    (progress: ProveProgress -> unit)
    (cancellation: CancellationToken)
    : Result<ProvedCall list, string> =
    let options = context.Options
    result {
        do! if options.MaxDegreeOfParallelism < 1 then Error "the degree of parallelism must be at least 1" else Ok()
        do! if options.ProjectionCallsPerProof < 0 then Error "calls per projection proof must be ≥ 0" else Ok()
        do!
            match calls |> List.countBy TranscriptEntry.key |> List.tryFind (fun (_, n) -> n > 1) with
            | Some(k, _) -> Error(sprintf "call %s appears more than once" (describeKey k))
            | None -> Ok()
        let isProjection (e: TranscriptEntry) =
            match Manifest.tryFind e.ModuleName manifest with
            | Some a -> ArtifactCommon.backendOfCommitment a.Commitment = ArtifactCommon.Projection
            | None -> false
        let projectionCalls, plonkCalls = calls |> List.partition isProjection
        let! prepared = plonkCalls |> traverse (fun _ e -> prepare manifest adapters e)
        let! projection = projectionJobs options manifest adapters projectionCalls
        do!
            try
                Directory.CreateDirectory proofDir |> ignore
                Ok()
            with
            | :? IOException as ex -> Error(sprintf "cannot create the proof directory %s: %s" proofDir ex.Message)
            | :? UnauthorizedAccessException as ex -> Error(sprintf "cannot create the proof directory %s: %s" proofDir ex.Message)
        // input order of each job's first call
        let position = calls |> List.mapi (fun i e -> TranscriptEntry.key e, i) |> Map.ofList
        let items =
            (List.map PlonkJob prepared @ projection)
            |> List.sortBy (fun j -> position[jobKey j])
            |> Array.ofList
        let total = items.Length
        let biggest = if total = 0 then 0L else items |> Array.map jobBytes |> Array.max
        let byMemory = if biggest <= 0L then total else int (max 1L (options.MemoryBudgetBytes / biggest))
        let degree = max 1 (min options.MaxDegreeOfParallelism (min byMemory (max 1 total)))
        let results = Array.zeroCreate<Result<ProvedCall, string>> total
        let finished = ref 0
        let failed = ref 0
        let po = ParallelOptions(MaxDegreeOfParallelism = degree, CancellationToken = cancellation)
        let proveOne (job: Job) : Result<ProvedCall, string> =
            let clock = Diagnostics.Stopwatch.StartNew()
            match job with
            | PlonkJob p ->
                result {
                    let! pk = Proving.cachedProvingKey context.Parameters.Plonk context.ProvingKeys p.CircuitId p.Plan.K (fun () -> LoraCircuit.circuit p.Plan None)
                    let! proof =
                        Proving.prove context.Parameters.Plonk pk (LoraCircuit.circuit p.Plan (Some p.Witness)) p.Instances
                        |> Result.mapError (fun e -> sprintf "proving failed: %s" e)
                    let! sPath, pPath, mPath = writeArtifacts proofDir p proof
                    return { Key = Statement.key p.Statement; CircuitId = p.CircuitId
                             StatementPath = sPath; ProofPath = pPath; MetaPath = mPath
                             Seconds = clock.Elapsed.TotalSeconds }
                }
            | ProjectionJob(a, w, es) ->
                result {
                    let! g = ProjectionArtifacts.proveGroup context.Parameters.Pedersen a w es |> Result.mapError (fun e -> sprintf "proving failed: %s" e)
                    let! sPath, pPath, mPath = ProjectionArtifacts.writeGroup proofDir g
                    return { Key = ProjectionArtifacts.key g.Statement; CircuitId = jobCircuit job
                             StatementPath = sPath; ProofPath = pPath; MetaPath = mPath
                             Seconds = clock.Elapsed.TotalSeconds }
                }
        let run () =
            // Statements of one circuit next to each other, so the key is generated once and
            // then reused while it is hot in the cache.
            let order = Array.init total id |> Array.sortBy (fun i -> jobCircuit items[i], i)
            Parallel.ForEach(order, po, fun (i: int) (state: ParallelLoopState) ->
                if Volatile.Read(&failed.contents) = 0 then
                    let job = items[i]
                    let r = proveOne job |> Result.mapError (fun e -> sprintf "call %s: %s" (describeKey (jobKey job)) e)
                    results[i] <- r
                    match r with
                    | Ok c ->
                        let d = Interlocked.Increment(&finished.contents)
                        progress { Done = d; Total = total; Finished = Some c.Key }
                    | Error _ ->
                        Interlocked.Increment(&failed.contents) |> ignore
                        state.Stop())
            |> ignore
        do!
            try
                progress { Done = 0; Total = total; Finished = None }
                run ()
                Ok()
            with :? OperationCanceledException -> Error "proving was cancelled"
        match results |> Array.tryPick (fun r -> match r with Error e -> Some e | _ -> None) with
        | Some e -> return! Error e
        | None -> return results |> Array.map (function Ok c -> c | Error e -> failwith e) |> List.ofArray
    }
