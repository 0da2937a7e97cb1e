/// The artifacts of the projection backend (docs/projection-protocol.md, docs/design.md §4.7):
/// projection statements (one proof for one or more calls of one module in one session), their
/// meta files, the adapter-proof file written next to a projection manifest, and the prover of
/// one group of calls. The verifier side is in ProofVerify.
///
/// Why a statement may cover several transcript entries without weakening coverage: a
/// statement lists the (session, module, invocation_index) of every call it covers with every
/// x and delta value; its file is named after the FIRST covered call; the verifier reads every
/// statement, requires each covered key to be a transcript entry of that module, no key to be
/// covered by two statements (or twice by one) and every transcript entry of a projection
/// module to be covered, and then checks the proof against rows rebuilt from the TRANSCRIPT.
/// The proof binds the statement digest (absorbed before every challenge), which covers the
/// whole list, so a proof cannot be moved to another group, session or module.
module ZkLora.Proofs.ProjectionArtifacts

open System
open System.IO
open System.Numerics
open System.Text
open ZkLora.Math
open ZkLora.Math.Commitment
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.ArtifactCommon
open ZkLora.Proofs.Projection

/// One call covered by a projection statement.
type ProjectionCall =
    { InvocationIndex: int64
      InputShape: int64[]
      OutputShape: int64[]
      X: BigInteger[][]
      Delta: BigInteger[][] }

/// What one projection proof claims: every row of every listed call of (session, module) maps
/// to its delta under the committed adapter (shape, config, scaling, Pedersen commitment C_W).
type ProjectionStatement =
    { SessionId: string
      ModuleName: string
      /// Ascending invocation indices, at least one.
      Calls: ProjectionCall list
      Shape: AdapterCommitment.AdapterShape
      FixedPoint: FixedPointConfig
      Scaling: Scaling
      Commitment: VestaAffine }

/// Largest adapter-proof file read (bytes); a proof is a few KiB per module.
let maxAdapterProofsFileBytes = 16L <<< 20

/// Largest projection proof file read (bytes): proofs are logarithmic (a few KiB).
let maxProofBytes = 1L <<< 20

let private rowsOf (c: ProjectionCall) = int64 c.X.Length

/// Total rows of a statement.
let rows (s: ProjectionStatement) = s.Calls |> List.sumBy rowsOf

/// The proof key (file name) of a statement: its first call.
let key (s: ProjectionStatement) : ArtifactNames.ProofKey =
    { SessionId = s.SessionId; ModuleName = s.ModuleName; InvocationIndex = (List.head s.Calls).InvocationIndex }

/// The transcript keys a statement covers.
let coveredKeys (s: ProjectionStatement) : ArtifactNames.ProofKey list =
    s.Calls |> List.map (fun c -> { SessionId = s.SessionId; ModuleName = s.ModuleName; InvocationIndex = c.InvocationIndex })

