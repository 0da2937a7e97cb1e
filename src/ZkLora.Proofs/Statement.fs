namespace ZkLora.Proofs

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.AdapterCommitment
open ZkLora.Proofs.ArtifactCommon

/// What one proof claims: for the transcript entry (session, module, invocation), every row of
/// `X` maps to the same row of `Delta` under the LoRA relation (FixedPoint.deltaRow) with the
/// weights committed to by `AdapterCommitment` (rank `Rank`), `FixedPoint` and `Scaling`, in
/// the circuit `CircuitId`.
///
/// JSON (`<session>.<module>.<index>.zklora.statement.json`): `{schema_version, backend,
/// circuit_id, session_id, module_name, invocation_index, input_shape, output_shape, x, delta,
/// fixed_point, scaling:{num,den}, rank, adapter_commitment:{scheme,value}, statement_digest}`
/// where statement_digest = SHA-256 hex of the canonical JSON of all the other fields. The
/// digest is what the proof binds to (an instance value), so any change to the covered rows,
/// values, config, scaling, commitment or circuit invalidates the proof.
type Statement =
    { SessionId: string
      ModuleName: string
      InvocationIndex: int64
      InputShape: int64[]
      OutputShape: int64[]
      X: BigInteger[][]
      Delta: BigInteger[][]
      FixedPoint: FixedPointConfig
      Scaling: Scaling
      Rank: int
      AdapterCommitment: Fp
      CircuitId: string }

/// Proof metadata (`.zklora.meta.json`): `{schema_version, backend, circuit_id,
/// statement_digest, proof_digest}`, proof_digest = SHA-256 hex of the `.zklora.proof` bytes.
type ProofMeta =
    { CircuitId: string
      StatementDigest: string
      ProofDigest: string }

/// How a statement fails the verifier's exact match: against the transcript entry it claims
/// to cover, or against the pinned manifest entry. The message is the user-visible text.
type StatementMismatch =
    | DiffersFromEntry of message: string
    | DiffersFromManifest of message: string
    member m.Message = match m with DiffersFromEntry t | DiffersFromManifest t -> t

