module ZkLora.Proofs.Tests.ArtifactTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open System.Text.Json.Nodes
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.AdapterCommitment
open ZkLora.Proofs.Tests.ProofsKat

let private vectors = load "canonical_json.json"

// ---------------------------------------------------------------------------------------
// Generators of valid artifacts

let private genName (first: char list) (rest: char list) maxLen =
    gen {
        let! n = Gen.choose (0, maxLen - 1)
        let! f = Gen.elements first
        let! r = Gen.arrayOfLength n (Gen.elements rest)
        return String(Array.append [| f |] r)
    }

let private alnum = [ 'a'; 'Z'; '0'; '9'; '_' ]
let private genSession = genName alnum (alnum @ [ '-' ]) 12
/// Module names with dot-separated components (never "..", never a trailing '.').
let private genModule =
    Gen.choose (1, 4) |> Gen.bind (fun n -> Gen.listOfLength n (genName alnum (alnum @ [ '-' ]) 6)) |> Gen.map (String.concat ".")

let private genConfig =
    Gen.elements [ defaultConfig; { ScaleBits = 0; ValueBits = 8; IntermediateBits = 16 }; { ScaleBits = 10; ValueBits = 100; IntermediateBits = 250 } ]

let private genScaling =
    Gen.zip (Gen.choose (-50, 50)) (Gen.choose (1, 50))
    |> Gen.map (fun (n, d) -> expectOk (scaling (BigInteger n) (BigInteger d)) "scaling")

let private genFp = Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte) |> Gen.map (fun b -> Fp.OfBigInteger(BigInteger(ReadOnlySpan b, isUnsigned = true)))

let private genAdapter =
    gen {
        let! name = genModule
        let! i, r, o = Gen.zip3 (Gen.choose (1, 5000)) (Gen.choose (1, 64)) (Gen.choose (1, 5000))
        let! cfg = genConfig
        let! s = genScaling
        let! c = genFp
        return { ModuleName = name; Shape = { InDim = i; Rank = r; OutDim = o }; FixedPoint = cfg; Scaling = s; Commitment = ArtifactCommon.PoseidonCommitment c }
    }

let private genManifest =
    Gen.choose (1, 4) |> Gen.bind (fun n -> Gen.listOfLength n genAdapter)
    |> Gen.map (fun adapters -> { Adapters = List.distinctBy (fun a -> a.ModuleName) adapters })

let private genEntry =
    gen {
        let! session = genSession
        let! name = genModule
        let! index = Gen.choose (0, 100000) |> Gen.map int64
        let! cfg = genConfig
        let! s = genScaling
        let! lead = Gen.choose (0, 2) |> Gen.bind (fun n -> Gen.arrayOfLength n (Gen.choose (1, 3) |> Gen.map int64))
        let! inDim, outDim = Gen.zip (Gen.choose (1, 5)) (Gen.choose (1, 5))
        let rows = lead |> Array.fold (*) 1L |> int
        let v = genBounded (valueBound cfg)
        let! x = Gen.arrayOfLength rows (Gen.arrayOfLength inDim v)
        let! delta = Gen.arrayOfLength rows (Gen.arrayOfLength outDim v)
        return { SessionId = session; ModuleName = name; InvocationIndex = index
                 InputShape = Array.append lead [| int64 inDim |]; OutputShape = Array.append lead [| int64 outDim |]
                 X = x; Delta = delta; FixedPoint = cfg; Scaling = s }
    }

let private genTranscript =
    Gen.choose (0, 3) |> Gen.bind (fun n -> Gen.listOfLength n genEntry)
    |> Gen.map (fun es -> { Entries = List.distinctBy TranscriptEntry.key es })

