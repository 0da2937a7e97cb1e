/// Batch verification (docs/design.md §1.2 step 4): every proof artifact against B's transcript and the
/// manifest the verifier pinned before inference.
///
/// Security argument, in the order of the checks:
/// - parameter policy: every fixed-point config and scaling the transcript's calls use (and
///   the pinned manifest's entries for those modules) lies within the verifier's
///   `ParameterPolicy` before any proof file is read (the contributor chose them);
/// - coverage: the set of (session, module, index) keys of the statements in the proof
///   directory, for the transcript's sessions, equals the transcript's set, and each
///   statement's content carries the key of its file name (so no row is unproved and no
///   statement is counted twice);
/// - statement match: every field of a statement equals the transcript entry (x and delta
///   value by value) and the pinned manifest entry (shape, config, scaling, rank,
///   commitment); the circuit id is recomputed from those, never taken from the files;
/// - integrity: the statement digest is recomputed, the meta file's digests must match the
///   statement and the proof bytes;
/// - native bounds: |x|, |δ| ≤ value_bound (the circuit's soundness assumes it, it does not
///   range-check public values);
/// - the proof verifies for instances rebuilt from the TRANSCRIPT values, the pinned
///   commitment and the recomputed digest, under a key derived from the recomputed circuit.
/// Nothing here needs the weights, the salts or TorchSharp.
///
/// Every verifying function takes the host's `ILogger` (`NullLogger.Instance` for none): it receives
/// one structured message per step that passed (information) and per thing skipped (warning),
/// see `VerifyLog`; failures are the returned `Error`, not log messages. Nothing is written to the console.
module ZkLora.Proofs.ProofVerify

open System
open System.Collections.Generic
open System.IO
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs.Circuit
open ZkLora.Math.Commitment
open Microsoft.Extensions.Logging
open Microsoft.Extensions.Logging.Abstractions

/// Why verification failed.
type VerifyFailureKind =
    /// A file (transcript, manifest, proof directory) is missing or malformed.
    | InvalidInput
    /// A transcript row has no proof, or a statement is extra or duplicated.
    | Coverage
    /// A statement field differs from the transcript entry.
    | StatementMismatch
    /// A module is absent from the pinned manifest, or its commitment/shape/config/scaling differs.
    | ManifestMismatch
    /// A statement, meta or proof file was altered (digests do not match).
    | Tampered
    /// A public value lies outside ±value_bound.
    | OutOfBounds
    /// The zero-knowledge proof does not verify.
    | InvalidProof
    /// A module's fixed-point config or scaling lies outside the verifier's parameter policy.
    | OutsidePolicy
    /// The one-time adapter proof of a projection manifest is missing, malformed, for another
    /// manifest, or does not verify (or was not verified before an in-memory batch).
    | InvalidAdapterProof

type VerifyFailure = { Kind: VerifyFailureKind; Message: string }

type VerifySummary =
    { Proofs: int
      Circuits: int
      Seconds: float }

/// Maps f over a list, stopping at the first error.
let private traverseAll (f: 'a -> Result<'b, 'e>) (xs: 'a list) : Result<'b list, 'e> =
    let rec go acc xs =
        match xs with
        | [] -> Ok(List.rev acc)
        | x :: rest ->
            match f x with
            | Ok y -> go (y :: acc) rest
            | Error e -> Error e
    go [] xs

