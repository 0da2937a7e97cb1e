/// Batch proving and batch verification: prove → verify end to end, and one test per
/// rejection the verifier must make.
module ZkLora.Proofs.Tests.ProofBatchTests

open System
open System.IO
open System.Numerics
open System.Threading
open Expecto
open ZkLora.Math
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.AdapterCommitment
open ZkLora.Proofs.ProofBatch
open ZkLora.Proofs.ProofVerify
open Microsoft.Extensions.Logging
open Microsoft.Extensions.Logging.Abstractions
open ZkLora.Tests.CapturingLogger

let private unwrap r = match r with Ok v -> v | Error e -> failtestf "unexpected error: %A" e

type private Module = { Adapter: ManifestAdapter; Private: PrivateAdapter }

let private randomModule (rnd: Random) (name: string) (i, r, o) (cfg: FixedPointConfig) (sc: Scaling) =
    let bits = min 20 (cfg.ValueBits / 2 - 2)
    let v () = BigInteger(rnd.NextInt64(-(1L <<< bits), 1L <<< bits))
    let a = Array.init r (fun _ -> Array.init i (fun _ -> v ()))
    let b = Array.init o (fun _ -> Array.init r (fun _ -> v ()))
    let salt = newSalt ()
    let entry = Manifest.adapterOf name { InDim = i; Rank = r; OutDim = o } cfg sc salt a b |> unwrap
    { Adapter = entry; Private = { A = a; B = b; Salt = salt } }

let private call (rnd: Random) (session: string) (m: Module) (index: int64) (rows: int) : TranscriptEntry =
    let cfg = m.Adapter.FixedPoint
    let bits = min 20 (cfg.ValueBits / 2 - 2)
    let xs = Array.init rows (fun _ -> Array.init m.Adapter.Shape.InDim (fun _ -> BigInteger(rnd.NextInt64(-(1L <<< bits), 1L <<< bits))))
    let delta = deltaRows cfg m.Private.A m.Private.B xs m.Adapter.Scaling.Num m.Adapter.Scaling.Den |> unwrap
    { SessionId = session; ModuleName = m.Adapter.ModuleName; InvocationIndex = index
      InputShape = [| 1L; int64 rows; int64 m.Adapter.Shape.InDim |]
      OutputShape = [| 1L; int64 rows; int64 m.Adapter.Shape.OutDim |]
      X = xs; Delta = delta; FixedPoint = cfg; Scaling = m.Adapter.Scaling }

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "zklora-batch-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private copyDir (src: string) =
    let d = tempDir ()
    for f in Directory.GetFiles src do File.Copy(f, Path.Combine(d, Path.GetFileName f))
    d

let private options = ProverContext { MaxDegreeOfParallelism = 2; MemoryBudgetBytes = 1L <<< 32; ProjectionCallsPerProof = 0; KeyCacheSize = 4 }

let private prove manifest (mods: Module list) calls dir =
    let adapters = mods |> List.map (fun m -> m.Adapter.ModuleName, m.Private) |> Map.ofList
    proveCalls options manifest adapters calls dir ignore CancellationToken.None

/// The shared fixture: two modules, four calls (two of module a with one row each, so they
/// share a circuit and go through the batch verifier together).
type private Fixture =
    { Dir: string
      Manifest: Manifest
      Transcript: InferenceTranscript
      Modules: Module list }

let private fixture =
    lazy (
        let rnd = Random 7
        let sc = { Num = BigInteger 2; Den = BigInteger 3 }
        let ma = randomModule rnd "model.h.0.attn.c_attn" (3, 2, 4) defaultConfig sc
        let mb = randomModule rnd "model.h.1.attn.c_attn" (2, 1, 3) defaultConfig { Num = BigInteger 1; Den = BigInteger 1 }
        let calls = [ call rnd "s1" ma 0L 1; call rnd "s1" ma 1L 1; call rnd "s1" ma 2L 2; call rnd "s1" mb 0L 1 ]
        let manifest = { Adapters = [ ma.Adapter; mb.Adapter ] }
        let dir = tempDir ()
        let written = prove manifest [ ma; mb ] calls dir |> unwrap
        Expect.equal written.Length 4 "four proofs written"
        { Dir = dir; Manifest = manifest; Transcript = { Entries = calls }; Modules = [ ma; mb ] })