let private genStatement =
    gen {
        let! e = genEntry
        let! rank = Gen.choose (1, 8)
        let! c = genFp
        let! circuit = genName [ 'z' ] [ 'a'; ':'; '='; ','; '9'; '-' ] 20
        return { SessionId = e.SessionId; ModuleName = e.ModuleName; InvocationIndex = e.InvocationIndex
                 InputShape = e.InputShape; OutputShape = e.OutputShape; X = e.X; Delta = e.Delta
                 FixedPoint = e.FixedPoint; Scaling = e.Scaling; Rank = rank; AdapterCommitment = c; CircuitId = circuit }
    }

/// Reformats JSON text: indented, object keys reversed (a non-canonical but equal document).
let private reformat (text: string) =
    let rec rev (n: JsonNode) : JsonNode =
        match n with
        | :? JsonObject as o ->
            let items = [ for kv in o -> kv.Key, kv.Value ] |> List.rev
            let out = JsonObject()
            for k, v in items do out[k] <- (if isNull v then null else rev (v.DeepClone()))
            out :> JsonNode
        | :? JsonArray as a ->
            let out = JsonArray()
            for v in a do out.Add(rev (v.DeepClone()))
            out :> JsonNode
        | other -> other.DeepClone()
    (rev (JsonNode.Parse text)).ToJsonString(JsonSerializerOptions(WriteIndented = true))

let private cfgRT = { config with maxTest = 60 }

let roundTrips =
    testList "artifact round trips" [
        testPropertyWithConfig cfgRT "manifest: parse (toJson m) = m, canonical bytes stable under reformatting" (
            Prop.forAll (Arb.fromGen genManifest) (fun m ->
                let text = expectOk (Manifest.toJson m) "toJson"
                Manifest.parse text = Ok m && Manifest.toJson (expectOk (Manifest.parse (reformat text)) "reformatted") = Ok text))
        testPropertyWithConfig cfgRT "transcript: parse (toJson t) = t, stable under reformatting" (
            Prop.forAll (Arb.fromGen genTranscript) (fun t ->
                let text = expectOk (InferenceTranscript.toJson t) "toJson"
                InferenceTranscript.parse text = Ok t && InferenceTranscript.toJson (expectOk (InferenceTranscript.parse (reformat text)) "reformatted") = Ok text))
        testPropertyWithConfig cfgRT "statement: parse (toJson s) = s, digest stable" (
            Prop.forAll (Arb.fromGen genStatement) (fun s ->
                let text = expectOk (Statement.toJson s) "toJson"
                Statement.parse text = Ok s && Statement.parse (reformat text) = Ok s))
        testPropertyWithConfig cfgRT "meta: parse (toJson m) = m" (
            Prop.forAll (Arb.fromGen (Gen.zip genStatement (Gen.arrayOfLength 40 (Gen.choose (0, 255) |> Gen.map byte)))) (fun (s, proof) ->
                let m = expectOk (ProofMeta.create s (ReadOnlySpan proof)) "create"
                ProofMeta.parse (expectOk (ProofMeta.toJson m) "toJson") = Ok m && ProofMeta.check m s (ReadOnlySpan proof) = Ok()))
        testPropertyWithConfig cfgRT "file names parse back to their key" (
            Prop.forAll (Arb.fromGen (Gen.zip3 genSession genModule (Gen.choose (0, Int32.MaxValue)))) (fun (s, m, i) ->
                let k: ArtifactNames.ProofKey = { SessionId = s; ModuleName = m; InvocationIndex = int64 i }
                [ ArtifactNames.statementFileName k; ArtifactNames.proofFileName k; ArtifactNames.metaFileName k ]
                |> List.forall (fun f -> match f with Ok name -> (ArtifactNames.tryParseFileName name |> Result.map fst) = Ok k | Error _ -> false)))
        test "adapterOf commits, and the salt never appears in the manifest" {
            let salt = newSalt ()
            let a, b = [| [| 3I; -4I |] |], [| [| 5I |]; [| 6I |]; [| -7I |] |]
            let shape = { InDim = 2; Rank = 1; OutDim = 3 }
            let ad = expectOk (Manifest.adapterOf "h.3.mlp" shape defaultConfig { Num = 1I; Den = 2I } salt a b) "adapterOf"
            Expect.equal (Manifest.poseidonCommitment ad) (commit shape defaultConfig { Num = 1I; Den = 2I } salt a b) "commitment"
            let text = expectOk (Manifest.toJson { Adapters = [ ad ] }) "toJson"
            Expect.isFalse (text.Contains((toHex salt).Substring 2)) "salt not in the manifest"
            expectError (Manifest.adapterOf "a/b" shape defaultConfig { Num = 1I; Den = 2I } salt a b) "module name" "bad name"
            expectError (Manifest.adapterOf "m" { shape with OutDim = 2 } defaultConfig { Num = 1I; Den = 2I } salt a b) "module 'm'" "bad shape"
        }
        test "files: write and read back" {
            let dir = Directory.CreateTempSubdirectory("zklora-art-")
            try
                let m = Gen.sample 1 genManifest |> Array.head
                let p = Path.Combine(dir.FullName, "manifest.json")
                expectOk (Manifest.writeFile p m) "write"
                Expect.equal (Manifest.readFile p) (Ok m) "read"
                expectError (Manifest.readFile (Path.Combine(dir.FullName, "nope.json"))) "does not exist" "missing"
                File.WriteAllText(p, "{")
                expectError (Manifest.readFile p) "invalid JSON" "corrupt"
            finally
                dir.Delete true
        }
    ]

