namespace ZkLora.Proofs

open System
open System.Numerics
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.ArtifactCommon

/// One recorded module call, as the base-model user saw it (quantized).
///
/// `InputShape` is the activation tensor's shape (e.g. [batch, seq, in_dim]); `X` holds it as
/// rows × in_dim, rows = product of all but the last dimension (row-major flattening of the
/// leading dimensions). `OutputShape` has the same leading dimensions and out_dim last;
/// `Delta` is rows × out_dim. Values are within ±value_bound of `FixedPoint`.
type TranscriptEntry =
    { SessionId: string
      ModuleName: string
      InvocationIndex: int64
      InputShape: int64[]
      OutputShape: int64[]
      X: BigInteger[][]
      Delta: BigInteger[][]
      FixedPoint: FixedPointConfig
      Scaling: Scaling }

/// B's transcript: `{schema_version, entries:[{session_id, module_name, invocation_index,
/// input_shape, output_shape, x, delta, fixed_point, scaling_num, scaling_den}]}`, with `x`
/// and `delta` as nested lists of integers (rows × dim). (session, module, index) is unique.
type InferenceTranscript = { Entries: TranscriptEntry list }

[<RequireQualifiedAccess>]
module TranscriptEntry =
    let key (e: TranscriptEntry) : ArtifactNames.ProofKey =
        { SessionId = e.SessionId; ModuleName = e.ModuleName; InvocationIndex = e.InvocationIndex }

    let toJsonValue (e: TranscriptEntry) =
        JObject [ "session_id", JString e.SessionId
                  "module_name", JString e.ModuleName
                  "invocation_index", JInt(BigInteger e.InvocationIndex)
                  "input_shape", shapeToJson e.InputShape
                  "output_shape", shapeToJson e.OutputShape
                  "x", matrixToJson e.X
                  "delta", matrixToJson e.Delta
                  "fixed_point", fixedPointToJson e.FixedPoint
                  "scaling_num", JInt e.Scaling.Num
                  "scaling_den", JInt e.Scaling.Den ]

    let private keys =
        [ "session_id"; "module_name"; "invocation_index"; "input_shape"; "output_shape"; "x"; "delta"
          "fixed_point"; "scaling_num"; "scaling_den" ]

    /// Checks that the output shape has the input's leading dimensions.
    let checkShapes (path: string) (input: int64[]) (output: int64[]) : Result<unit, string> =
        if input.Length <> output.Length || input[.. input.Length - 2] <> output[.. output.Length - 2] then
            Error(sprintf "%s: output_shape %A must have the same leading dimensions as input_shape %A" path output input)
        else Ok()

    let ofJsonValue (path: string) (v: JValue) : Result<TranscriptEntry, string> =
        result {
            let! f = JsonRead.exactObject path keys v
            let! session = stringOfJson (path + ".session_id") ArtifactNames.validateSessionId f["session_id"]
            let! name = stringOfJson (path + ".module_name") ArtifactNames.validateModuleName f["module_name"]
            let! index = JsonRead.int64In (path + ".invocation_index") 0L Int64.MaxValue f["invocation_index"]
            let! input = shapeOfJson (path + ".input_shape") f["input_shape"]
            let! output = shapeOfJson (path + ".output_shape") f["output_shape"]
            do! checkShapes path input output
            let! cfg = fixedPointOfJson (path + ".fixed_point") f["fixed_point"]
            let! num = JsonRead.integer (path + ".scaling_num") f["scaling_num"]
            let! den = JsonRead.integer (path + ".scaling_den") f["scaling_den"]
            let! scaling = checkScaling path num den
            let bound = valueBound cfg
            let rows, inDim = rowsAndCols input
            let _, outDim = rowsAndCols output
            let! x = matrixOfJson (path + ".x") rows inDim bound f["x"]
            let! delta = matrixOfJson (path + ".delta") rows outDim bound f["delta"]
            return { SessionId = session; ModuleName = name; InvocationIndex = index; InputShape = input; OutputShape = output
                     X = x; Delta = delta; FixedPoint = cfg; Scaling = scaling }
        }

[<RequireQualifiedAccess>]
module InferenceTranscript =

    let toJsonValue (t: InferenceTranscript) =
        JObject [ "schema_version", JString transcriptSchema
                  "entries", JArray(t.Entries |> List.map TranscriptEntry.toJsonValue) ]

    /// Strict reader: known schema, exact fields, shapes matching value counts, values in
    /// bounds, unique (session, module, index).
    let ofJsonValue (v: JValue) : Result<InferenceTranscript, string> =
        result {
            let! f = JsonRead.exactObject "$" [ "schema_version"; "entries" ] v
            do! JsonRead.knownId "$.schema_version" "transcript schema" transcriptSchema f["schema_version"]
            let! items = JsonRead.list "$.entries" f["entries"]
            let! entries = items |> traverse (fun i e -> TranscriptEntry.ofJsonValue (sprintf "$.entries[%d]" i) e)
            match entries |> List.countBy TranscriptEntry.key |> List.tryFind (fun (_, n) -> n > 1) with
            | Some(k, _) ->
                return! Error(sprintf "$.entries: session '%s', module '%s', invocation %d appears more than once" k.SessionId k.ModuleName k.InvocationIndex)
            | None -> return { Entries = entries }
        }

    let validate (t: InferenceTranscript) : Result<InferenceTranscript, string> = ofJsonValue (toJsonValue t) |> Result.map (fun _ -> t)
    let toJson (t: InferenceTranscript) = validate t |> Result.bind (toJsonValue >> CanonicalJson.toCanonicalString)
    let digest (t: InferenceTranscript) = validate t |> Result.bind (toJsonValue >> CanonicalJson.digest)
    let parseBytes (utf8: ReadOnlyMemory<byte>) = CanonicalJson.parseBytes utf8 |> Result.bind ofJsonValue
    let parse (text: string) = CanonicalJson.parse text |> Result.bind ofJsonValue
    let readFile (path: string) = ArtifactCommon.readFile "transcript" parseBytes path
    let writeFile (path: string) (t: InferenceTranscript) = ArtifactCommon.writeFile "transcript" path (toJson t)

    /// The entry for a proof key, if present.
    let tryFind (k: ArtifactNames.ProofKey) (t: InferenceTranscript) = t.Entries |> List.tryFind (fun e -> TranscriptEntry.key e = k)