[<RequireQualifiedAccess>]
module Statement =

    let key (s: Statement) : ArtifactNames.ProofKey =
        { SessionId = s.SessionId; ModuleName = s.ModuleName; InvocationIndex = s.InvocationIndex }

    /// rows × in_dim × out_dim of the statement.
    let dims (s: Statement) =
        let rows, inDim = rowsAndCols s.InputShape
        let _, outDim = rowsAndCols s.OutputShape
        rows, inDim, outDim

    let private bodyFields (s: Statement) =
        [ "schema_version", JString statementSchema
          "backend", JString backend
          "circuit_id", JString s.CircuitId
          "session_id", JString s.SessionId
          "module_name", JString s.ModuleName
          "invocation_index", JInt(BigInteger s.InvocationIndex)
          "input_shape", shapeToJson s.InputShape
          "output_shape", shapeToJson s.OutputShape
          "x", matrixToJson s.X
          "delta", matrixToJson s.Delta
          "fixed_point", fixedPointToJson s.FixedPoint
          "scaling", scalingToJson s.Scaling
          "rank", JInt(BigInteger s.Rank)
          "adapter_commitment", commitmentToJson s.AdapterCommitment ]

    let private bodyKeys =
        [ "schema_version"; "backend"; "circuit_id"; "session_id"; "module_name"; "invocation_index"; "input_shape"
          "output_shape"; "x"; "delta"; "fixed_point"; "scaling"; "rank"; "adapter_commitment" ]

    /// Reads the body (everything but statement_digest) strictly.
    let private bodyOfFields (f: Map<string, JValue>) : Result<Statement, string> =
        result {
            do! JsonRead.knownId "$.schema_version" "statement schema" statementSchema f["schema_version"]
            do! JsonRead.knownId "$.backend" "backend" backend f["backend"]
            let! circuit = stringOfJson "$.circuit_id" validateCircuitId f["circuit_id"]
            let! session = stringOfJson "$.session_id" ArtifactNames.validateSessionId f["session_id"]
            let! name = stringOfJson "$.module_name" ArtifactNames.validateModuleName f["module_name"]
            let! index = JsonRead.int64In "$.invocation_index" 0L Int64.MaxValue f["invocation_index"]
            let! input = shapeOfJson "$.input_shape" f["input_shape"]
            let! output = shapeOfJson "$.output_shape" f["output_shape"]
            do! TranscriptEntry.checkShapes "$" input output
            let! cfg = fixedPointOfJson "$.fixed_point" f["fixed_point"]
            let! scaling = scalingOfJson "$.scaling" f["scaling"]
            let! rank = JsonRead.intIn "$.rank" 1 maxDim f["rank"]
            let! c = commitmentOfJson "$.adapter_commitment" f["adapter_commitment"]
            let bound = valueBound cfg
            let rows, inDim = rowsAndCols input
            let _, outDim = rowsAndCols output
            do! if inDim > int64 maxDim || outDim > int64 maxDim then Error(sprintf "$: in_dim %d / out_dim %d exceed %d" inDim outDim maxDim) else Ok()
            let! x = matrixOfJson "$.x" rows inDim bound f["x"]
            let! delta = matrixOfJson "$.delta" rows outDim bound f["delta"]
            return { SessionId = session; ModuleName = name; InvocationIndex = index; InputShape = input; OutputShape = output
                     X = x; Delta = delta; FixedPoint = cfg; Scaling = scaling; Rank = rank; AdapterCommitment = c; CircuitId = circuit }
        }

    /// SHA-256 hex of the canonical statement body (the value the proof binds to).
    let digest (s: Statement) : Result<string, string> =
        let body = JObject(bodyFields s)
        // validate by the reader's rules first
        JsonRead.exactObject "$" bodyKeys body
        |> Result.bind bodyOfFields
        |> Result.bind (fun _ -> CanonicalJson.digest body)

    /// The JSON value including statement_digest.
    let toJsonValue (s: Statement) : Result<JValue, string> =
        digest s |> Result.map (fun d -> JObject(bodyFields s @ [ "statement_digest", JString d ]))

    let toJson (s: Statement) = toJsonValue s |> Result.bind CanonicalJson.toCanonicalString

    /// Strict reader; also recomputes statement_digest and rejects a mismatch.
    let ofJsonValue (v: JValue) : Result<Statement, string> =
        result {
            let! f = JsonRead.exactObject "$" (bodyKeys @ [ "statement_digest" ]) v
            let! claimed = stringOfJson "$.statement_digest" validateDigestHex f["statement_digest"]
            let! s = bodyOfFields f
            let! actual = digest s
            if actual <> claimed then
                return! Error(sprintf "$.statement_digest: %s does not match the statement's digest %s" claimed actual)
            else return s
        }

    let parseBytes (utf8: ReadOnlyMemory<byte>) = CanonicalJson.parseBytes utf8 |> Result.bind ofJsonValue
    let parse (text: string) = CanonicalJson.parse text |> Result.bind ofJsonValue
    let readFile (path: string) = ArtifactCommon.readFile "statement" parseBytes path
    let writeFile (path: string) (s: Statement) = ArtifactCommon.writeFile "statement" path (toJson s)

    let private mismatch (what: string) = Error(DiffersFromEntry(sprintf "statement does not match: %s differs" what))
    let private manifestMismatch (what: string) = Error(DiffersFromManifest(sprintf "statement does not match: %s (manifest) differs" what))

    /// Checks that a transcript entry and a manifest adapter agree (module, dims, config,
    /// scaling) — the precondition for proving or verifying that entry with that adapter.
    let checkEntryAgainstAdapter (e: TranscriptEntry) (a: ManifestAdapter) : Result<unit, string> =
        let _, inDim = rowsAndCols e.InputShape
        let _, outDim = rowsAndCols e.OutputShape
        if e.ModuleName <> a.ModuleName then Error(sprintf "transcript module '%s' is not manifest module '%s'" e.ModuleName a.ModuleName)
        elif inDim <> int64 a.Shape.InDim then Error(sprintf "module '%s': transcript in_dim %d, manifest in_dim %d" a.ModuleName inDim a.Shape.InDim)
        elif outDim <> int64 a.Shape.OutDim then Error(sprintf "module '%s': transcript out_dim %d, manifest out_dim %d" a.ModuleName outDim a.Shape.OutDim)
        elif e.FixedPoint <> a.FixedPoint then Error(sprintf "module '%s': transcript fixed-point config %A differs from the manifest's %A" a.ModuleName e.FixedPoint a.FixedPoint)
        elif e.Scaling <> a.Scaling then Error(sprintf "module '%s': transcript scaling %O/%O differs from the manifest's %O/%O" a.ModuleName e.Scaling.Num e.Scaling.Den a.Scaling.Num a.Scaling.Den)
        else Ok()

    /// The statement for a transcript entry under a manifest adapter and circuit.
    let ofEntry (e: TranscriptEntry) (a: ManifestAdapter) (circuitId: string) : Result<Statement, string> =
        checkEntryAgainstAdapter e a
        |> Result.bind (fun () -> Manifest.poseidonCommitment a)
        |> Result.bind (fun commitment ->
            let s =
                { SessionId = e.SessionId; ModuleName = e.ModuleName; InvocationIndex = e.InvocationIndex
                  InputShape = e.InputShape; OutputShape = e.OutputShape; X = e.X; Delta = e.Delta
                  FixedPoint = e.FixedPoint; Scaling = e.Scaling; Rank = a.Shape.Rank
                  AdapterCommitment = commitment; CircuitId = circuitId }
            digest s |> Result.map (fun _ -> s))

    /// Exact statement match (the verifier's check): the statement covers exactly this
    /// transcript entry — same key, shapes, every x and delta value, config and scaling — and
    /// carries the pinned manifest's rank and commitment.
    let checkAgainst (e: TranscriptEntry) (a: ManifestAdapter) (s: Statement) : Result<unit, StatementMismatch> =
        checkEntryAgainstAdapter e a
        |> Result.mapError DiffersFromManifest
        |> Result.bind (fun () ->
            if s.SessionId <> e.SessionId then mismatch "session_id"
            elif s.ModuleName <> e.ModuleName then mismatch "module_name"
            elif s.InvocationIndex <> e.InvocationIndex then mismatch "invocation_index"
            elif s.InputShape <> e.InputShape then mismatch "input_shape"
            elif s.OutputShape <> e.OutputShape then mismatch "output_shape"
            elif s.X <> e.X then mismatch "x (the activations B sent)"
            elif s.Delta <> e.Delta then mismatch "delta (the values B received)"
            elif s.FixedPoint <> e.FixedPoint then mismatch "fixed_point"
            elif s.Scaling <> e.Scaling then mismatch "scaling"
            elif s.Rank <> a.Shape.Rank then manifestMismatch "rank"
            elif PoseidonCommitment s.AdapterCommitment <> a.Commitment then manifestMismatch "adapter_commitment"
            else Ok())