let knownAnswers =
    testList "artifact encodings known answers (Python)" [
        test "manifest, transcript, statement, meta: canonical text and digest" {
            let a = vectors.Value.GetProperty "artifacts"
            let check (name: string) (parse: string -> Result<'T, string>) (toJson: 'T -> Result<string, string>) =
                let c = a.GetProperty name
                let v = expectOk (parse (c.GetProperty("input").GetString())) name
                let text = expectOk (toJson v) name
                Expect.equal text (c.GetProperty("canonical").GetString()) (name + " canonical text")
                Expect.equal (CanonicalJson.sha256Hex (ReadOnlySpan(Text.Encoding.ASCII.GetBytes text))) (c.GetProperty("sha256").GetString()) (name + " digest")
                v
            let m = check "manifest" Manifest.parse Manifest.toJson
            Expect.equal (Manifest.digest m) (Ok(a.GetProperty("manifest").GetProperty("sha256").GetString())) "manifest digest"
            check "transcript" InferenceTranscript.parse InferenceTranscript.toJson |> ignore
            let s = check "statement" Statement.parse Statement.toJson
            let meta = check "meta" ProofMeta.parse ProofMeta.toJson
            let proof = Convert.FromHexString(a.GetProperty("proof_hex").GetString())
            Expect.equal (ProofMeta.check meta s (ReadOnlySpan proof)) (Ok()) "meta matches the statement and proof"
            Expect.equal (Statement.digest s) (Ok meta.StatementDigest) "statement digest"
        }
    ]

// ---------------------------------------------------------------------------------------
// Negative tests: one per validation rule

/// Edits a canonical artifact text with a JsonNode mutation and parses it again.
let private mutate (text: string) (edit: JsonObject -> unit) =
    let node = JsonNode.Parse(text).AsObject()
    edit node
    node.ToJsonString()

let private sampleManifest =
    { Adapters =
        [ { ModuleName = "h.0.attn.c_attn"; Shape = { InDim = 4; Rank = 2; OutDim = 3 }; FixedPoint = defaultConfig
            Scaling = { Num = BigInteger 2; Den = BigInteger.One }; Commitment = ArtifactCommon.PoseidonCommitment(Fp.OfUInt64 77UL) } ] }

let private sampleEntry =
    { SessionId = "s1"; ModuleName = "h.0.attn.c_attn"; InvocationIndex = 0L; InputShape = [| 1L; 2L; 4L |]; OutputShape = [| 1L; 2L; 3L |]
      X = [| [| 1I; 2I; 3I; 4I |]; [| -1I; -2I; -3I; -4I |] |]; Delta = [| [| 5I; 6I; 7I |]; [| 0I; 0I; 0I |] |]
      FixedPoint = defaultConfig; Scaling = { Num = BigInteger 2; Den = BigInteger.One } }