let private fileOf (dir: string) (suffix: string) (session: string) (m: string) (i: int64) =
    Path.Combine(dir, sprintf "%s.%s.%d%s" session m i suffix)

let private expectFailure (kind: VerifyFailureKind) (contains: string) (r: Result<VerifySummary, VerifyFailure>) =
    match r with
    | Ok s -> failtestf "verification succeeded (%d proofs) but should fail with %A" s.Proofs kind
    | Error f ->
        Expect.equal f.Kind kind (sprintf "failure kind (message: %s)" f.Message)
        Expect.stringContains f.Message contains "message"

let private ma () = fixture.Value.Modules[0].Adapter.ModuleName
let private mb () = fixture.Value.Modules[1].Adapter.ModuleName

let private withEntry (i: int) (f: TranscriptEntry -> TranscriptEntry) (t: InferenceTranscript) =
    { Entries = t.Entries |> List.mapi (fun j e -> if i = j then f e else e) }

let private bump (m: BigInteger[][]) = m |> Array.mapi (fun t r -> r |> Array.mapi (fun k v -> if t = 0 && k = 0 then v + BigInteger.One else v))

/// Rewrites a statement file with a changed body and a consistent digest (an attacker who
/// recomputes SHA-256), returning nothing.
let private rewriteStatement (path: string) (f: Statement -> Statement) =
    let s = Statement.readFile path |> unwrap
    Statement.writeFile path (f s) |> unwrap

let private rewriteMeta (dir: string) (session: string) (m: string) (i: int64) =
    let st = Statement.readFile (fileOf dir ArtifactNames.statementSuffix session m i) |> unwrap
    let proof = File.ReadAllBytes(fileOf dir ArtifactNames.proofSuffix session m i)
    ProofMeta.writeFile (fileOf dir ArtifactNames.metaSuffix session m i) (ProofMeta.create st (ReadOnlySpan proof) |> unwrap) |> unwrap

