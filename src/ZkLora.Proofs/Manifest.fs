namespace ZkLora.Proofs

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.AdapterCommitment
open ZkLora.Proofs.ArtifactCommon

/// One LoRA module in a manifest.
type ManifestAdapter =
    { ModuleName: string
      Shape: AdapterShape
      FixedPoint: FixedPointConfig
      Scaling: Scaling
      /// The hiding adapter commitment (scheme `AdapterCommitment.scheme`).
      Commitment: Fp }

/// The adapter manifest the verifier pins before inference:
/// `{schema_version, backend, commitment_scheme, adapters:[{module_name, in_dim, rank, out_dim,
/// fixed_point:{scale_bits,value_bits,intermediate_bits}, scaling:{num,den},
/// adapter_commitment:{scheme,value}}]}`. Module names are unique.
type Manifest = { Adapters: ManifestAdapter list }

[<RequireQualifiedAccess>]
module Manifest =

    let private adapterToJson (a: ManifestAdapter) =
        JObject [ "module_name", JString a.ModuleName
                  "in_dim", JInt(BigInteger a.Shape.InDim)
                  "rank", JInt(BigInteger a.Shape.Rank)
                  "out_dim", JInt(BigInteger a.Shape.OutDim)
                  "fixed_point", fixedPointToJson a.FixedPoint
                  "scaling", scalingToJson a.Scaling
                  "adapter_commitment", commitmentToJson a.Commitment ]

    /// The JSON value (not validated; `toJson` validates).
    let toJsonValue (m: Manifest) =
        JObject [ "schema_version", JString manifestSchema
                  "backend", JString backend
                  "commitment_scheme", JString AdapterCommitment.scheme
                  "adapters", JArray(m.Adapters |> List.map adapterToJson) ]

    let private adapterKeys =
        [ "module_name"; "in_dim"; "rank"; "out_dim"; "fixed_point"; "scaling"; "adapter_commitment" ]

    let private adapterOfJson (path: string) (v: JValue) : Result<ManifestAdapter, string> =
        result {
            let! f = JsonRead.exactObject path adapterKeys v
            let! name = stringOfJson (path + ".module_name") ArtifactNames.validateModuleName f["module_name"]
            let! inDim = JsonRead.intIn (path + ".in_dim") 1 maxDim f["in_dim"]
            let! rank = JsonRead.intIn (path + ".rank") 1 maxDim f["rank"]
            let! outDim = JsonRead.intIn (path + ".out_dim") 1 maxDim f["out_dim"]
            let! cfg = fixedPointOfJson (path + ".fixed_point") f["fixed_point"]
            let! scaling = scalingOfJson (path + ".scaling") f["scaling"]
            let! c = commitmentOfJson (path + ".adapter_commitment") f["adapter_commitment"]
            return { ModuleName = name; Shape = { InDim = inDim; Rank = rank; OutDim = outDim }
                     FixedPoint = cfg; Scaling = scaling; Commitment = c }
        }

    /// Strict reader: known schema/backend/scheme, exact fields, valid values, unique modules.
    let ofJsonValue (v: JValue) : Result<Manifest, string> =
        result {
            let! f = JsonRead.exactObject "$" [ "schema_version"; "backend"; "commitment_scheme"; "adapters" ] v
            do! JsonRead.knownId "$.schema_version" "manifest schema" manifestSchema f["schema_version"]
            do! JsonRead.knownId "$.backend" "backend" backend f["backend"]
            do! JsonRead.knownId "$.commitment_scheme" "commitment scheme" AdapterCommitment.scheme f["commitment_scheme"]
            let! items = JsonRead.list "$.adapters" f["adapters"]
            do! if items.IsEmpty then Error "$.adapters: a manifest lists at least one adapter" else Ok()
            let! adapters = items |> traverse (fun i a -> adapterOfJson (sprintf "$.adapters[%d]" i) a)
            match adapters |> List.countBy (fun a -> a.ModuleName) |> List.tryFind (fun (_, n) -> n > 1) with
            | Some(name, _) -> return! Error(sprintf "$.adapters: module '%s' appears more than once" name)
            | None -> return { Adapters = adapters }
        }

    /// Checks a manifest by the reader's rules (so nothing is written that cannot be read back).
    let validate (m: Manifest) : Result<Manifest, string> =
        ofJsonValue (toJsonValue m) |> Result.map (fun _ -> m)

    /// Canonical JSON text.
    let toJson (m: Manifest) : Result<string, string> =
        validate m |> Result.bind (toJsonValue >> CanonicalJson.toCanonicalString)

    /// SHA-256 hex of the canonical JSON (what a verifier pins out of band).
    let digest (m: Manifest) : Result<string, string> =
        validate m |> Result.bind (toJsonValue >> CanonicalJson.digest)

    let parseBytes (utf8: ReadOnlyMemory<byte>) = CanonicalJson.parseBytes utf8 |> Result.bind ofJsonValue
    let parse (text: string) = CanonicalJson.parse text |> Result.bind ofJsonValue
    let readFile (path: string) = ArtifactCommon.readFile "manifest" parseBytes path
    let writeFile (path: string) (m: Manifest) = ArtifactCommon.writeFile "manifest" path (toJson m)

    /// A manifest entry for a module's quantized weights: validates the name and commits to
    /// (shape, config, scaling, salt, A, B). The salt stays with the caller.
    let adapterOf (moduleName: string) (shape: AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (salt: Fp)
                  (a: BigInteger[][]) (b: BigInteger[][]) : Result<ManifestAdapter, string> =
        ArtifactNames.validateModuleName moduleName
        |> Result.bind (fun name ->
            commit shape cfg s salt a b
            |> Result.map (fun c -> { ModuleName = name; Shape = shape; FixedPoint = cfg; Scaling = s; Commitment = c })
            |> Result.mapError (fun e -> sprintf "module '%s': %s" name e))

    /// The adapter for a module, if the manifest has it.
    let tryFind (moduleName: string) (m: Manifest) = m.Adapters |> List.tryFind (fun a -> a.ModuleName = moduleName)