let private sampleStatement = expectOk (Statement.ofEntry sampleEntry sampleManifest.Adapters.Head "zklora-lora-v1:test") "statement"

let private manifestText = expectOk (Manifest.toJson sampleManifest) "manifest"
let private transcriptText = expectOk (InferenceTranscript.toJson { Entries = [ sampleEntry ] }) "transcript"
let private statementText = expectOk (Statement.toJson sampleStatement) "statement"

let private adapter0 (o: JsonObject) = o["adapters"].AsArray().[0].AsObject()
let private entry0 (o: JsonObject) = o["entries"].AsArray().[0].AsObject()

let private badManifest edit fragment = expectError (Manifest.parse (mutate manifestText edit)) fragment fragment
let private badTranscript edit fragment = expectError (InferenceTranscript.parse (mutate transcriptText edit)) fragment fragment
let private badStatement edit fragment = expectError (Statement.parse (mutate statementText edit)) fragment fragment

let manifestNegatives =
    testList "manifest rejects" [
        test "unknown schema_version" { badManifest (fun o -> o["schema_version"] <- JsonValue.Create("zklora.manifest.v2")) "unknown manifest schema 'zklora.manifest.v2'" }
        test "unknown backend" { badManifest (fun o -> o["backend"] <- JsonValue.Create("other")) "unknown backend" }
        test "unknown commitment scheme" { badManifest (fun o -> o["commitment_scheme"] <- JsonValue.Create("sha256")) "unknown backend/commitment scheme pair" }
        test "adapter with another scheme" { badManifest (fun o -> (adapter0 o).["adapter_commitment"].AsObject().["scheme"] <- JsonValue.Create("x")) "$.adapters[0].adapter_commitment.scheme" }
        test "missing field" { badManifest (fun o -> (adapter0 o).Remove("rank") |> ignore) "missing field 'rank'" }
        test "extra field" { badManifest (fun o -> (adapter0 o).["salt"] <- JsonValue.Create("0x00")) "unknown field 'salt'" }
        test "extra top-level field" { badManifest (fun o -> o["note"] <- JsonValue.Create("hi")) "unknown field 'note'" }
        test "wrong type" { badManifest (fun o -> (adapter0 o).["in_dim"] <- JsonValue.Create("4")) "$.adapters[0].in_dim: expected an integer" }
        test "negative dim" { badManifest (fun o -> (adapter0 o).["out_dim"] <- JsonValue.Create(-3)) "outside the allowed range" }
        test "zero dim" { badManifest (fun o -> (adapter0 o).["rank"] <- JsonValue.Create(0)) "outside the allowed range" }
        test "float dim" { badManifest (fun o -> (adapter0 o).["rank"] <- JsonValue.Create(2.5)) "not an integer" }
        test "bad fixed point" { badManifest (fun o -> (adapter0 o).["fixed_point"].AsObject().["scale_bits"] <- JsonValue.Create(70)) "scale_bits" }
        test "den <= 0" { badManifest (fun o -> (adapter0 o).["scaling"].AsObject().["den"] <- JsonValue.Create(0)) "> 0" }
        test "unreduced scaling" {
            badManifest (fun o -> (adapter0 o).["scaling"].AsObject().["num"] <- JsonValue.Create(4); (adapter0 o).["scaling"].AsObject().["den"] <- JsonValue.Create(2)) "not reduced"
        }
        test "bad commitment value" { badManifest (fun o -> (adapter0 o).["adapter_commitment"].AsObject().["value"] <- JsonValue.Create("0x12")) "64 lowercase hex" }
        test "unsafe module name" { badManifest (fun o -> (adapter0 o).["module_name"] <- JsonValue.Create("../etc")) "module name" }
        test "duplicate module names" {
            badManifest (fun o -> o["adapters"].AsArray().Add((adapter0 o).DeepClone())) "appears more than once"
        }
        test "dim above the limit" { badManifest (fun o -> (adapter0 o).["in_dim"] <- JsonValue.Create(AdapterCommitment.maxDim + 1)) "outside the allowed range" }
        test "scaling too large to commit to" {
            badManifest (fun o -> (adapter0 o).["scaling"].AsObject().["num"] <- JsonNode.Parse("1809251394333065553493296640760748560207343510400633813116524750123642650625")) "too large"
        }
        test "no adapters" { badManifest (fun o -> o["adapters"] <- JsonArray()) "at least one adapter" }
        test "adapters not a list" { badManifest (fun o -> o["adapters"] <- JsonObject()) "expected an array" }
        test "writer validates too" { expectError (Manifest.toJson { Adapters = [ { sampleManifest.Adapters.Head with ModuleName = "a/b" } ] }) "module name" "writer" }
    ]