let private fail kind msg : Result<'a, VerifyFailure> = Error { Kind = kind; Message = msg }
let private tag kind (r: Result<'a, string>) = r |> Result.mapError (fun m -> { Kind = kind; Message = m })

let private describeKey (k: ArtifactNames.ProofKey) = sprintf "%s.%s.%d" k.SessionId k.ModuleName k.InvocationIndex

/// Options of a `VerifierContext`: the parameter policy every module must satisfy (checked
/// before any proof file is read) and how many verifying keys the context keeps (least
/// recently used evicted). The host chooses them (the CLI reads `ZKLORA_VK_CACHE_SIZE`).
type VerifierOptions =
    { Policy: ParameterPolicy.ParameterPolicy
      VerifyingKeyCacheSize: int }

[<RequireQualifiedAccess>]
module VerifierOptions =
    /// The standard policy and 16 verifying keys.
    let standard = { Policy = ParameterPolicy.standard; VerifyingKeyCacheSize = 16 }

/// What a verifier keeps between verifications, owned by its host: verifying keys by circuit
/// id (a bounded LRU cache: keys are a deterministic function of the circuit, so the verifier
/// derives them itself), the digests of projection manifests whose one-time adapter proofs
/// verified, and the public parameters (commitment generators) its verifications needed so far.
/// Thread-safe. Nothing is kept process-wide: dropping the context frees all of it; two
/// contexts share only what the host gives both (one `PublicParameters`).
[<Sealed>]
type VerifierContext
    private
    (
        options: VerifierOptions,
        parameters: PublicParameters,
        keys: Proving.KeyCache<string, Proving.VestaVerifyingKey>,
        adapterProofs: Collections.Concurrent.ConcurrentDictionary<string, bool>
    ) =
    /// A context with `options`, the host's public parameters and empty caches.
    new(options: VerifierOptions, parameters: PublicParameters) =
        if options.VerifyingKeyCacheSize < 1 then invalidArg "options" "the verifying-key cache must hold at least one key"
        if isNull (box parameters) then nullArg "parameters"
        VerifierContext(
            options,
            parameters,
            Proving.KeyCache<string, Proving.VestaVerifyingKey>(options.VerifyingKeyCacheSize),
            Collections.Concurrent.ConcurrentDictionary<string, bool>(StringComparer.Ordinal))
    /// A context with `options`, its own public parameters and empty caches.
    new(options: VerifierOptions) = VerifierContext(options, PublicParameters())
    /// A context with the standard options (`VerifierOptions.standard`).
    new() = VerifierContext(VerifierOptions.standard)
    member _.Options = options
    member _.Policy = options.Policy
    /// The commitment parameters (Pedersen generators, PLONK IPA parameters) of this context.
    member _.Parameters = parameters
    /// The verifying keys derived so far, by circuit id.
    member _.VerifyingKeys = keys
    /// Digests of the projection manifests whose adapter proofs verified in this context.
    member internal _.VerifiedAdapterProofs = adapterProofs
    /// The same caches under another parameter policy (a host that verifies with several
    /// policies keeps one set of keys; the policy is still checked on every verification).
    member _.WithPolicy(policy: ParameterPolicy.ParameterPolicy) =
        VerifierContext({ options with Policy = policy }, parameters, keys, adapterProofs)

/// A context with the standard options but `policy`.
let contextWithPolicy (policy: ParameterPolicy.ParameterPolicy) =
    VerifierContext({ VerifierOptions.standard with Policy = policy })

/// The verifying key of a plan from the context's cache (`Keys.verifyingKey`: only what the
/// verifying key holds, derived on first use).
let verifyingKey (context: VerifierContext) (p: LoraCircuit.LoraPlan) : Result<Proving.VestaVerifyingKey, string> =
    Proving.cachedVerifyingKey context.Parameters.Plonk context.VerifyingKeys (LoraCircuit.circuitId p) p.K (fun () -> LoraCircuit.circuit p None)

type private Artifact =
    { Key: ArtifactNames.ProofKey
      Statement: string option
      Proof: string option
      Meta: string option }

/// Lists the artifacts of a proof directory by key; other files are ignored, but a file with
/// an artifact suffix and a malformed name is an error.
let private scan (proofDir: string) : Result<Map<ArtifactNames.ProofKey, Artifact>, VerifyFailure> =
    if File.Exists proofDir then fail InvalidInput (sprintf "proof directory %s is a file, not a directory" proofDir)
    elif not (Directory.Exists proofDir) then fail InvalidInput (sprintf "proof directory %s does not exist" proofDir)
    else
        let files =
            try Ok(Directory.GetFiles proofDir |> Array.map Path.GetFileName |> Array.sort)
            with
            | :? IOException as ex -> Error ex.Message
            | :? UnauthorizedAccessException as ex -> Error ex.Message
        match files with
        | Error e -> fail InvalidInput (sprintf "cannot list proof directory %s: %s" proofDir e)
        | Ok files ->
            let isArtifact (f: string) =
                [ ArtifactNames.statementSuffix; ArtifactNames.proofSuffix; ArtifactNames.metaSuffix ]
                |> List.exists (fun s -> f.EndsWith(s, StringComparison.Ordinal))
            files
            |> Array.filter isArtifact
            |> Array.fold (fun acc f ->
                acc
                |> Result.bind (fun (m: Map<_, Artifact>) ->
                    match ArtifactNames.tryParseFileName f with
                    | Error e -> fail InvalidInput (sprintf "proof directory: %s" e)
                    | Ok(k, suffix) ->
                        let a = m.TryFind k |> Option.defaultValue { Key = k; Statement = None; Proof = None; Meta = None }
                        let path = Some(Path.Combine(proofDir, f))
                        let a =
                            if suffix = ArtifactNames.statementSuffix then { a with Statement = path }
                            elif suffix = ArtifactNames.proofSuffix then { a with Proof = path }
                            else { a with Meta = path }
                        Ok(m.Add(k, a)))) (Ok Map.empty)

let private readBytes (what: string) (path: string) = SafeFile.readBytes what ArtifactCommon.maxArtifactBytes path

/// One checked statement, ready for the proof check.
type private Checked =
    { Key: ArtifactNames.ProofKey
      Plan: LoraCircuit.LoraPlan
      Instances: Fp[][]
      Proof: byte[] }

let private checkOne (entry: TranscriptEntry) (manifest: Manifest) (a: Artifact) : Result<Checked, VerifyFailure> =
    let key = describeKey a.Key
    let ctx (r: Result<'a, VerifyFailure>) = r |> Result.mapError (fun f -> { f with Message = sprintf "%s: %s" key f.Message })
    ctx <| result {
        let! sPath = match a.Statement with Some p -> Ok p | None -> fail Coverage "the statement file is missing"
        let! pPath = match a.Proof with Some p -> Ok p | None -> fail Coverage "the proof file is missing"
        let! mPath = match a.Meta with Some p -> Ok p | None -> fail Coverage "the meta file is missing"
        let! adapter =
            match Manifest.tryFind entry.ModuleName manifest with
            | Some ad -> Ok ad
            | None -> fail ManifestMismatch (sprintf "module '%s' is not in the pinned manifest" entry.ModuleName)
        do! Statement.checkEntryAgainstAdapter entry adapter |> tag ManifestMismatch
        // A statement whose digest field does not match its content was altered.
        let! st = Statement.readFile sPath |> tag Tampered
        do!
            if Statement.key st <> a.Key then
                fail Coverage (sprintf "the statement file covers %s, not the entry its name says (a duplicate or misplaced statement)" (describeKey (Statement.key st)))
            else Ok()
        // A statement of another shape is a mismatch, not a bound violation (its row count differs).
        do!
            if st.InputShape <> entry.InputShape then fail StatementMismatch (sprintf "the statement's input_shape [%s] differs from the transcript's [%s]" (String.Join(", ", st.InputShape)) (String.Join(", ", entry.InputShape)))
            elif st.OutputShape <> entry.OutputShape then fail StatementMismatch (sprintf "the statement's output_shape [%s] differs from the transcript's [%s]" (String.Join(", ", st.OutputShape)) (String.Join(", ", entry.OutputShape)))
            else Ok()
        do! LoraCircuit.checkPublicBounds (ProofBatch.shapeOf entry adapter) st.X st.Delta |> tag OutOfBounds
        do! LoraCircuit.checkPublicBounds (ProofBatch.shapeOf entry adapter) entry.X entry.Delta |> tag OutOfBounds
        do!
            match Statement.checkAgainst entry adapter st with
            | Ok() -> Ok()
            | Error(DiffersFromManifest m) -> fail ManifestMismatch m
            | Error(DiffersFromEntry m) -> fail StatementMismatch m
        let! plan = LoraCircuit.plan (ProofBatch.shapeOf entry adapter) |> tag ManifestMismatch
        let cid = LoraCircuit.circuitId plan
        do!
            if st.CircuitId <> cid then fail StatementMismatch (sprintf "statement circuit id '%s' differs from the circuit for this entry, '%s'" st.CircuitId cid)
            else Ok()
        let! proof = readBytes "proof" pPath |> tag InvalidInput
        let! meta = ProofMeta.readFile mPath |> tag Tampered
        do! ProofMeta.check meta st (ReadOnlySpan proof) |> tag Tampered
        let! digest = Statement.digest st |> tag Tampered
        let! commitment = Manifest.poseidonCommitment adapter |> tag ManifestMismatch
        let! inst = LoraCircuit.instances plan.Shape entry.X entry.Delta commitment digest |> tag InvalidInput
        return { Key = a.Key; Plan = plan; Instances = inst; Proof = proof }
    }

/// Artifacts of several proof directories (one per contributor); a key found in two
/// directories is a duplicate statement.
let private scanAll (proofDirs: string list) : Result<Map<ArtifactNames.ProofKey, Artifact>, VerifyFailure> =
    if proofDirs.IsEmpty then fail InvalidInput "no proof directory given"
    else
        proofDirs
        |> traverseAll (fun d -> scan d |> Result.map (fun m -> d, m))
        |> Result.bind (fun maps ->
            maps
            |> List.fold (fun acc (dir, m) ->
                acc
                |> Result.bind (fun (all: Map<ArtifactNames.ProofKey, Artifact * string>) ->
                    match m |> Map.toList |> List.tryFind (fun (k, _) -> all.ContainsKey k) with
                    | Some(k, _) ->
                        fail Coverage (sprintf "duplicate statement: %s appears in both %s and %s" (describeKey k) (snd all[k]) dir)
                    | None -> Ok(m |> Map.fold (fun (a: Map<_, _>) k v -> a.Add(k, (v, dir))) all))) (Ok Map.empty)
            |> Result.map (Map.map (fun _ (a, _) -> a)))

/// The union of several pinned manifests (one per contributor); a module pinned twice is an error.
let unionManifests (manifests: Manifest list) : Result<Manifest, VerifyFailure> =
    if manifests.IsEmpty then fail InvalidInput "no pinned manifest given"
    else
        let adapters = manifests |> List.collect (fun m -> m.Adapters)
        match adapters |> List.countBy (fun a -> a.ModuleName) |> List.tryFind (fun (_, n) -> n > 1) with
        | Some(name, _) -> fail InvalidInput (sprintf "module '%s' is pinned by more than one manifest" name)
        | None -> Ok { Adapters = adapters }

/// The projection backend's own policy (docs/projection-protocol.md §2) for a projection entry.
let private projectionPolicy (a: ManifestAdapter) : Result<unit, string> =
    match a.Commitment with
    | ArtifactCommon.PoseidonCommitment _ -> Ok()
    | ArtifactCommon.PedersenCommitment _ ->
        Projection.ProjectionCommon.Policy.checkConfig a.FixedPoint
        |> Result.bind (fun () -> Projection.ProjectionCommon.Policy.checkScaling a.Scaling.Num a.Scaling.Den)
        |> Result.bind (fun () -> Projection.ProjectionCommon.Policy.checkShape a.Shape.InDim a.Shape.Rank a.Shape.OutDim)

/// The policy check of every module the transcript uses: the parameters of its calls and of
/// its pinned manifest entry. Logs each module's config and scaling once.
let private checkPolicy (policy: ParameterPolicy.ParameterPolicy) (transcript: InferenceTranscript) (manifest: Manifest) (logger: ILogger) =
    let modules = transcript.Entries |> List.map (fun e -> e.ModuleName) |> List.distinct
    result {
        do! ParameterPolicy.validate policy |> Result.map ignore |> tag InvalidInput
        do!
            transcript.Entries
            |> traverseAll (fun e ->
                ParameterPolicy.check policy e.FixedPoint e.Scaling
                |> Result.mapError (fun m -> { Kind = OutsidePolicy; Message = sprintf "%s: %s" (describeKey (TranscriptEntry.key e)) m }))
            |> Result.map ignore
        do!
            modules
            |> traverseAll (fun name ->
                match Manifest.tryFind name manifest with
                | None -> Ok() // reported as a manifest mismatch with the statement's context
                | Some a ->
                    match ParameterPolicy.check policy a.FixedPoint a.Scaling |> Result.bind (fun () -> projectionPolicy a) with
                    | Ok() -> Ok(VerifyLog.modulePolicyChecked logger name a.FixedPoint a.Scaling)
                    | Error m -> fail OutsidePolicy (sprintf "pinned manifest entry '%s': %s" name m))
            |> Result.map ignore
    }

/// Checks every entry of a pinned manifest against the policy (and the projection policy for
/// projection entries) — before any proof of it is read.
let private checkManifestPolicy (policy: ParameterPolicy.ParameterPolicy) (m: Manifest) =
    result {
        do! ParameterPolicy.validate policy |> Result.map ignore |> tag InvalidInput
        do!
            m.Adapters
            |> traverseAll (fun a ->
                ParameterPolicy.check policy a.FixedPoint a.Scaling |> Result.bind (fun () -> projectionPolicy a)
                |> Result.mapError (fun e -> { Kind = OutsidePolicy; Message = sprintf "pinned manifest entry '%s': %s" a.ModuleName e }))
            |> Result.map ignore
    }

/// Whether the adapter proofs of a projection manifest have verified in this context.
let adapterProofsVerified (context: VerifierContext) (m: Manifest) =
    match Manifest.digest m with
    | Ok d -> context.VerifiedAdapterProofs.ContainsKey d
    | Error _ -> false

/// Verifies the one-time adapter proofs of a projection manifest (the context's policy first),
/// once per manifest digest in the context; later calls with the same manifest return at once.
let verifyAdapterProofs (context: VerifierContext) (m: Manifest) (proofs: ProjectionArtifacts.AdapterProofs) (logger: ILogger) : Result<unit, VerifyFailure> =
    let policy = context.Policy
    let verifiedAdapterProofs = context.VerifiedAdapterProofs
    result {
        do! if Manifest.backendOf m = ArtifactCommon.Projection then Ok() else fail InvalidInput "the manifest is not a projection-backend manifest: it has no adapter proofs"
        let! digest = Manifest.digest m |> tag InvalidInput
        if verifiedAdapterProofs.ContainsKey digest then return VerifyLog.adapterProofsVerifiedBefore logger digest
        else
            do! checkManifestPolicy policy m
            do! ProjectionArtifacts.verifyAdapterProofs context.Parameters.Pedersen m proofs |> tag InvalidAdapterProof
            verifiedAdapterProofs[digest] <- true
            return VerifyLog.adapterProofsVerify logger digest m.Adapters.Length
    }

/// Reads the adapter proofs of a projection manifest file and verifies them, unless that
/// manifest's were verified before in this context. The file is the one next to the manifest
/// (`ProjectionArtifacts.adapterProofsPath`) or, when there is none, `<manifest sha256>.adapter-proofs.json`
/// in the first proof directory that has it (where `zklora serve` publishes it). Where it comes
/// from does not matter for soundness: it is verified against the pinned manifest's commitments
/// and digest; the first existing candidate is the one used (a bad one is a rejection).
let verifyAdapterProofsFileIn (context: VerifierContext) (proofDirs: string list) (manifestPath: string) (m: Manifest) (logger: ILogger) : Result<unit, VerifyFailure> =
    let policy = context.Policy
    result {
        if adapterProofsVerified context m then return VerifyLog.adapterProofsVerifiedBefore logger manifestPath
        else
            do! checkManifestPolicy policy m
            let! digest = Manifest.digest m |> tag InvalidInput
            let next = ProjectionArtifacts.adapterProofsPath manifestPath
            let inDirs = proofDirs |> List.map (fun d -> Path.Combine(d, ProjectionArtifacts.adapterProofsFileName digest))
            let! path =
                match (next :: inDirs) |> List.tryFind (fun p -> File.Exists p || Directory.Exists p) with
                | Some p -> Ok p
                | None ->
                    fail InvalidAdapterProof
                        (sprintf "adapter proofs file %s does not exist, nor %s in the proof directories" next (ProjectionArtifacts.adapterProofsFileName digest))
            let! proofs = ProjectionArtifacts.readAdapterProofs path |> tag InvalidAdapterProof
            return! verifyAdapterProofs context m proofs logger
    }

/// `verifyAdapterProofsFileIn` with no proof directory: only the file next to the manifest.
let verifyAdapterProofsFile (context: VerifierContext) (manifestPath: string) (m: Manifest) (logger: ILogger) : Result<unit, VerifyFailure> =
    verifyAdapterProofsFileIn context [] manifestPath m logger

/// One projection statement, checked and ready for its proof check.
type private ProjectionChecked =
    { PKey: ArtifactNames.ProofKey
      Layout: string
      Call: Projection.CallProof.CallStatement
      ProofBytes: byte[] }

/// Reads a projection artifact's statement (strictly; a digest mismatch is tampering) and
/// checks that its file name names its first call.
let private readProjection (a: Artifact) : Result<Artifact * ProjectionArtifacts.ProjectionStatement, VerifyFailure> =
    let key = describeKey a.Key
    result {
        let! sPath = match a.Statement with Some p -> Ok p | None -> fail Coverage (sprintf "%s: the statement file is missing" key)
        let! st = ProjectionArtifacts.readFile sPath |> tag Tampered
        do!
            if ProjectionArtifacts.key st <> a.Key then
                fail Coverage (sprintf "%s: the statement file covers calls from %s, not the entry its name says (a duplicate or misplaced statement)" key (describeKey (ProjectionArtifacts.key st)))
            else Ok()
        return a, st
    }

let private checkProjection (entries: Map<ArtifactNames.ProofKey, TranscriptEntry>) (manifest: Manifest) (a: Artifact, st: ProjectionArtifacts.ProjectionStatement) : Result<ProjectionChecked, VerifyFailure> =
    let key = describeKey a.Key
    let ctx (r: Result<'a, VerifyFailure>) = r |> Result.mapError (fun f -> { f with Message = sprintf "%s: %s" key f.Message })
    ctx <| result {
        let! pPath = match a.Proof with Some p -> Ok p | None -> fail Coverage "the proof file is missing"
        let! mPath = match a.Meta with Some p -> Ok p | None -> fail Coverage "the meta file is missing"
        let! adapter =
            match Manifest.tryFind st.ModuleName manifest with
            | Some ad -> Ok ad
            | None -> fail ManifestMismatch (sprintf "module '%s' is not in the pinned manifest" st.ModuleName)
        let! commitment = Manifest.pedersenCommitment adapter |> tag ManifestMismatch
        do!
            if st.Shape <> adapter.Shape then fail ManifestMismatch "the statement's shape (in_dim, rank, out_dim) differs from the pinned manifest's"
            elif st.FixedPoint <> adapter.FixedPoint then fail ManifestMismatch "the statement's fixed_point differs from the pinned manifest's"
            elif st.Scaling <> adapter.Scaling then fail ManifestMismatch "the statement's scaling differs from the pinned manifest's"
            elif st.Commitment <> commitment then fail ManifestMismatch "statement does not match: adapter_commitment (manifest) differs"
            else Ok()
        let vb = FixedPoint.valueBound adapter.FixedPoint
        let outside (m: System.Numerics.BigInteger[][]) = m |> Array.exists (Array.exists (fun v -> System.Numerics.BigInteger.Abs v > vb))
        let! rows =
            st.Calls |> traverseAll (fun c ->
                let k : ArtifactNames.ProofKey = { SessionId = st.SessionId; ModuleName = st.ModuleName; InvocationIndex = c.InvocationIndex }
                result {
                    let! e = match entries.TryFind k with Some e -> Ok e | None -> fail Coverage (sprintf "covers %s, which the transcript does not have" (describeKey k))
                    do! Statement.checkEntryAgainstAdapter e adapter |> tag ManifestMismatch
                    do! if outside e.X || outside e.Delta then fail OutOfBounds (sprintf "%s: a transcript value is outside ±value_bound" (describeKey k)) else Ok()
                    do!
                        if c.InputShape <> e.InputShape then fail StatementMismatch (sprintf "%s: input_shape differs from the transcript's" (describeKey k))
                        elif c.OutputShape <> e.OutputShape then fail StatementMismatch (sprintf "%s: output_shape differs from the transcript's" (describeKey k))
                        elif c.X <> e.X then fail StatementMismatch (sprintf "statement does not match: %s: x (the activations B sent) differs" (describeKey k))
                        elif c.Delta <> e.Delta then fail StatementMismatch (sprintf "statement does not match: %s: delta (the values B received) differs" (describeKey k))
                        else Ok()
                    return e.X, e.Delta
                })
        let! proof = SafeFile.readBytes "proof" ProjectionArtifacts.maxProofBytes pPath |> tag InvalidInput
        do! ProjectionArtifacts.checkMetaFile mPath st proof |> tag Tampered
        let! digest = ProjectionArtifacts.digest st |> tag Tampered
        // rows rebuilt from the TRANSCRIPT, the commitment from the pinned manifest
        let x = rows |> List.map fst |> Array.concat
        let delta = rows |> List.map snd |> Array.concat
        let call = ProjectionArtifacts.callStatement digest adapter.Shape adapter.FixedPoint adapter.Scaling commitment x delta
        return { PKey = a.Key; Layout = ProjectionArtifacts.layoutId adapter.Shape adapter.FixedPoint adapter.Scaling (int64 x.Length); Call = call; ProofBytes = proof }
    }

/// Coverage of the projection modules: every covered key is a transcript entry, no entry is
/// covered twice (by two statements or twice by one), every entry is covered.
let private projectionCoverage (entries: TranscriptEntry list) (statements: (Artifact * ProjectionArtifacts.ProjectionStatement) list) : Result<unit, VerifyFailure> =
    let entryKeys = entries |> List.map TranscriptEntry.key |> Set.ofList
    let covered = statements |> List.collect (fun (a, st) -> ProjectionArtifacts.coveredKeys st |> List.map (fun k -> k, a.Key))
    result {
        do!
            match covered |> List.groupBy fst |> List.tryFind (fun (_, l) -> l.Length > 1) with
            | Some(k, l) ->
                fail Coverage (sprintf "transcript entry %s is covered more than once (by the statements of %s)" (describeKey k) (String.Join(" and ", l |> List.map (snd >> describeKey))))
            | None -> Ok()
        do!
            match covered |> List.tryFind (fun (k, _) -> not (entryKeys.Contains k)) with
            | Some(k, f) -> fail Coverage (sprintf "extra statement %s: it covers %s, which the transcript does not have" (describeKey f) (describeKey k))
            | None -> Ok()
        let coveredSet = covered |> List.map fst |> Set.ofList
        do!
            match entries |> List.tryFind (fun e -> not (coveredSet.Contains(TranscriptEntry.key e))) with
            | Some e -> fail Coverage (sprintf "transcript entry %s has no proof artifacts (row not covered)" (describeKey (TranscriptEntry.key e)))
            | None -> Ok()
    }

/// Verifies the proof directories of one or more contributors against B's transcript and the
/// union of the pinned manifests, refusing parameters outside the context's policy before any
/// proof file is read; verifying keys and verified adapter proofs come from (and stay in) the context.
let batchVerifyManyWith (context: VerifierContext) (proofDirs: string list) (transcript: InferenceTranscript) (manifests: Manifest list) (logger: ILogger) : Result<VerifySummary, VerifyFailure> =
    let policy = context.Policy
    let clock = Diagnostics.Stopwatch.StartNew()
    result {
        do! if transcript.Entries.IsEmpty then fail InvalidInput "the transcript has no entries: there is nothing to verify" else Ok()
        let! manifest = unionManifests manifests
        do! checkPolicy policy transcript manifest logger
        do!
            manifests
            |> traverseAll (fun m ->
                if Manifest.backendOf m = ArtifactCommon.Projection && not (adapterProofsVerified context m) then
                    let d = match Manifest.digest m with Ok d -> d | Error e -> e
                    fail InvalidAdapterProof (sprintf "the adapter proofs of pinned manifest %s have not been verified (verifyAdapterProofs, or verify from files)" d)
                else Ok())
            |> Result.map ignore
        let! artifacts = scanAll proofDirs
        let sessions = transcript.Entries |> List.map (fun e -> e.SessionId) |> Set.ofList
        let relevant, other = artifacts |> Map.partition (fun k _ -> sessions.Contains k.SessionId)
        do if not other.IsEmpty then VerifyLog.otherSessions logger other.Count
        let isProjection (moduleName: string) =
            match Manifest.tryFind moduleName manifest with
            | Some a -> ArtifactCommon.backendOfCommitment a.Commitment = ArtifactCommon.Projection
            | None -> false
        let projEntries, plonkEntries = transcript.Entries |> List.partition (fun e -> isProjection e.ModuleName)
        let projArtifacts, plonkArtifacts = relevant |> Map.partition (fun k _ -> isProjection k.ModuleName)
        let entryKeys = plonkEntries |> List.map TranscriptEntry.key |> Set.ofList
        // Coverage first: every row proved, nothing extra.
        do!
            match plonkEntries |> List.tryFind (fun e -> not (plonkArtifacts.ContainsKey(TranscriptEntry.key e))) with
            | Some e -> fail Coverage (sprintf "transcript entry %s has no proof artifacts (row not covered)" (describeKey (TranscriptEntry.key e)))
            | None -> Ok()
        do!
            match plonkArtifacts |> Map.toList |> List.tryFind (fun (k, _) -> not (entryKeys.Contains k)) with
            | Some(k, _) -> fail Coverage (sprintf "extra statement %s: the transcript has no such call" (describeKey k))
            | None -> Ok()
        // Projection statements may cover several calls: their coverage needs their content.
        let! projStatements = projArtifacts |> Map.toList |> List.map snd |> traverseAll readProjection
        do! projectionCoverage projEntries projStatements
        // Per-statement checks (file integrity, exact match, manifest, bounds).
        let! checkedItems =
            plonkEntries
            |> traverseAll (fun e ->
                let r = checkOne e manifest plonkArtifacts[TranscriptEntry.key e]
                if Result.isOk r then VerifyLog.statementChecked logger (TranscriptEntry.key e)
                r)
        let entryMap = projEntries |> List.map (fun e -> TranscriptEntry.key e, e) |> Map.ofList
        let! projChecked =
            projStatements
            |> traverseAll (fun item ->
                let r = checkProjection entryMap manifest item
                match r with
                | Ok c -> VerifyLog.projectionStatementChecked logger c.PKey (snd item).Calls.Length
                | Error _ -> ()
                r)
        // Proofs: one batch per circuit (shared final check); a failed batch is re-checked
        // proof by proof to name the culprit.
        let groups = checkedItems |> List.groupBy (fun c -> LoraCircuit.circuitId c.Plan)
        let verifyGroup (cid: string, items: Checked list) : Result<unit, VerifyFailure> =
            result {
                let! vk = verifyingKey context items.Head.Plan |> tag InvalidInput
                let batch = items |> List.map (fun c -> c.Instances, c.Proof) |> Array.ofList
                do!
                    items
                    |> batchThenCulprit
                        (fun () -> Proving.verifyBatch context.Parameters.Plonk vk batch |> Result.mapError (sprintf "circuit %s: %s" cid))
                        (fun c -> Proving.verify context.Parameters.Plonk vk c.Instances c.Proof |> Result.mapError (sprintf "%s: the proof does not verify: %s" (describeKey c.Key)))
                    |> tag InvalidProof
                return VerifyLog.circuitVerifies logger items.Length cid
            }
        let! _ = groups |> traverseAll verifyGroup
        // Projection proofs: decoded strictly for their statement, then verified together with one
        // shared final MSM (CallProof.verifyMany); a failed batch is re-checked proof by proof to
        // name the culprit.
        let projFailure (c: ProjectionChecked) e =
            { Kind = InvalidProof; Message = sprintf "%s: the projection proof does not verify: %s" (describeKey c.PKey) e }
        let! items =
            projChecked
            |> Array.ofList
            |> Array.Parallel.map (fun c -> Projection.CallProof.decode c.Call c.ProofBytes |> Result.map (fun p -> c.Call, p) |> Result.mapError (projFailure c))
            |> List.ofArray
            |> traverseAll id
        let items = Array.ofList items
        do!
            Array.zip (Array.ofList projChecked) items
            |> batchThenCulprit
                (fun () -> Projection.CallProof.verifyMany context.Parameters.Pedersen items |> Result.mapError (fun e -> { Kind = InvalidProof; Message = sprintf "projection proofs: %s" e }))
                (fun (c, (st, p)) -> Projection.CallProof.verify context.Parameters.Pedersen st p |> Result.mapError (projFailure c))
        do if not projChecked.IsEmpty then VerifyLog.projectionVerifies logger projChecked.Length projEntries.Length
        let layouts = projChecked |> List.map (fun c -> c.Layout) |> List.distinct
        return { Proofs = checkedItems.Length + projChecked.Length; Circuits = groups.Length + layouts.Length; Seconds = clock.Elapsed.TotalSeconds }
    }

/// `batchVerifyManyWith` in a fresh context with the standard options (nothing is kept
/// between calls: a projection manifest's adapter proofs must be verified in a context first).
let batchVerifyMany (proofDirs: string list) (transcript: InferenceTranscript) (manifests: Manifest list) (logger: ILogger) : Result<VerifySummary, VerifyFailure> =
    batchVerifyManyWith (VerifierContext()) proofDirs transcript manifests logger

/// One contributor: one proof directory and its pinned manifest.
let batchVerify (proofDir: string) (transcript: InferenceTranscript) (manifest: Manifest) (logger: ILogger) : Result<VerifySummary, VerifyFailure> =
    batchVerifyMany [ proofDir ] transcript [ manifest ] logger

/// `batchVerifyManyWith` over files: the transcript and the pinned manifests are read strictly first.
let batchVerifyManyFilesWith (context: VerifierContext) (proofDirs: string list) (transcriptPath: string) (manifestPaths: string list) (logger: ILogger) : Result<VerifySummary, VerifyFailure> =
    let policy = context.Policy
    let clock = Diagnostics.Stopwatch.StartNew()
    result {
        let! t = InferenceTranscript.readFile transcriptPath |> tag InvalidInput
        let! ms = manifestPaths |> traverseAll (fun p -> Manifest.readFile p |> tag InvalidInput |> Result.map (fun m -> p, m))
        // The one-time adapter proofs of projection manifests: after the whole policy check
        // (transcript and manifests), once per manifest digest.
        do! if t.Entries.IsEmpty then Ok() else unionManifests (List.map snd ms) |> Result.bind (fun u -> checkPolicy policy t u NullLogger.Instance)
        do!
            ms |> traverseAll (fun (p, m) ->
                if Manifest.backendOf m = ArtifactCommon.Projection then verifyAdapterProofsFileIn context proofDirs p m logger else Ok())
            |> Result.map ignore
        let! s = batchVerifyManyWith context proofDirs t (List.map snd ms) logger
        return { s with Seconds = clock.Elapsed.TotalSeconds }
    }

/// `batchVerifyManyFilesWith` in a fresh context with the standard options.
let batchVerifyManyFiles (proofDirs: string list) (transcriptPath: string) (manifestPaths: string list) (logger: ILogger) : Result<VerifySummary, VerifyFailure> =
    batchVerifyManyFilesWith (VerifierContext()) proofDirs transcriptPath manifestPaths logger

/// `batchVerify` over files.
let batchVerifyFiles (proofDir: string) (transcriptPath: string) (manifestPath: string) (logger: ILogger) : Result<VerifySummary, VerifyFailure> =
    batchVerifyManyFiles [ proofDir ] transcriptPath [ manifestPath ] logger