[<Tests>]
let tests =
    testSequenced <| testList "batch prove / verify" [
        test "the fixture's proofs verify (files and in memory)" {
            let fx = fixture.Value
            let s = batchVerify fx.Dir fx.Transcript fx.Manifest NullLogger.Instance |> unwrap
            Expect.equal s.Proofs 4 "four proofs"
            Expect.equal s.Circuits 3 "three circuits (a with 1 row, a with 2 rows, b)"
            let d = tempDir ()
            InferenceTranscript.writeFile (Path.Combine(d, "t.json")) fx.Transcript |> unwrap
            Manifest.writeFile (Path.Combine(d, "m.json")) fx.Manifest |> unwrap
            let s2 = batchVerifyFiles fx.Dir (Path.Combine(d, "t.json")) (Path.Combine(d, "m.json")) NullLogger.Instance |> unwrap
            Expect.equal s2.Proofs 4 "four proofs from files"
        }
        test "the verifier logs each step to the host's ILogger: structured values, information level, the CLI's line texts" {
            let fx = fixture.Value
            let logger = CapturingLogger()
            batchVerify fx.Dir fx.Transcript fx.Manifest logger |> unwrap |> ignore
            let entries = logger.Entries
            Expect.all entries (fun e -> e.Level = LogLevel.Information) "every step that passed is information"
            Expect.isEmpty (logger.Entries |> List.filter (fun e -> e.Level >= LogLevel.Warning)) "nothing skipped, nothing failed"
            let named name = entries |> List.filter (fun e -> e.EventId.Name = name)
            // one policy message per module, with its name and parameters as values
            let policy = named "ModulePolicy"
            Expect.equal (policy |> List.map (fun e -> e.Values["Module"] :?> string) |> List.sort)
                (fx.Modules |> List.map (fun m -> m.Adapter.ModuleName) |> List.sort) "one ModulePolicy message per module, Module = its name"
            let a = fx.Modules.Head.Adapter
            let pa = policy |> List.find (fun e -> e.Values["Module"] :?> string = a.ModuleName)
            Expect.equal (pa.Values["ScaleBits"] :?> int) a.FixedPoint.ScaleBits "ScaleBits value"
            Expect.equal (pa.Values["ScalingDen"] :?> BigInteger) a.Scaling.Den "ScalingDen value"
            Expect.equal pa.Message
                (sprintf "module %s: fixed-point config (scale_bits %d, value_bits %d, intermediate_bits %d), scaling %O/%O"
                    a.ModuleName a.FixedPoint.ScaleBits a.FixedPoint.ValueBits a.FixedPoint.IntermediateBits a.Scaling.Num a.Scaling.Den)
                "the rendered text is the line zklora verify --verbose printed before"
            // one statement message per transcript entry, keyed by session, module and invocation
            let statements = named "StatementMatches"
            Expect.equal (statements |> List.map (fun e -> e.Values["SessionId"] :?> string, e.Values["Module"] :?> string, e.Values["Invocation"] :?> int64) |> List.sort)
                (fx.Transcript.Entries |> List.map (fun e -> e.SessionId, e.ModuleName, e.InvocationIndex) |> List.sort) "one per entry"
            let e0 = fx.Transcript.Entries.Head
            Expect.contains logger.Messages (sprintf "statement %s.%s.%d matches the transcript and the pinned manifest" e0.SessionId e0.ModuleName e0.InvocationIndex) "statement line"
            // one message per circuit batch, the proofs counted
            let circuits = named "CircuitProofsVerify"
            Expect.equal circuits.Length 3 "three circuits"
            Expect.equal (circuits |> List.sumBy (fun e -> e.Values["Proofs"] :?> int)) 4 "four proofs over the batches"
            Expect.all circuits (fun e -> e.Message.EndsWith(sprintf "proof(s) of circuit %s verify" (e.Values["CircuitId"] :?> string))) "circuit line"
        }
        test "a rejection is the returned error, not a log message" {
            let fx = fixture.Value
            let t = { Entries = fx.Transcript.Entries |> List.mapi (fun i e -> if i = 0 then { e with Delta = bump e.Delta } else e) }
            let logger = CapturingLogger()
            batchVerify fx.Dir t fx.Manifest logger |> expectFailure StatementMismatch "delta"
            Expect.isEmpty (logger.Entries |> List.filter (fun e -> e.Level >= LogLevel.Warning)) "no warning or error logged: the host reports the failure"
        }
        test "artifacts use the docs/design.md §4.5 names and the meta binds statement and proof" {
            let fx = fixture.Value
            let names = Directory.GetFiles fx.Dir |> Array.map Path.GetFileName |> Set.ofArray
            for e in fx.Transcript.Entries do
                for suffix in [ ArtifactNames.statementSuffix; ArtifactNames.proofSuffix; ArtifactNames.metaSuffix ] do
                    Expect.isTrue (names.Contains(sprintf "%s.%s.%d%s" e.SessionId e.ModuleName e.InvocationIndex suffix)) suffix
            Expect.equal names.Count 12 "exactly three files per call"
        }
        test "a transcript row without proof artifacts is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            for suffix in [ ArtifactNames.statementSuffix; ArtifactNames.proofSuffix; ArtifactNames.metaSuffix ] do
                File.Delete(fileOf d suffix "s1" (mb ()) 0L)
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Coverage "has no proof artifacts"
        }
        test "a missing proof file (statement present) is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            File.Delete(fileOf d ArtifactNames.proofSuffix "s1" (ma ()) 1L)
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Coverage "proof file is missing"
        }
        test "an extra statement (no transcript row) is rejected" {
            let fx = fixture.Value
            let t = { Entries = fx.Transcript.Entries |> List.filter (fun e -> not (e.ModuleName = ma () && e.InvocationIndex = 2L)) }
            batchVerify fx.Dir t fx.Manifest NullLogger.Instance |> expectFailure Coverage "extra statement"
        }
        test "a duplicate statement (one call's statement under another call's name) is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            for suffix in [ ArtifactNames.statementSuffix; ArtifactNames.proofSuffix; ArtifactNames.metaSuffix ] do
                File.Copy(fileOf d suffix "s1" (ma ()) 0L, fileOf d suffix "s1" (ma ()) 1L, true)
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Coverage "duplicate"
        }
        test "a statement whose x differs from the transcript is rejected" {
            let fx = fixture.Value
            let t = fx.Transcript |> withEntry 0 (fun e -> { e with X = bump e.X })
            batchVerify fx.Dir t fx.Manifest NullLogger.Instance |> expectFailure StatementMismatch "x"
        }
        test "a statement whose delta differs from the transcript is rejected" {
            let fx = fixture.Value
            let t = fx.Transcript |> withEntry 3 (fun e -> { e with Delta = bump e.Delta })
            batchVerify fx.Dir t fx.Manifest NullLogger.Instance |> expectFailure StatementMismatch "delta"
        }
        test "a statement for another session or index than its transcript row is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p = fileOf d ArtifactNames.statementSuffix "s1" (ma ()) 0L
            rewriteStatement p (fun s -> { s with InvocationIndex = 7L })
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Coverage "covers s1"
        }
        test "a statement with a different circuit id is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p = fileOf d ArtifactNames.statementSuffix "s1" (ma ()) 0L
            rewriteStatement p (fun s -> { s with CircuitId = s.CircuitId + "x" })
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure StatementMismatch "circuit id"
        }
        test "a transcript row whose shape or scaling differs from the statement is rejected" {
            let fx = fixture.Value
            let t = fx.Transcript |> withEntry 0 (fun e -> { e with InputShape = [| 1L; 1L; 1L; e.InputShape[2] |]; OutputShape = [| 1L; 1L; 1L; e.OutputShape[2] |] })
            batchVerify fx.Dir t fx.Manifest NullLogger.Instance |> expectFailure StatementMismatch "input_shape"
        }
        test "a module absent from the pinned manifest is rejected" {
            let fx = fixture.Value
            let m = { Adapters = [ fx.Modules[0].Adapter ] }
            batchVerify fx.Dir fx.Transcript m NullLogger.Instance |> expectFailure ManifestMismatch "not in the pinned manifest"
        }
        test "a manifest with another commitment (another salt) is rejected" {
            let fx = fixture.Value
            let mod0 = fx.Modules[0]
            let other = Manifest.adapterOf mod0.Adapter.ModuleName mod0.Adapter.Shape mod0.Adapter.FixedPoint mod0.Adapter.Scaling (newSalt ()) mod0.Private.A mod0.Private.B |> unwrap
            let m = { Adapters = [ other; fx.Modules[1].Adapter ] }
            batchVerify fx.Dir fx.Transcript m NullLogger.Instance |> expectFailure ManifestMismatch "adapter_commitment"
        }
        test "a manifest with another rank, config or scaling is rejected" {
            let fx = fixture.Value
            let a0 = fx.Modules[0].Adapter
            let withA a = { Adapters = [ a; fx.Modules[1].Adapter ] }
            batchVerify fx.Dir fx.Transcript (withA { a0 with Shape = { a0.Shape with Rank = 3 } }) NullLogger.Instance |> expectFailure ManifestMismatch "rank"
            batchVerify fx.Dir fx.Transcript (withA { a0 with FixedPoint = { a0.FixedPoint with ScaleBits = 19 } }) NullLogger.Instance |> expectFailure ManifestMismatch "fixed-point"
            batchVerify fx.Dir fx.Transcript (withA { a0 with Scaling = { Num = BigInteger 1; Den = BigInteger 3 } }) NullLogger.Instance |> expectFailure ManifestMismatch "scaling"
        }
        test "a tampered statement file (digest no longer matches) is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p = fileOf d ArtifactNames.statementSuffix "s1" (ma ()) 0L
            let text = File.ReadAllText p
            let e = fx.Transcript.Entries[0]
            let v = e.X[0][0]
            let needle = sprintf "\"x\":[[%O" v
            Expect.stringContains text needle "x in the file"
            File.WriteAllText(p, text.Replace(needle, sprintf "\"x\":[[%O" (v + BigInteger.One)))
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Tampered "statement_digest"
        }
        test "a tampered meta file is rejected" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p = fileOf d ArtifactNames.metaSuffix "s1" (mb ()) 0L
            let m = ProofMeta.readFile p |> unwrap
            let flipped = (if m.ProofDigest[0] = '0' then "1" else "0") + m.ProofDigest.Substring 1
            ProofMeta.writeFile p { m with ProofDigest = flipped } |> unwrap
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Tampered "proof_digest"
        }
        test "a tampered proof file is rejected (meta digest)" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p = fileOf d ArtifactNames.proofSuffix "s1" (mb ()) 0L
            let bytes = File.ReadAllBytes p
            bytes[bytes.Length / 2] <- bytes[bytes.Length / 2] ^^^ 1uy
            File.WriteAllBytes(p, bytes)
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure Tampered "proof_digest"
        }
        test "a tampered proof with a matching meta does not verify" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p = fileOf d ArtifactNames.proofSuffix "s1" (mb ()) 0L
            let bytes = File.ReadAllBytes p
            bytes[bytes.Length - 40] <- bytes[bytes.Length - 40] ^^^ 4uy
            File.WriteAllBytes(p, bytes)
            rewriteMeta d "s1" (mb ()) 0L
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure InvalidProof "does not verify"
        }
        test "proofs swapped between two calls of one circuit (metas rewritten) do not verify" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            let p0 = fileOf d ArtifactNames.proofSuffix "s1" (ma ()) 0L
            let p1 = fileOf d ArtifactNames.proofSuffix "s1" (ma ()) 1L
            let b0, b1 = File.ReadAllBytes p0, File.ReadAllBytes p1
            File.WriteAllBytes(p0, b1)
            File.WriteAllBytes(p1, b0)
            rewriteMeta d "s1" (ma ()) 0L
            rewriteMeta d "s1" (ma ()) 1L
            batchVerify d fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure InvalidProof "does not verify"
        }
        test "x or delta outside ±value_bound is rejected natively" {
            let fx = fixture.Value
            let vb = valueBound defaultConfig
            let tx = fx.Transcript |> withEntry 0 (fun e -> { e with X = e.X |> Array.map (Array.map (fun _ -> vb + BigInteger.One)) })
            batchVerify fx.Dir tx fx.Manifest NullLogger.Instance |> expectFailure OutOfBounds "outside ±value_bound"
            let td = fx.Transcript |> withEntry 3 (fun e -> { e with Delta = e.Delta |> Array.map (Array.map (fun _ -> -vb - BigInteger.One)) })
            batchVerify fx.Dir td fx.Manifest NullLogger.Instance |> expectFailure OutOfBounds "outside ±value_bound"
        }
        test "an out-of-bound value in a transcript file is rejected when it is read" {
            let fx = fixture.Value
            let d = tempDir ()
            Manifest.writeFile (Path.Combine(d, "m.json")) fx.Manifest |> unwrap
            let text = InferenceTranscript.toJson fx.Transcript |> unwrap
            let e = fx.Transcript.Entries[0]
            let needle = sprintf "\"x\":[[%O" (e.X[0][0])
            File.WriteAllText(Path.Combine(d, "t.json"), text.Replace(needle, sprintf "\"x\":[[%O" (valueBound defaultConfig + BigInteger.One)))
            batchVerifyFiles fx.Dir (Path.Combine(d, "t.json")) (Path.Combine(d, "m.json")) NullLogger.Instance |> expectFailure InvalidInput "x"
        }
        test "an empty transcript or a missing proof directory is an error" {
            let fx = fixture.Value
            batchVerify fx.Dir { Entries = [] } fx.Manifest NullLogger.Instance |> expectFailure InvalidInput "no entries"
            batchVerify (Path.Combine(fx.Dir, "nope")) fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure InvalidInput "does not exist"
        }
        test "special files in the proof directory: a REJECTED reason, no hang, no exception (issue 15, item 7)" {
            if not (OperatingSystem.IsWindows()) then
                let fx = fixture.Value
                let guard (d: string) = SafeFileTests.notHanging (fun () -> batchVerify d fx.Transcript fx.Manifest NullLogger.Instance)
                // meta replaced by a FIFO: opening it must not wait for a writer
                let d1 = copyDir fx.Dir
                let m = fileOf d1 ArtifactNames.metaSuffix "s1" (mb ()) 0L
                File.Delete m
                SafeFileTests.mkfifo m
                guard d1 |> expectFailure Tampered "FIFO"
                // statement and proof as symbolic links to endless devices
                let d2 = copyDir fx.Dir
                let s = fileOf d2 ArtifactNames.statementSuffix "s1" (ma ()) 0L
                File.Delete s
                File.CreateSymbolicLink(s, "/dev/zero") |> ignore
                guard d2 |> expectFailure Tampered "symbolic link"
                let d3 = copyDir fx.Dir
                let p = fileOf d3 ArtifactNames.proofSuffix "s1" (ma ()) 1L
                File.Delete p
                File.CreateSymbolicLink(p, "/dev/urandom") |> ignore
                guard d3 |> expectFailure InvalidInput "symbolic link"
                // a directory where a statement should be
                let d4 = copyDir fx.Dir
                let s4 = fileOf d4 ArtifactNames.statementSuffix "s1" (ma ()) 0L
                File.Delete s4
                Directory.CreateDirectory s4 |> ignore
                guard d4 |> expectFailure Coverage "statement file is missing"
        }
        test "a proof directory that is a file, and a transcript that is a directory, get precise messages (item 13)" {
            let fx = fixture.Value
            let f = Path.Combine(tempDir (), "file")
            File.WriteAllText(f, "x")
            batchVerify f fx.Transcript fx.Manifest NullLogger.Instance |> expectFailure InvalidInput "is a file, not a directory"
            let d = tempDir ()
            Manifest.writeFile (Path.Combine(d, "m.json")) fx.Manifest |> unwrap
            batchVerifyFiles fx.Dir d (Path.Combine(d, "m.json")) NullLogger.Instance |> expectFailure InvalidInput "is a directory, not a file"
        }
        test "a transcript row with another row count is a statement mismatch, not a bound violation (item 13)" {
            let fx = fixture.Value
            let t =
                fx.Transcript |> withEntry 0 (fun e ->
                    { e with InputShape = [| 1L; 2L; e.InputShape[2] |]; OutputShape = [| 1L; 2L; e.OutputShape[2] |]
                             X = Array.append e.X e.X; Delta = Array.append e.Delta e.Delta })
            batchVerify fx.Dir t fx.Manifest NullLogger.Instance |> expectFailure StatementMismatch "input_shape"
        }
        test "two contributors: their directories and manifests together verify; a statement in two directories is a duplicate" {
            let fx = fixture.Value
            // split the fixture's artifacts by module, as two contributors would hold them
            let da, db = tempDir (), tempDir ()
            for f in Directory.GetFiles fx.Dir do
                let name = Path.GetFileName f
                File.Copy(f, Path.Combine((if name.Contains(ma ()) then da else db), name))
            let m1 = { Adapters = [ fx.Modules[0].Adapter ] }
            let m2 = { Adapters = [ fx.Modules[1].Adapter ] }
            let s = batchVerifyMany [ da; db ] fx.Transcript [ m1; m2 ] NullLogger.Instance |> unwrap
            Expect.equal s.Proofs 4 "all four"
            batchVerifyMany [ da; db ] fx.Transcript [ m1 ] NullLogger.Instance |> expectFailure ManifestMismatch "not in the pinned manifest"
            batchVerifyMany [ da; db; fx.Dir ] fx.Transcript [ m1; m2 ] NullLogger.Instance |> expectFailure Coverage "duplicate statement"
            batchVerifyMany [ da; db ] fx.Transcript [ m1; m2; m1 ] NullLogger.Instance |> expectFailure InvalidInput "pinned by more than one manifest"
        }
        test "artifacts of other sessions are ignored" {
            let fx = fixture.Value
            let d = copyDir fx.Dir
            for f in Directory.GetFiles d do
                let name = Path.GetFileName f
                File.Copy(f, Path.Combine(d, "other" + name.Substring 2))
            let logger = CapturingLogger()
            let s = batchVerify d fx.Transcript fx.Manifest logger |> unwrap
            Expect.equal s.Proofs 4 "only the transcript's session"
            let skipped = logger.Entries |> List.filter (fun e -> e.Level = LogLevel.Warning)
            Expect.equal (skipped |> List.map (fun e -> e.EventId.Name, e.Values["Artifacts"] :?> int))
                [ "OtherSessionsIgnored", fx.Transcript.Entries.Length ] "one warning counting the skipped artifacts (one per copied statement)"
            Expect.equal skipped.Head.Message (sprintf "ignoring %d artifact(s) of sessions not in the transcript" fx.Transcript.Entries.Length) "warning line"
        }
        test "the prover refuses a call whose recorded delta is not the adapter's output" {
            let fx = fixture.Value
            let calls = fx.Transcript.Entries |> List.mapi (fun i e -> if i = 1 then { e with Delta = bump e.Delta } else e)
            let d = tempDir ()
            match prove fx.Manifest fx.Modules calls d with
            | Ok _ -> failtest "a proof was produced for a wrong delta"
            | Error e -> Expect.stringContains e "recorded delta differs" "clear report"
            Expect.isEmpty (Directory.GetFiles d) "nothing written"
        }
        test "the prover refuses a private adapter that does not open the manifest's commitment" {
            let fx = fixture.Value
            let mods = fx.Modules |> List.map (fun m -> { m with Private = { m.Private with Salt = newSalt () } })
            match prove fx.Manifest mods fx.Transcript.Entries (tempDir ()) with
            | Ok _ -> failtest "proved with the wrong salt"
            | Error e -> Expect.stringContains e "does not open" "clear report"
        }
        test "a config outside the verifier's policy is refused before any proof is read" {
            let fx = fixture.Value
            let narrow = { ParameterPolicy.standard with MaxIntermediateBits = 100 }
            batchVerifyManyWith (contextWithPolicy narrow) [ fx.Dir ] fx.Transcript [ fx.Manifest ] NullLogger.Instance
            |> expectFailure OutsidePolicy "intermediate_bits = 127 is above the verifier's limit 100"
            // an empty proof directory: the policy refusal comes first, not a coverage failure
            batchVerifyManyWith (contextWithPolicy narrow) [ tempDir () ] fx.Transcript [ fx.Manifest ] NullLogger.Instance
            |> expectFailure OutsidePolicy "above the verifier's limit"
            for bad, what in [ { ParameterPolicy.standard with MaxScaleBits = 19 }, "scale_bits = 20"
                               { ParameterPolicy.standard with MaxValueBits = 62 }, "value_bits = 63" ] do
                batchVerifyManyWith (contextWithPolicy bad) [ fx.Dir ] fx.Transcript [ fx.Manifest ] NullLogger.Instance |> expectFailure OutsidePolicy what
        }
        test "a policy that is itself out of range is an input error" {
            let fx = fixture.Value
            for bad in [ { ParameterPolicy.standard with MaxIntermediateBits = 251 }
                         { ParameterPolicy.standard with MaxScalingDenominator = BigInteger.Zero }
                         { ParameterPolicy.standard with MaxScaleBits = -1 } ] do
                batchVerifyManyWith (contextWithPolicy bad) [ fx.Dir ] fx.Transcript [ fx.Manifest ] NullLogger.Instance |> expectFailure InvalidInput "parameter policy"
        }
        test "a scaling outside the policy is refused unless the verifier widens the policy" {
            let rnd = Random 5
            // den = 2^64 + 1: valid for the circuit, one past the standard policy
            let sc = { Num = BigInteger 3; Den = (BigInteger.One <<< 64) + BigInteger.One }
            let m = randomModule rnd "wide.c_attn" (2, 1, 2) { ScaleBits = 8; ValueBits = 16; IntermediateBits = 40 } sc
            let calls = [ call rnd "pol" m 0L 1 ]
            let manifest = { Adapters = [ m.Adapter ] }
            let d = tempDir ()
            prove manifest [ m ] calls d |> unwrap |> ignore
            batchVerifyMany [ d ] { Entries = calls } [ manifest ] NullLogger.Instance |> expectFailure OutsidePolicy "den is above the verifier's limit"
            let wide = { ParameterPolicy.standard with MaxScalingDenominator = BigInteger.One <<< 65 }
            let logger = CapturingLogger()
            let s = batchVerifyManyWith (contextWithPolicy wide) [ d ] { Entries = calls } [ manifest ] logger |> unwrap
            Expect.equal s.Proofs 1 "verifies under the widened policy"
            Expect.exists logger.Messages (fun l -> l.Contains "module wide.c_attn: fixed-point config (scale_bits 8, value_bits 16, intermediate_bits 40), scaling 3/18446744073709551617") "the log names each module's config and scaling"
            // a transcript entry whose own scaling is outside is refused too (B recorded what A answered)
            let negative = { sc with Num = -((BigInteger.One <<< 64) + BigInteger 2) }
            batchVerifyManyWith (contextWithPolicy wide) [ d ] { Entries = [ { calls.Head with Scaling = negative } ] } [ manifest ] NullLogger.Instance
            |> expectFailure OutsidePolicy "|num| is above the verifier's limit"
        }
        test "the standard policy admits the default and the peers' configs and PEFT scalings" {
            for cfg in [ defaultConfig; { ScaleBits = 16; ValueBits = 32; IntermediateBits = 64 }; { ScaleBits = 8; ValueBits = 16; IntermediateBits = 40 } ] do
                for num, den in [ 2, 1; 1, 2; 1, 4; 16, 1; -3, 4 ] do
                    Expect.equal (ParameterPolicy.check ParameterPolicy.standard cfg { Num = BigInteger num; Den = BigInteger den }) (Ok()) (sprintf "%A %d/%d" cfg num den)
            let at = { Num = BigInteger.One <<< 64; Den = (BigInteger.One <<< 64) - BigInteger.One }
            Expect.equal (ParameterPolicy.check ParameterPolicy.standard defaultConfig at) (Ok()) "the limits are inclusive"
            Expect.isError (ParameterPolicy.check ParameterPolicy.standard { ScaleBits = 33; ValueBits = 64; IntermediateBits = 128 } at) "scale_bits 33"
            Expect.isError (ParameterPolicy.check ParameterPolicy.standard { ScaleBits = 20; ValueBits = 65; IntermediateBits = 128 } at) "value_bits 65"
            Expect.isError (ParameterPolicy.check ParameterPolicy.standard { ScaleBits = 20; ValueBits = 63; IntermediateBits = 129 } at) "intermediate_bits 129"
            Expect.isError (ParameterPolicy.check ParameterPolicy.standard defaultConfig { Num = BigInteger 2; Den = BigInteger 4 }) "an unreduced scaling is still refused"
        }
        test "random small shapes and several fixed-point configs: prove → verify" {
            let rnd = Random 11
            let configs =
                [ defaultConfig, { Num = BigInteger 2; Den = BigInteger 1 }
                  { ScaleBits = 16; ValueBits = 32; IntermediateBits = 64 }, { Num = BigInteger 1; Den = BigInteger 2 }
                  { ScaleBits = 8; ValueBits = 16; IntermediateBits = 40 }, { Num = BigInteger -3; Den = BigInteger 4 } ]
            for n, (cfg, sc) in List.indexed configs do
                let shape = rnd.Next(1, 6), rnd.Next(1, 3), rnd.Next(1, 6)
                let m = randomModule rnd (sprintf "mod%d" n) shape cfg sc
                let calls = [ call rnd "e2e" m 0L (rnd.Next(1, 3)); call rnd "e2e" m 1L 1 ]
                let manifest = { Adapters = [ m.Adapter ] }
                let d = tempDir ()
                let progress = Collections.Concurrent.ConcurrentBag<ProveProgress>()
                let written =
                    proveCalls options manifest (Map [ m.Adapter.ModuleName, m.Private ]) calls d progress.Add CancellationToken.None |> unwrap
                Expect.equal written.Length 2 "two proofs"
                Expect.equal (progress |> Seq.map (fun p -> p.Done) |> Seq.max) 2 "progress reaches the total"
                let s = batchVerify d { Entries = calls } manifest NullLogger.Instance |> unwrap
                Expect.equal s.Proofs 2 (sprintf "config %A, shape %A" cfg shape)
        }
    ]