let transcriptNegatives =
    testList "transcript rejects" [
        test "unknown schema_version" { badTranscript (fun o -> o["schema_version"] <- JsonValue.Create("zklora.transcript.v0")) "unknown transcript schema" }
        test "missing field" { badTranscript (fun o -> (entry0 o).Remove("delta") |> ignore) "missing field 'delta'" }
        test "extra field" { badTranscript (fun o -> (entry0 o).["extra"] <- JsonValue.Create(1)) "unknown field 'extra'" }
        test "wrong type" { badTranscript (fun o -> (entry0 o).["x"] <- JsonValue.Create("1,2")) "expected an array" }
        test "negative invocation index" { badTranscript (fun o -> (entry0 o).["invocation_index"] <- JsonValue.Create(-1)) "outside the allowed range" }
        test "unsafe session id" { badTranscript (fun o -> (entry0 o).["session_id"] <- JsonValue.Create("a.b")) "session id" }
        test "empty shape" { badTranscript (fun o -> (entry0 o).["input_shape"] <- JsonArray()) "at least one dimension" }
        test "zero in a shape" { badTranscript (fun o -> (entry0 o).["input_shape"].AsArray().[0] <- JsonValue.Create(0)) "outside the allowed range" }
        test "leading dims differ" { badTranscript (fun o -> (entry0 o).["output_shape"].AsArray().[1] <- JsonValue.Create(3)) "same leading dimensions" }
        test "rows != shape" { badTranscript (fun o -> (entry0 o).["x"].AsArray().RemoveAt(1)) "expected 2 rows" }
        test "row length != in_dim" { badTranscript (fun o -> (entry0 o).["x"].AsArray().[0].AsArray().RemoveAt(0)) "expected 4 values" }
        test "delta row length != out_dim" { badTranscript (fun o -> (entry0 o).["delta"].AsArray().[1].AsArray().Add(JsonValue.Create(1))) "expected 3 values" }
        test "value out of bounds" {
            badTranscript (fun o -> (entry0 o).["x"].AsArray().[0].AsArray().[0] <- JsonNode.Parse("4611686018427387904")) "outside the value bound"
        }
        test "non-integer value" { badTranscript (fun o -> (entry0 o).["delta"].AsArray().[0].AsArray().[0] <- JsonValue.Create(0.5)) "not an integer" }
        test "scaling den <= 0" { badTranscript (fun o -> (entry0 o).["scaling_den"] <- JsonValue.Create(-1)) "> 0" }
        test "unreduced scaling" { badTranscript (fun o -> (entry0 o).["scaling_num"] <- JsonValue.Create(4); (entry0 o).["scaling_den"] <- JsonValue.Create(2)) "not reduced" }
        test "invalid fixed point" { badTranscript (fun o -> (entry0 o).["fixed_point"].AsObject().["intermediate_bits"] <- JsonValue.Create(10)) "intermediate_bits" }
        test "duplicate entries" { badTranscript (fun o -> o["entries"].AsArray().Add((entry0 o).DeepClone())) "appears more than once" }
        test "too many values" {
            badTranscript (fun o -> (entry0 o).["input_shape"] <- JsonNode.Parse("[100000, 100000, 4]")) "more than"
        }
    ]