[<RequireQualifiedAccess>]
module ProofMeta =

    let toJsonValue (m: ProofMeta) =
        JObject [ "schema_version", JString metaSchema
                  "backend", JString backend
                  "circuit_id", JString m.CircuitId
                  "statement_digest", JString m.StatementDigest
                  "proof_digest", JString m.ProofDigest ]

    let ofJsonValue (v: JValue) : Result<ProofMeta, string> =
        result {
            let! f = JsonRead.exactObject "$" [ "schema_version"; "backend"; "circuit_id"; "statement_digest"; "proof_digest" ] v
            do! JsonRead.knownId "$.schema_version" "meta schema" metaSchema f["schema_version"]
            do! JsonRead.knownId "$.backend" "backend" backend f["backend"]
            let! circuit = stringOfJson "$.circuit_id" validateCircuitId f["circuit_id"]
            let! sd = stringOfJson "$.statement_digest" validateDigestHex f["statement_digest"]
            let! pd = stringOfJson "$.proof_digest" validateDigestHex f["proof_digest"]
            return { CircuitId = circuit; StatementDigest = sd; ProofDigest = pd }
        }

    let validate (m: ProofMeta) = ofJsonValue (toJsonValue m) |> Result.map (fun _ -> m)
    let toJson (m: ProofMeta) = validate m |> Result.bind (toJsonValue >> CanonicalJson.toCanonicalString)
    let parseBytes (utf8: ReadOnlyMemory<byte>) = CanonicalJson.parseBytes utf8 |> Result.bind ofJsonValue
    let parse (text: string) = CanonicalJson.parse text |> Result.bind ofJsonValue
    let readFile (path: string) = ArtifactCommon.readFile "proof meta" parseBytes path
    let writeFile (path: string) (m: ProofMeta) = ArtifactCommon.writeFile "proof meta" path (toJson m)

    /// Metadata for a statement and its proof bytes.
    let create (s: Statement) (proof: ReadOnlySpan<byte>) : Result<ProofMeta, string> =
        let pd = CanonicalJson.sha256Hex proof
        Statement.digest s |> Result.map (fun sd -> { CircuitId = s.CircuitId; StatementDigest = sd; ProofDigest = pd })

    /// Checks metadata against the statement and the proof bytes it describes.
    let check (m: ProofMeta) (s: Statement) (proof: ReadOnlySpan<byte>) : Result<unit, string> =
        let pd = CanonicalJson.sha256Hex proof
        match Statement.digest s with
        | Error e -> Error e
        | Ok sd ->
            if m.CircuitId <> s.CircuitId then Error(sprintf "proof meta circuit id '%s' differs from the statement's '%s'" m.CircuitId s.CircuitId)
            elif m.StatementDigest <> sd then Error "proof meta statement_digest does not match the statement"
            elif m.ProofDigest <> pd then Error "proof meta proof_digest does not match the proof file"
            else Ok()