/// The public layout id of a projection proof (what the meta's circuit_id holds; recomputed
/// by the verifier from the manifest and the transcript, never read from a file).
let layoutId (shape: AdapterCommitment.AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (rowCount: int64) =
    sprintf "zklora-projection-call-v1/%dx%dx%d/rows-%d/fp-%d-%d-%d/scaling-%O-%O"
        shape.InDim shape.Rank shape.OutDim rowCount cfg.ScaleBits cfg.ValueBits cfg.IntermediateBits s.Num s.Den

/// Upper bound of the committed vector length of a call proof with `rowCount` rows (every output
/// counted as clipped), before rounding up to a power of two (`CallProof.maxVectorEntries`).
let vectorEntries (shape: AdapterCommitment.AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (rowCount: int64) : int64 =
    CallProof.maxVectorEntries { InDim = shape.InDim; Rank = shape.Rank; OutDim = shape.OutDim; Config = cfg } s.Num s.Den rowCount

/// Estimated peak bytes of one call proof: 2 048 B per entry of the padded vector plus 64 MiB.
/// Calibration (v2, logUp limbs; bench/RESULTS.md): GPT-2 c_attn with 16 rows (2^17 entries)
/// peaked at 515 MiB RSS and with 256 rows (2^21) at 3 699 MiB, whole process included; the
/// estimate gives 320 MiB and 4 160 MiB (the runtime's own ~200 MiB is not per proof).
let estimatedProofBytes (shape: AdapterCommitment.AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (rowCount: int64) : int64 =
    let n = vectorEntries shape cfg s rowCount
    let pow2 = if n <= 1L then 1L else 1L <<< (64 - Numerics.BitOperations.LeadingZeroCount(uint64 (n - 1L)))
    pow2 * 2048L + (64L <<< 20)

/// Whether a statement of `rowCount` rows fits the projection policy (rows and vector length).
let fitsPolicy (shape: AdapterCommitment.AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (rowCount: int64) =
    rowCount >= 1L && rowCount <= int64 ProjectionCommon.Policy.maxRows
    && vectorEntries shape cfg s rowCount <= int64 ProjectionCommon.Policy.maxVectorLength

// ---------------------------------------------------------------------------------------
// Statement JSON

let private callToJson (c: ProjectionCall) =
    JObject [ "invocation_index", JInt(BigInteger c.InvocationIndex)
              "input_shape", shapeToJson c.InputShape
              "output_shape", shapeToJson c.OutputShape
              "x", matrixToJson c.X
              "delta", matrixToJson c.Delta ]

let private bodyFields (s: ProjectionStatement) =
    [ "schema_version", JString projectionStatementSchema
      "backend", JString projectionBackend
      "circuit_id", JString(layoutId s.Shape s.FixedPoint s.Scaling (rows s))
      "session_id", JString s.SessionId
      "module_name", JString s.ModuleName
      "calls", JArray(s.Calls |> List.map callToJson)
      "in_dim", JInt(BigInteger s.Shape.InDim)
      "rank", JInt(BigInteger s.Shape.Rank)
      "out_dim", JInt(BigInteger s.Shape.OutDim)
      "fixed_point", fixedPointToJson s.FixedPoint
      "scaling", scalingToJson s.Scaling
      "adapter_commitment", anyCommitmentToJson (PedersenCommitment s.Commitment) ]

let private bodyKeys =
    [ "schema_version"; "backend"; "circuit_id"; "session_id"; "module_name"; "calls"; "in_dim"; "rank"; "out_dim"
      "fixed_point"; "scaling"; "adapter_commitment" ]

let private callOfJson (path: string) (inDim: int) (outDim: int) (bound: BigInteger) (v: JValue) : Result<ProjectionCall, string> =
    result {
        let! f = JsonRead.exactObject path [ "invocation_index"; "input_shape"; "output_shape"; "x"; "delta" ] v
        let! index = JsonRead.int64In (path + ".invocation_index") 0L Int64.MaxValue f["invocation_index"]
        let! input = shapeOfJson (path + ".input_shape") f["input_shape"]
        let! output = shapeOfJson (path + ".output_shape") f["output_shape"]
        do! TranscriptEntry.checkShapes path input output
        let rowCount, i = rowsAndCols input
        let _, o = rowsAndCols output
        do! if i <> int64 inDim || o <> int64 outDim then Error(sprintf "%s: shapes end in %d / %d, the statement's in_dim / out_dim are %d / %d" path i o inDim outDim) else Ok()
        let! x = matrixOfJson (path + ".x") rowCount i bound f["x"]
        let! delta = matrixOfJson (path + ".delta") rowCount o bound f["delta"]
        return { InvocationIndex = index; InputShape = input; OutputShape = output; X = x; Delta = delta }
    }

let private bodyOfFields (f: Map<string, JValue>) : Result<ProjectionStatement, string> =
    result {
        do! JsonRead.knownId "$.schema_version" "statement schema" projectionStatementSchema f["schema_version"]
        do! JsonRead.knownId "$.backend" "backend" projectionBackend f["backend"]
        let! _ = stringOfJson "$.circuit_id" validateCircuitId f["circuit_id"]
        let! session = stringOfJson "$.session_id" ArtifactNames.validateSessionId f["session_id"]
        let! name = stringOfJson "$.module_name" ArtifactNames.validateModuleName f["module_name"]
        let! inDim = JsonRead.intIn "$.in_dim" 1 ProjectionCommon.Policy.maxDim f["in_dim"]
        let! rank = JsonRead.intIn "$.rank" 1 ProjectionCommon.Policy.maxRank f["rank"]
        let! outDim = JsonRead.intIn "$.out_dim" 1 ProjectionCommon.Policy.maxDim f["out_dim"]
        let! cfg = fixedPointOfJson "$.fixed_point" f["fixed_point"]
        let! scaling = scalingOfJson "$.scaling" f["scaling"]
        let! c = anyCommitmentOfJson "$.adapter_commitment" Projection f["adapter_commitment"]
        let! items = JsonRead.list "$.calls" f["calls"]
        do! if items.IsEmpty then Error "$.calls: a statement covers at least one call" else Ok()
        do! if items.Length > ProjectionCommon.Policy.maxRows then Error(sprintf "$.calls: more than %d calls" ProjectionCommon.Policy.maxRows) else Ok()
        let bound = valueBound cfg
        let! calls = items |> traverse (fun i v -> callOfJson (sprintf "$.calls[%d]" i) inDim outDim bound v)
        do!
            match calls |> List.pairwise |> List.tryFind (fun (a, b) -> a.InvocationIndex >= b.InvocationIndex) with
            | Some(_, b) -> Error(sprintf "$.calls: invocation indices must be strictly increasing (index %d)" b.InvocationIndex)
            | None -> Ok()
        let total = calls |> List.sumBy rowsOf
        do! if total > int64 ProjectionCommon.Policy.maxRows then Error(sprintf "$.calls: %d rows in total, more than %d" total ProjectionCommon.Policy.maxRows) else Ok()
        let commitment = match c with PedersenCommitment p -> p | PoseidonCommitment _ -> failwith "unreachable: read with the projection scheme"
        let s = { SessionId = session; ModuleName = name; Calls = calls; Shape = ({ InDim = inDim; Rank = rank; OutDim = outDim } : AdapterCommitment.AdapterShape)
                  FixedPoint = cfg; Scaling = scaling; Commitment = commitment }
        let! circuit = JsonRead.str "$.circuit_id" f["circuit_id"]
        let expected = layoutId s.Shape cfg scaling total
        do! if circuit <> expected then Error(sprintf "$.circuit_id: '%s' is not the layout of this statement, '%s'" circuit expected) else Ok()
        return s
    }

/// SHA-256 hex of the canonical statement body (what the proof binds to).
let digest (s: ProjectionStatement) : Result<string, string> =
    let body = JObject(bodyFields s)
    JsonRead.exactObject "$" bodyKeys body
    |> Result.bind bodyOfFields
    |> Result.bind (fun _ -> CanonicalJson.digest body)

let toJson (s: ProjectionStatement) : Result<string, string> =
    digest s |> Result.bind (fun d -> CanonicalJson.toCanonicalString (JObject(bodyFields s @ [ "statement_digest", JString d ])))

/// Strict reader; recomputes statement_digest and rejects a mismatch.
let ofJsonValue (v: JValue) : Result<ProjectionStatement, string> =
    result {
        let! f = JsonRead.exactObject "$" (bodyKeys @ [ "statement_digest" ]) v
        let! claimed = stringOfJson "$.statement_digest" validateDigestHex f["statement_digest"]
        let! s = bodyOfFields f
        let! actual = digest s
        if actual <> claimed then return! Error(sprintf "$.statement_digest: %s does not match the statement's digest %s" claimed actual)
        else return s
    }

let parseBytes (utf8: ReadOnlyMemory<byte>) = CanonicalJson.parseBytes utf8 |> Result.bind ofJsonValue
let readFile (path: string) = ArtifactCommon.readFile "projection statement" parseBytes path

// ---------------------------------------------------------------------------------------
// Meta: {schema_version: zklora.meta.v1, backend: <projection>, circuit_id, statement_digest, proof_digest}

/// Meta of a projection proof (the same fields as `ProofMeta`, with the projection backend id).
let metaToJson (circuitId: string) (statementDigest: string) (proof: ReadOnlySpan<byte>) =
    JObject [ "schema_version", JString metaSchema
              "backend", JString projectionBackend
              "circuit_id", JString circuitId
              "statement_digest", JString statementDigest
              "proof_digest", JString(CanonicalJson.sha256Hex proof) ]
    |> CanonicalJson.toCanonicalString

/// Reads a projection meta file strictly and checks it against the statement and the proof bytes.
let checkMetaFile (path: string) (s: ProjectionStatement) (proof: byte[]) : Result<unit, string> =
    result {
        let! v = ArtifactCommon.readFile "proof meta" CanonicalJson.parseBytes path
        let! f = JsonRead.exactObject "$" [ "schema_version"; "backend"; "circuit_id"; "statement_digest"; "proof_digest" ] v
        do! JsonRead.knownId "$.schema_version" "meta schema" metaSchema f["schema_version"]
        do! JsonRead.knownId "$.backend" "backend" projectionBackend f["backend"]
        let! circuit = stringOfJson "$.circuit_id" validateCircuitId f["circuit_id"]
        let! sd = stringOfJson "$.statement_digest" validateDigestHex f["statement_digest"]
        let! pd = stringOfJson "$.proof_digest" validateDigestHex f["proof_digest"]
        let! actual = digest s
        if circuit <> layoutId s.Shape s.FixedPoint s.Scaling (rows s) then return! Error "proof meta circuit id differs from the statement's layout"
        elif sd <> actual then return! Error "proof meta statement_digest does not match the statement"
        elif pd <> CanonicalJson.sha256Hex (ReadOnlySpan proof) then return! Error "proof meta proof_digest does not match the proof file"
        else return ()
    }

// ---------------------------------------------------------------------------------------
// The call statement of the core protocol

/// The shape the core protocol uses for a manifest adapter.
let proofShape (shape: AdapterCommitment.AdapterShape) (cfg: FixedPointConfig) : AdapterProof.AdapterShape =
    { InDim = shape.InDim; Rank = shape.Rank; OutDim = shape.OutDim; Config = cfg }

/// The core statement of rows (all calls concatenated in order) under a digest.
let callStatement (digestHex: string) (shape: AdapterCommitment.AdapterShape) (cfg: FixedPointConfig) (s: Scaling)
                  (commitment: VestaAffine) (x: BigInteger[][]) (delta: BigInteger[][]) : CallProof.CallStatement =
    { Digest = Convert.FromHexString digestHex; Shape = proofShape shape cfg; Num = s.Num; Den = s.Den
      X = x; Delta = delta; Adapter = commitment }

// ---------------------------------------------------------------------------------------
// Adapter-proof file: {schema_version, backend, manifest_digest, proofs:[{module_name, proof}]}

/// The adapter proofs of one projection manifest: module name → proof bytes, bound to the
/// manifest's digest.
type AdapterProofs =
    { ManifestDigest: string
      Proofs: (string * byte[]) list }

/// Where the adapter proofs of a manifest file live: next to it, `<name>.adapter-proofs.json`
/// (`<name>` = the manifest's file name without a final `.json`).
let adapterProofsPath (manifestPath: string) =
    let full = Path.GetFullPath manifestPath
    let dir = Path.GetDirectoryName full
    let name = Path.GetFileName full
    let stem = if name.EndsWith(".json", StringComparison.Ordinal) then name.Substring(0, name.Length - 5) else name
    Path.Combine(dir, stem + ".adapter-proofs.json")

/// The name of a manifest's adapter proofs inside a proof directory, where the contributor also
/// publishes them: `<manifest sha256>.adapter-proofs.json` (the verifier's fallback when no file
/// lies next to the pinned manifest; the proofs are checked against the pinned manifest either way).
let adapterProofsFileName (manifestDigest: string) = manifestDigest + ".adapter-proofs.json"

let adapterProofsToJson (p: AdapterProofs) : Result<string, string> =
    JObject [ "schema_version", JString adapterProofsSchema
              "backend", JString projectionBackend
              "manifest_digest", JString p.ManifestDigest
              "proofs", JArray [ for name, bytes in p.Proofs -> JObject [ "module_name", JString name; "proof", JString(Convert.ToHexStringLower bytes) ] ] ]
    |> CanonicalJson.toCanonicalString

let private adapterProofsOfJson (v: JValue) : Result<AdapterProofs, string> =
    result {
        let! f = JsonRead.exactObject "$" [ "schema_version"; "backend"; "manifest_digest"; "proofs" ] v
        do! JsonRead.knownId "$.schema_version" "adapter-proofs schema" adapterProofsSchema f["schema_version"]
        do! JsonRead.knownId "$.backend" "backend" projectionBackend f["backend"]
        let! md = stringOfJson "$.manifest_digest" validateDigestHex f["manifest_digest"]
        let! items = JsonRead.list "$.proofs" f["proofs"]
        let! proofs =
            items |> traverse (fun i v ->
                let path = sprintf "$.proofs[%d]" i
                result {
                    let! g = JsonRead.exactObject path [ "module_name"; "proof" ] v
                    let! name = stringOfJson (path + ".module_name") ArtifactNames.validateModuleName g["module_name"]
                    let! hex = JsonRead.str (path + ".proof") g["proof"]
                    let isHex (c: char) = Char.IsAsciiDigit c || (c >= 'a' && c <= 'f')
                    if hex.Length = 0 || hex.Length % 2 <> 0 || not (hex |> Seq.forall isHex) then
                        return! Error(sprintf "%s.proof: expected an even number of lowercase hex digits" path)
                    else return name, Convert.FromHexString hex
                })
        match proofs |> List.countBy fst |> List.tryFind (fun (_, n) -> n > 1) with
        | Some(name, _) -> return! Error(sprintf "$.proofs: module '%s' appears more than once" name)
        | None -> return { ManifestDigest = md; Proofs = proofs }
    }

let parseAdapterProofsBytes (utf8: ReadOnlyMemory<byte>) = CanonicalJson.parseBytes utf8 |> Result.bind adapterProofsOfJson

/// Reads an adapter-proof file strictly (regular file, at most `maxAdapterProofsFileBytes`).
let readAdapterProofs (path: string) : Result<AdapterProofs, string> =
    SafeFile.readBytes "adapter proofs" maxAdapterProofsFileBytes path
    |> Result.bind (fun bytes -> parseAdapterProofsBytes (ReadOnlyMemory bytes) |> Result.mapError (fun e -> sprintf "adapter proofs file %s: %s" path e))

/// The file (in the contributor's secret folder) holding a module's Pedersen blind r_W, in the
/// salt-file format (`AdapterCommitment.writeSaltFile`): `<module>.zklora.projection-blind.json`.
let blindFileName (moduleName: string) : Result<string, string> =
    ArtifactNames.validateModuleName moduleName |> Result.map (fun m -> m + ".zklora.projection-blind.json")

/// The secret side of a projection module: quantized A, B and the commitment's blind r_W.
type ProjectionSecret =
    { A: BigInteger[][]
      B: BigInteger[][]
      Blind: Fp }

let private opens (generators: PedersenGenerators) (a: ManifestAdapter) (w: ProjectionSecret) : Result<VestaAffine, string> =
    result {
        let! c = Manifest.pedersenCommitment a
        let shape = proofShape a.Shape a.FixedPoint
        let ok (m: BigInteger[][]) r k = not (isNull m) && m.Length = r && m |> Array.forall (fun row -> not (isNull row) && row.Length = k)
        do! if ok w.A a.Shape.Rank a.Shape.InDim && ok w.B a.Shape.OutDim a.Shape.Rank then Ok() else Error "A or B does not have the manifest's shape"
        let mine = Vesta.toAffine (PedersenVector.commit generators (AdapterProof.weightVector shape w.A w.B) w.Blind)
        if mine <> c then return! Error(sprintf "module '%s': the private adapter (A, B, blind) does not open the manifest's commitment" a.ModuleName)
        else return c
    }

/// Proves the adapter proofs of every module of a projection manifest (once per adapter).
let proveAdapterProofs (generators: PedersenGenerators) (m: Manifest) (secrets: Map<string, ProjectionSecret>) : Result<AdapterProofs, string> =
    result {
        do! if Manifest.backendOf m = Projection then Ok() else Error "the manifest is not a projection-backend manifest"
        let! md = Manifest.digest m
        let! proofs =
            m.Adapters |> traverse (fun _ a ->
                result {
                    let! w = match secrets.TryFind a.ModuleName with Some w -> Ok w | None -> Error(sprintf "no private adapter for module '%s'" a.ModuleName)
                    let! c = opens generators a w
                    let! p =
                        AdapterProof.prove generators (proofShape a.Shape a.FixedPoint) c ({ A = w.A; B = w.B; Blind = w.Blind } : AdapterProof.AdapterSecret)
                        |> Result.mapError (fun e -> sprintf "module '%s': %s" a.ModuleName e)
                    return a.ModuleName, AdapterProof.encode p
                })
        return { ManifestDigest = md; Proofs = proofs }
    }

/// Checks the adapter proofs of a projection manifest: bound to its digest, exactly one proof
/// per adapter, each decoding strictly and verifying against the pinned C_W, shape and config.
let verifyAdapterProofs (generators: PedersenGenerators) (m: Manifest) (p: AdapterProofs) : Result<unit, string> =
    result {
        do! if Manifest.backendOf m = Projection then Ok() else Error "the manifest is not a projection-backend manifest"
        let! md = Manifest.digest m
        do! if p.ManifestDigest <> md then Error(sprintf "the adapter proofs are for manifest %s, not the pinned manifest %s" p.ManifestDigest md) else Ok()
        let listed = p.Proofs |> List.map fst |> Set.ofList
        let pinned = m.Adapters |> List.map (fun a -> a.ModuleName) |> Set.ofList
        do!
            match Set.difference pinned listed |> Seq.tryHead, Set.difference listed pinned |> Seq.tryHead with
            | Some name, _ -> Error(sprintf "module '%s' has no adapter proof" name)
            | None, Some name -> Error(sprintf "adapter proof for module '%s', which the manifest does not list" name)
            | None, None -> Ok()
        let byName = Map.ofList p.Proofs
        let! items =
            m.Adapters |> traverse (fun _ a ->
                result {
                    let! c = Manifest.pedersenCommitment a
                    let shape = proofShape a.Shape a.FixedPoint
                    let! proof = AdapterProof.decode shape byName[a.ModuleName]
                    return a.ModuleName, (shape, c, proof)
                }
                |> Result.mapError (fun e -> sprintf "module '%s': %s" a.ModuleName e))
        // One shared final MSM for all modules; when it fails, module by module to name the culprit.
        return!
            items
            |> batchThenCulprit
                (fun () -> AdapterProof.verifyMany generators (items |> List.map snd |> Array.ofList))
                (fun (name, (s, c, proof)) -> AdapterProof.verify generators s c proof |> Result.mapError (sprintf "module '%s': %s" name))
    }

// ---------------------------------------------------------------------------------------
// Proving one group of calls

/// A proved, not yet written group: the statement, its digest and the proof bytes.
type ProvedGroup =
    { Statement: ProjectionStatement
      Digest: string
      Proof: byte[] }

/// The statement of a group of transcript entries (one session, one module, distinct indices)
/// under a projection manifest entry.
let statementOf (a: ManifestAdapter) (entries: TranscriptEntry list) : Result<ProjectionStatement, string> =
    result {
        do! if entries.IsEmpty then Error "a projection statement covers at least one call" else Ok()
        let first = List.head entries
        do! if entries |> List.forall (fun e -> e.SessionId = first.SessionId && e.ModuleName = first.ModuleName) then Ok()
            else Error "a projection statement covers calls of one session and one module"
        let! c = Manifest.pedersenCommitment a
        let! _ = entries |> traverse (fun _ e -> Statement.checkEntryAgainstAdapter e a)
        let sorted = entries |> List.sortBy (fun e -> e.InvocationIndex)
        do! if sorted |> List.pairwise |> List.exists (fun (x, y) -> x.InvocationIndex = y.InvocationIndex) then Error "a call is listed twice" else Ok()
        let s =
            { SessionId = first.SessionId; ModuleName = first.ModuleName
              Calls = sorted |> List.map (fun e -> { InvocationIndex = e.InvocationIndex; InputShape = e.InputShape; OutputShape = e.OutputShape; X = e.X; Delta = e.Delta })
              Shape = a.Shape; FixedPoint = a.FixedPoint; Scaling = a.Scaling; Commitment = c }
        let! _ = digest s
        return s
    }

/// Proves a group of calls of one module in one session with the private adapter (the
/// recorded deltas must be the adapter's exact outputs: the core prover refuses otherwise).
let proveGroup (generators: PedersenGenerators) (a: ManifestAdapter) (w: ProjectionSecret) (entries: TranscriptEntry list) : Result<ProvedGroup, string> =
    result {
        let! c = opens generators a w
        let! s = statementOf a entries
        let! d = digest s
        let x = s.Calls |> List.map (fun c -> c.X) |> Array.concat
        let delta = s.Calls |> List.map (fun c -> c.Delta) |> Array.concat
        let st = callStatement d s.Shape s.FixedPoint s.Scaling c x delta
        let! proof = CallProof.prove generators st ({ A = w.A; B = w.B; Blind = w.Blind } : AdapterProof.AdapterSecret)
        return { Statement = s; Digest = d; Proof = CallProof.encode proof }
    }

/// Writes a proved group: proof, statement, meta (each atomically, never over an existing file).
let writeGroup (proofDir: string) (g: ProvedGroup) : Result<string * string * string, string> =
    result {
        let k = key g.Statement
        let! sName = ArtifactNames.statementFileName k
        let! pName = ArtifactNames.proofFileName k
        let! mName = ArtifactNames.metaFileName k
        let sPath, pPath, mPath = Path.Combine(proofDir, sName), Path.Combine(proofDir, pName), Path.Combine(proofDir, mName)
        let! sText = toJson g.Statement
        let! mText = metaToJson (layoutId g.Statement.Shape g.Statement.FixedPoint g.Statement.Scaling (rows g.Statement)) g.Digest (ReadOnlySpan g.Proof)
        do! ArtifactCommon.writeNewFileAtomic "proof" pPath g.Proof
        do! ArtifactCommon.writeNewFileAtomic "statement" sPath (Encoding.ASCII.GetBytes sText)
        do! ArtifactCommon.writeNewFileAtomic "proof meta" mPath (Encoding.ASCII.GetBytes mText)
        return sPath, pPath, mPath
    }

/// Splits the calls of one (session, module), in index order, into groups of at most
/// `callsPerProof` calls (0: no limit) that each fit the projection policy and, when they
/// have more than one call, the memory budget `maxBytes` (`estimatedProofBytes`).
let groupCalls (a: ManifestAdapter) (callsPerProof: int) (maxBytes: int64) (entries: TranscriptEntry list) : TranscriptEntry list list =
    let fits (g: TranscriptEntry list) =
        let r = g |> List.sumBy (fun e -> fst (rowsAndCols e.InputShape))
        (callsPerProof <= 0 || g.Length <= callsPerProof) && fitsPolicy a.Shape a.FixedPoint a.Scaling r
        && estimatedProofBytes a.Shape a.FixedPoint a.Scaling r <= maxBytes
    let sorted = entries |> List.sortBy (fun e -> e.InvocationIndex)
    let groups, current =
        sorted |> List.fold (fun (done', cur) e ->
            if List.isEmpty cur then done', [ e ]
            elif fits (cur @ [ e ]) then done', cur @ [ e ]
            else done' @ [ cur ], [ e ]) ([], [])
    if List.isEmpty current then groups else groups @ [ current ]