let statementNegatives =
    testList "statement and meta reject" [
        test "digest mismatch (tampered x)" {
            badStatement (fun o -> o["x"].AsArray().[0].AsArray().[0] <- JsonValue.Create(99)) "does not match the statement's digest"
        }
        test "digest mismatch (tampered commitment)" {
            badStatement (fun o -> o["adapter_commitment"].AsObject().["value"] <- JsonValue.Create(toHex (Fp.OfUInt64 78UL))) "does not match"
        }
        test "unknown field" { badStatement (fun o -> o["salt"] <- JsonValue.Create("0x00")) "unknown field 'salt'" }
        test "bad digest format" { badStatement (fun o -> o["statement_digest"] <- JsonValue.Create("ABC")) "64 lowercase hex" }
        test "missing digest" { badStatement (fun o -> o.Remove("statement_digest") |> ignore) "missing field 'statement_digest'" }
        test "unknown schema" { badStatement (fun o -> o["schema_version"] <- JsonValue.Create("zklora.statement.v9")) "unknown statement schema" }
        test "unknown backend" { badStatement (fun o -> o["backend"] <- JsonValue.Create("halo2-kzg")) "unknown backend" }
        test "bad circuit id" { badStatement (fun o -> o["circuit_id"] <- JsonValue.Create("has space")) "circuit id" }
        test "rank 0" { badStatement (fun o -> o["rank"] <- JsonValue.Create(0)) "outside the allowed range" }
        test "shape mismatch" { badStatement (fun o -> o["input_shape"] <- JsonNode.Parse("[3, 4]"); o["output_shape"] <- JsonNode.Parse("[3, 3]")) "expected 3 rows" }
        test "checkAgainst: every field" {
            let a = sampleManifest.Adapters.Head
            let s = sampleStatement
            Expect.equal (Statement.checkAgainst sampleEntry a s) (Ok()) "matches"
            let entrySide (r: Result<unit, StatementMismatch>) = match r with Error(DiffersFromEntry m) -> Error m | Error(DiffersFromManifest m) -> Ok(failtestf "classified as a manifest mismatch: %s" m) | Ok() -> Ok()
            let manifestSide (r: Result<unit, StatementMismatch>) = match r with Error(DiffersFromManifest m) -> Error m | Error(DiffersFromEntry m) -> Ok(failtestf "classified as an entry mismatch: %s" m) | Ok() -> Ok()
            expectError (entrySide <| Statement.checkAgainst sampleEntry a { s with X = [| [| 1I; 2I; 3I; 5I |]; s.X[1] |] }) "x (the activations" "x"
            expectError (entrySide <| Statement.checkAgainst sampleEntry a { s with Delta = [| s.Delta[0]; [| 0I; 0I; 1I |] |] }) "delta" "delta"
            expectError (entrySide <| Statement.checkAgainst sampleEntry a { s with InvocationIndex = 1L }) "invocation_index" "index"
            expectError (entrySide <| Statement.checkAgainst sampleEntry a { s with SessionId = "s2" }) "session_id" "session"
            expectError (manifestSide <| Statement.checkAgainst sampleEntry a { s with Rank = 3 }) "rank" "rank"
            expectError (manifestSide <| Statement.checkAgainst sampleEntry a { s with AdapterCommitment = Fp.One }) "adapter_commitment" "commitment"
            expectError (entrySide <| Statement.checkAgainst sampleEntry a { s with Scaling = { Num = 1I; Den = 1I } }) "scaling" "scaling"
            expectError (manifestSide <| Statement.checkAgainst sampleEntry { a with Shape = { a.Shape with InDim = 5 } } s) "in_dim" "manifest in_dim"
            expectError (manifestSide <| Statement.checkAgainst sampleEntry { a with FixedPoint = { defaultConfig with ScaleBits = 10 } } s) "fixed-point" "config"
            expectError (Statement.ofEntry sampleEntry { a with ModuleName = "other" } "c") "not manifest module" "module"
        }
        test "meta: check mismatches" {
            let proof = [| 1uy; 2uy; 3uy |]
            let m = expectOk (ProofMeta.create sampleStatement (ReadOnlySpan proof)) "meta"
            expectError (ProofMeta.check m sampleStatement (ReadOnlySpan [| 1uy; 2uy |])) "proof_digest" "proof"
            expectError (ProofMeta.check { m with StatementDigest = String('0', 64) } sampleStatement (ReadOnlySpan proof)) "statement_digest" "statement"
            expectError (ProofMeta.check { m with CircuitId = "other" } sampleStatement (ReadOnlySpan proof)) "circuit id" "circuit"
            let text = expectOk (ProofMeta.toJson m) "toJson"
            expectError (ProofMeta.parse (mutate text (fun o -> o["schema_version"] <- JsonValue.Create("zklora.meta.v2")))) "unknown meta schema" "schema"
            expectError (ProofMeta.parse (mutate text (fun o -> o["proof_digest"] <- JsonValue.Create("xyz")))) "64 lowercase hex" "digest"
            expectError (ProofMeta.parse (mutate text (fun o -> o.Remove("circuit_id") |> ignore))) "missing field 'circuit_id'" "missing"
            expectError (ProofMeta.toJson { m with ProofDigest = "" }) "64 lowercase hex" "writer"
        }
    ]

