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
      /// The hiding adapter commitment: Poseidon (`AdapterCommitment.scheme`, PLONK backend) or
      /// Pedersen (`ArtifactCommon.projectionScheme`, projection backend).
      Commitment: AdapterCommitmentValue }

/// The adapter manifest the verifier pins before inference:
/// `{schema_version, backend, commitment_scheme, adapters:[{module_name, in_dim, rank, out_dim,
/// fixed_point:{scale_bits,value_bits,intermediate_bits}, scaling:{num,den},
/// adapter_commitment:{scheme,value}}]}`. Module names are unique; (backend,
/// commitment_scheme) is one of the known pairs (`ArtifactCommon.backendOfIds`) and every
/// adapter's commitment is of that scheme, so one manifest uses one backend.
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
                  "adapter_commitment", anyCommitmentToJson a.Commitment ]

    /// The backend of a manifest: that of its first adapter (`validate` checks that all agree;
    /// PLONK for an empty list, which does not validate).
    let backendOf (m: Manifest) : ProofBackend =
        match m.Adapters with
        | a :: _ -> backendOfCommitment a.Commitment
        | [] -> Plonk

    /// The JSON value (not validated; `toJson` validates).
    let toJsonValue (m: Manifest) =
        let backendId, schemeId = backendIds (backendOf m)
        JObject [ "schema_version", JString manifestSchema
                  "backend", JString backendId
                  "commitment_scheme", JString schemeId
                  "adapters", JArray(m.Adapters |> List.map adapterToJson) ]

    let private adapterKeys =
        [ "module_name"; "in_dim"; "rank"; "out_dim"; "fixed_point"; "scaling"; "adapter_commitment" ]

    let private adapterOfJson (backend: ProofBackend) (path: string) (v: JValue) : Result<ManifestAdapter, string> =
        result {
            let! f = JsonRead.exactObject path adapterKeys v
            let! name = stringOfJson (path + ".module_name") ArtifactNames.validateModuleName f["module_name"]
            let! inDim = JsonRead.intIn (path + ".in_dim") 1 maxDim f["in_dim"]
            let! rank = JsonRead.intIn (path + ".rank") 1 maxDim f["rank"]
            let! outDim = JsonRead.intIn (path + ".out_dim") 1 maxDim f["out_dim"]
            let! cfg = fixedPointOfJson (path + ".fixed_point") f["fixed_point"]
            let! scaling = scalingOfJson (path + ".scaling") f["scaling"]
            let! c = anyCommitmentOfJson (path + ".adapter_commitment") backend f["adapter_commitment"]
            return { ModuleName = name; Shape = { InDim = inDim; Rank = rank; OutDim = outDim }
                     FixedPoint = cfg; Scaling = scaling; Commitment = c }
        }

    /// Strict reader: known schema/backend/scheme, exact fields, valid values, unique modules.
    let ofJsonValue (v: JValue) : Result<Manifest, string> =
        result {
            let! f = JsonRead.exactObject "$" [ "schema_version"; "backend"; "commitment_scheme"; "adapters" ] v
            do! JsonRead.knownId "$.schema_version" "manifest schema" manifestSchema f["schema_version"]
            let! backendId = JsonRead.str "$.backend" f["backend"]
            let! schemeId = JsonRead.str "$.commitment_scheme" f["commitment_scheme"]
            let! backend = backendOfIds backendId schemeId |> Result.mapError (fun e -> "$: " + e)
            let! items = JsonRead.list "$.adapters" f["adapters"]
            do! if items.IsEmpty then Error "$.adapters: a manifest lists at least one adapter" else Ok()
            let! adapters = items |> traverse (fun i a -> adapterOfJson backend (sprintf "$.adapters[%d]" i) a)
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
            |> Result.map (fun c -> { ModuleName = name; Shape = shape; FixedPoint = cfg; Scaling = s; Commitment = PoseidonCommitment c })
            |> Result.mapError (fun e -> sprintf "module '%s': %s" name e))

    /// A projection-backend manifest entry: the Pedersen commitment C_W = Com(A ‖ B; blind) of
    /// docs/projection-protocol.md §3, after the projection policy's shape and config checks and
    /// the weights' check against the adapter range (AdapterProof.adapterRange ⊂ ±value_bound). The blind (uniform, secret) stays with the caller, like a salt.
    let projectionAdapterOf (generators: ZkLora.Math.Commitment.PedersenGenerators) (moduleName: string) (shape: AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (blind: Fp)
                            (a: BigInteger[][]) (b: BigInteger[][]) : Result<ManifestAdapter, string> =
        ArtifactNames.validateModuleName moduleName
        |> Result.bind (fun name ->
            result {
                do! Projection.ProjectionCommon.Policy.checkConfig cfg
                do! Projection.ProjectionCommon.Policy.checkScaling s.Num s.Den
                do! Projection.ProjectionCommon.Policy.checkShape shape.InDim shape.Rank shape.OutDim
                let ps : Projection.AdapterProof.AdapterShape = { InDim = shape.InDim; Rank = shape.Rank; OutDim = shape.OutDim; Config = cfg }
                do! Projection.AdapterProof.checkWeights ps a b
                let c = ZkLora.Math.Commitment.PedersenVector.commit generators (Projection.AdapterProof.weightVector ps a b) blind
                return { ModuleName = name; Shape = shape; FixedPoint = cfg; Scaling = s; Commitment = PedersenCommitment(Vesta.toAffine c) }
            }
            |> Result.mapError (fun e -> sprintf "module '%s': %s" name e))

    /// The Poseidon commitment of a PLONK-backend entry (Error for a projection entry).
    let poseidonCommitment (a: ManifestAdapter) : Result<Fp, string> =
        match a.Commitment with
        | PoseidonCommitment c -> Ok c
        | PedersenCommitment _ -> Error(sprintf "module '%s' is committed for the projection backend, not the PLONK backend" a.ModuleName)

    /// The Pedersen commitment of a projection-backend entry (Error for a PLONK entry).
    let pedersenCommitment (a: ManifestAdapter) : Result<VestaAffine, string> =
        match a.Commitment with
        | PedersenCommitment c -> Ok c
        | PoseidonCommitment _ -> Error(sprintf "module '%s' is committed for the PLONK backend, not the projection backend" a.ModuleName)

    /// The adapter for a module, if the manifest has it.
    let tryFind (moduleName: string) (m: Manifest) = m.Adapters |> List.tryFind (fun a -> a.ModuleName = moduleName)