let nameNegatives =
    testList "names reject" [
        test "session ids" {
            for bad, fragment in [ "", "empty"; "a.b", "may only"; "a/b", "may only"; "a\\b", "may only"; "..", "may only"
                                   "a b", "may only"; "a\u0000b", "may only"; "\u00e9", "may only"; "-x", "start"; String('a', 65), "longer" ] do
                expectError (ArtifactNames.validateSessionId bad) fragment (sprintf "session %A" bad)
            Expect.isOk (ArtifactNames.validateSessionId "Sess_01-a") "valid"
        }
        test "module names" {
            for bad, fragment in [ "", "empty"; "a/b", "may only"; "a\\b", "may only"; "a..b", "'..'"; ".a", "start"; "-a", "start"
                                   "a.", "end"; "a b", "may only"; "a\nb", "may only"; "é", "may only"; String('a', 129), "longer" ] do
                expectError (ArtifactNames.validateModuleName bad) fragment (sprintf "module %A" bad)
            Expect.isOk (ArtifactNames.validateModuleName "base_model.model.transformer.h.0.attn.c_attn") "PEFT path"
        }
        test "file names" {
            expectError (ArtifactNames.statementFileName ({ SessionId = "s"; ModuleName = "m"; InvocationIndex = -1L }: ArtifactNames.ProofKey)) "≥ 0" "negative index"
            Expect.equal (ArtifactNames.proofFileName ({ SessionId = "s"; ModuleName = "h.0.m"; InvocationIndex = 12L }: ArtifactNames.ProofKey)) (Ok "s.h.0.m.12.zklora.proof") "proof name"
            expectError (ArtifactNames.tryParseFileName "s.m.01.zklora.proof") "canonical" "leading zero"
            expectError (ArtifactNames.tryParseFileName "s.m.x.zklora.proof") "canonical" "non-digit"
            expectError (ArtifactNames.tryParseFileName "sm.zklora.proof") "form" "too few parts"
            expectError (ArtifactNames.tryParseFileName "s.m.1.txt") "not a zkLoRA" "suffix"
            expectError (ArtifactNames.tryParseFileName "s..1.zklora.proof") "module name" "empty module"
        }
    ]

[<Tests>]
let tests = testList "Artifacts" [ roundTrips; knownAnswers; manifestNegatives; transcriptNegatives; statementNegatives; nameNegatives ]
