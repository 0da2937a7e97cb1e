/// The projection backend wired end to end in F#: projection manifests (backend/scheme pairs,
/// Pedersen commitments), the adapter-proof file checked once per manifest digest, grouped and
/// per-call proving through `ProofBatch.proveCalls`, and `ProofVerify` accepting it — with one
/// test per rejection (coverage, replay across module/session/statement, byte flips and
/// truncation of adapter and call proofs, swapped commitments, unknown pairs, policy).
module ZkLora.Proofs.Tests.ProjectionWireTests

open ZkLora.Testing
open System
open System.IO
open System.Numerics
open System.Text.Json.Nodes
open System.Threading
open Expecto
open ZkLora.Math
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.ProofBatch
open ZkLora.Proofs.ProofVerify
open Microsoft.Extensions.Logging
open Microsoft.Extensions.Logging.Abstractions
open ZkLora.Tests.CapturingLogger

let private unwrap r = match r with Ok v -> v | Error e -> failtestf "unexpected error: %A" e

/// A small config so that every proof of the suite is tiny (vectors of 2^9–2^11 entries).
let private cfg = { ScaleBits = 8; ValueBits = 16; IntermediateBits = 40 }

type private Weights = { Name: string; Shape: AdapterCommitment.AdapterShape; Scaling: Scaling; A: BigInteger[][]; B: BigInteger[][] }

let private weights (rnd: Random) name (i, r, o) (sc: Scaling) =
    let v () = BigInteger(rnd.NextInt64(-300L, 301L))
    { Name = name; Shape = { InDim = i; Rank = r; OutDim = o }; Scaling = sc
      A = Array.init r (fun _ -> Array.init i (fun _ -> v ())); B = Array.init o (fun _ -> Array.init r (fun _ -> v ())) }

/// Commits the weights under a fresh blind: a new manifest entry (and a new manifest digest).
let private commit (w: Weights) =
    let blind = Fp.Random()
    let entry = Manifest.projectionAdapterOf TestParameters.pedersen w.Name w.Shape cfg w.Scaling blind w.A w.B |> unwrap
    entry, ({ A = w.A; B = w.B; Salt = blind } : PrivateAdapter)

let private call (session: string) (w: Weights) (index: int64) (xs: BigInteger[][]) : TranscriptEntry =
    let delta = deltaRows cfg w.A w.B xs w.Scaling.Num w.Scaling.Den |> unwrap
    { SessionId = session; ModuleName = w.Name; InvocationIndex = index
      InputShape = [| int64 xs.Length; int64 w.Shape.InDim |]; OutputShape = [| int64 xs.Length; int64 w.Shape.OutDim |]
      X = xs; Delta = delta; FixedPoint = cfg; Scaling = w.Scaling }

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "zklora-projwire-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private copyDir (src: string) =
    let d = tempDir ()
    for f in Directory.GetFiles src do File.Copy(f, Path.Combine(d, Path.GetFileName f))
    d

let private optionsWith parameters perProof =
    ProverContext({ MaxDegreeOfParallelism = 2; MemoryBudgetBytes = 1L <<< 32; ProjectionCallsPerProof = perProof; KeyCacheSize = 4 }, parameters)

let private options perProof = optionsWith TestParameters.shared perProof

/// The verifier context these tests share (adapter proofs verified once per manifest in it).
let private verifier = VerifierContext(VerifierOptions.standard, TestParameters.shared)

/// Writes a manifest and its adapter proofs next to it; returns the manifest path.
let private writePinned (m: Manifest) (secrets: (string * PrivateAdapter) list) =
    let d = tempDir ()
    let path = Path.Combine(d, "pinned.json")
    Manifest.writeFile path m |> unwrap
    let s = secrets |> List.map (fun (n, p) -> n, ({ A = p.A; B = p.B; Blind = p.Salt } : ProjectionArtifacts.ProjectionSecret)) |> Map.ofList
    let proofs = ProjectionArtifacts.proveAdapterProofs TestParameters.pedersen m s |> unwrap
    File.WriteAllText(ProjectionArtifacts.adapterProofsPath path, ProjectionArtifacts.adapterProofsToJson proofs |> unwrap)
    path

type private Fixture =
    { Manifest: Manifest
      ManifestPath: string
      TranscriptPath: string
      Transcript: InferenceTranscript
      Secrets: (string * PrivateAdapter) list
      /// one proof per (session, module)
      Grouped: string
      /// one proof per call
      PerCall: string
      Weights: Weights list }

let private fixture =
    lazy (
        let rnd = Random 11
        let wa = weights rnd "m.h.0.attn.c_attn" (3, 2, 4) { Num = BigInteger 2; Den = BigInteger 3 }
        let wb = weights rnd "m.h.1.attn.c_attn" (2, 1, 3) { Num = BigInteger 1; Den = BigInteger 1 }
        let wc = weights rnd "m.h.2.attn.c_attn" (2, 1, 3) { Num = BigInteger 1; Den = BigInteger 1 }
        let xs rows cols = Array.init rows (fun _ -> Array.init cols (fun _ -> BigInteger(rnd.NextInt64(-2000L, 2001L))))
        let shared = xs 1 2
        let calls =
            [ call "s1" wa 0L (xs 1 3); call "s1" wa 1L (xs 2 3); call "s1" wa 2L (xs 1 3)
              call "s1" wb 0L shared; call "s1" wc 0L shared
              call "s2" wb 0L shared; call "s2" wa 0L (xs 1 3) ]
        let entries = [ wa; wb; wc ] |> List.map (fun w -> w.Name, commit w)
        let manifest = { Adapters = entries |> List.map (fun (_, (e, _)) -> e) }
        let secrets = entries |> List.map (fun (n, (_, p)) -> n, p)
        let adapters = Map.ofList secrets
        let grouped = tempDir ()
        let g = proveCalls (options 0) manifest adapters calls grouped ignore CancellationToken.None |> unwrap
        Expect.equal g.Length 5 "one proof per (session, module)"
        let perCall = tempDir ()
        let p = proveCalls (options 1) manifest adapters calls perCall ignore CancellationToken.None |> unwrap
        Expect.equal p.Length 7 "one proof per call"
        let mPath = writePinned manifest secrets
        let tPath = Path.Combine(Path.GetDirectoryName mPath, "transcript.json")
        InferenceTranscript.writeFile tPath { Entries = calls } |> unwrap
        { Manifest = manifest; ManifestPath = mPath; TranscriptPath = tPath; Transcript = { Entries = calls }; Secrets = secrets
          Grouped = grouped; PerCall = perCall; Weights = [ wa; wb; wc ] })

let private files (dir: string) (stem: string) =
    Path.Combine(dir, stem + ArtifactNames.statementSuffix), Path.Combine(dir, stem + ArtifactNames.proofSuffix), Path.Combine(dir, stem + ArtifactNames.metaSuffix)

let private expectFailure (kind: VerifyFailureKind) (contains: string) (r: Result<VerifySummary, VerifyFailure>) =
    match r with
    | Ok s -> failtestf "verification succeeded (%d proofs) but should fail with %A" s.Proofs kind
    | Error f ->
        Expect.equal f.Kind kind (sprintf "failure kind (message: %s)" f.Message)
        Expect.stringContains f.Message contains "message"

/// Proves and verifies the fixture in contexts that own fresh parameters; returns weak
/// references to those parameters' generator arrays (not inlined, so no local keeps them).
[<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)>]
let private proveAndVerifyWithOwnParameters (dir: string) =
    let fx = fixture.Value
    let proverParameters, verifierParameters = ZkLora.Math.Commitment.PublicParameters(), ZkLora.Math.Commitment.PublicParameters()
    let prover = optionsWith proverParameters 0
    let verifierContext = VerifierContext(VerifierOptions.standard, verifierParameters)
    Expect.isTrue (obj.ReferenceEquals(prover.Parameters, proverParameters)) "the prover context uses the host's parameters"
    Expect.isTrue (obj.ReferenceEquals(verifierContext.Parameters, verifierParameters)) "the verifier context uses the host's parameters"
    Expect.equal (proverParameters.Pedersen.G.Get 0).Length 0 "nothing derived before proving"
    proveCalls prover fx.Manifest (Map.ofList fx.Secrets) fx.Transcript.Entries dir ignore CancellationToken.None |> unwrap |> ignore
    let s = batchVerifyManyFilesWith verifierContext [ dir ] fx.TranscriptPath [ fx.ManifestPath ] NullLogger.Instance |> unwrap
    Expect.isGreaterThan s.Proofs 0 "proofs verified"
    let proverPoints, verifierPoints = proverParameters.Pedersen.G.Get 0, verifierParameters.Pedersen.G.Get 0
    Expect.isGreaterThan proverPoints.Length 0 "the prover derived its generators into its own parameters"
    Expect.isGreaterThan verifierPoints.Length 0 "the verifier derived its generators into its own parameters"
    let n = min proverPoints.Length (TestParameters.pedersen.G.Get proverPoints.Length).Length
    Expect.sequenceEqual (Array.truncate n proverPoints) (Array.truncate n (TestParameters.pedersen.G.Get n)) "every instance derives the same points"
    WeakReference(proverPoints), WeakReference(verifierPoints)

let private verifyDir (dir: string) =
    let fx = fixture.Value
    batchVerifyManyFilesWith verifier [ dir ] fx.TranscriptPath [ fx.ManifestPath ] NullLogger.Instance

/// An attacker who rewrites the meta file for whatever statement and proof bytes are there.
let private fixMeta (dir: string) (stem: string) =
    let s, p, m = files dir stem
    let st = ProjectionArtifacts.readFile s |> unwrap
    let proof = File.ReadAllBytes p
    File.WriteAllText(m, ProjectionArtifacts.metaToJson (ProjectionArtifacts.layoutId st.Shape st.FixedPoint st.Scaling (ProjectionArtifacts.rows st)) (ProjectionArtifacts.digest st |> unwrap) (ReadOnlySpan proof) |> unwrap)

let private replaceProof (dir: string) (stem: string) (bytes: byte[]) =
    let _, p, _ = files dir stem
    File.WriteAllBytes(p, bytes)
    fixMeta dir stem

let private proofOf (dir: string) (stem: string) = let _, p, _ = files dir stem in File.ReadAllBytes p

let private a () = fixture.Value.Weights[0].Name
let private b () = fixture.Value.Weights[1].Name
let private c () = fixture.Value.Weights[2].Name

[<Tests>]
let tests =
    testSequenced <| testList "projection backend wired" [
        testCase "a projection manifest entry refuses weights outside the adapter range, naming it" <| fun () ->
            let lo, hi = Projection.AdapterProof.adapterRange cfg
            let shape : AdapterCommitment.AdapterShape = { InDim = 1; Rank = 1; OutDim = 1 }
            let entry (w: BigInteger) = Manifest.projectionAdapterOf TestParameters.pedersen "m.x" shape cfg { Num = BigInteger.One; Den = BigInteger.One } (Fp.Random()) [| [| w |] |] [| [| BigInteger.One |] |]
            Expect.isOk (entry lo) "lower end"
            Expect.isOk (entry hi) "upper end"
            for bad in [ hi + BigInteger.One; lo - BigInteger.One; valueBound cfg ] do
                match entry bad with
                | Ok _ -> failtestf "weight %O accepted" bad
                | Error e ->
                    Expect.stringContains e "module 'm.x'" "names the module"
                    Expect.stringContains e "outside the projection backend's adapter range [-16384, 16383]" "names the range"
                    Expect.stringContains e "PLONK backend" "says what to do"

        test "grouped proofs (one per module and session) verify from files, and again from the cache" {
            let s = verifyDir fixture.Value.Grouped |> unwrap
            Expect.equal s.Proofs 5 "five proofs cover seven calls"
            let s2 = verifyDir fixture.Value.Grouped |> unwrap
            Expect.equal s2.Proofs 5 "again (adapter proofs cached)"
            Expect.isTrue (adapterProofsVerified verifier fixture.Value.Manifest) "cached by manifest digest"
            Expect.isFalse (adapterProofsVerified (VerifierContext()) fixture.Value.Manifest) "another context shares nothing (no process-wide state)"
        }
        test "contexts derive generators into the parameters their host gives them, and nothing process-wide keeps them" {
            let proverPoints, verifierPoints = proveAndVerifyWithOwnParameters (tempDir ())
            GC.Collect()
            GC.WaitForPendingFinalizers()
            GC.Collect()
            Expect.isFalse proverPoints.IsAlive "the prover's generators are freed with its context and parameters"
            Expect.isFalse verifierPoints.IsAlive "the verifier's generators are freed with its context and parameters"
        }
        test "one batch verifies a PLONK contributor and a projection contributor together" {
            let fx = fixture.Value
            let rnd = Random 5
            let w = weights rnd "p.h.0.mlp" (2, 1, 2) { Num = BigInteger 1; Den = BigInteger 2 }
            let salt = AdapterCommitment.newSalt ()
            let entry = Manifest.adapterOf w.Name w.Shape cfg w.Scaling salt w.A w.B |> unwrap
            let plonkManifest = { Adapters = [ entry ] }
            let e = call "s1" w 0L [| [| BigInteger 17; BigInteger -300 |] |]
            let plonkDir = tempDir ()
            let written = proveCalls (options 0) plonkManifest (Map.ofList [ w.Name, ({ A = w.A; B = w.B; Salt = salt } : PrivateAdapter) ]) [ e ] plonkDir ignore CancellationToken.None |> unwrap
            Expect.equal written.Length 1 "one PLONK proof"
            let d = tempDir ()
            let mPath = Path.Combine(d, "plonk.json")
            Manifest.writeFile mPath plonkManifest |> unwrap
            let tPath = Path.Combine(d, "t.json")
            InferenceTranscript.writeFile tPath { Entries = fx.Transcript.Entries @ [ e ] } |> unwrap
            let logger = CapturingLogger()
            let s = batchVerifyManyFiles [ fx.Grouped; plonkDir ] tPath [ fx.ManifestPath; mPath ] logger |> unwrap
            Expect.equal s.Proofs 6 "five projection proofs and one PLONK proof"
            // what the host's logger received: every step of both backends, at information level
            let entries = logger.Entries
            Expect.all entries (fun e -> e.Level = LogLevel.Information) "information only"
            let named name = entries |> List.filter (fun e -> e.EventId.Name = name)
            let digest = Manifest.digest fx.Manifest |> unwrap
            Expect.equal (named "AdapterProofsVerified" |> List.map (fun e -> e.Values["ManifestDigest"] :?> string, e.Values["Modules"] :?> int))
                [ digest, fx.Manifest.Adapters.Length ] "the projection manifest's adapter proofs, once"
            let projection = named "ProjectionStatementMatches"
            Expect.equal (projection |> List.sumBy (fun e -> e.Values["Calls"] :?> int)) fx.Transcript.Entries.Length "projection statements cover every projection call"
            Expect.all projection (fun e -> fx.Manifest.Adapters |> List.exists (fun a -> a.ModuleName = (e.Values["Module"] :?> string))) "Module is a pinned projection module"
            Expect.equal (named "ProjectionProofsVerify" |> List.map (fun e -> e.Message))
                [ sprintf "%d projection proof(s) covering %d call(s) verify" (s.Proofs - 1) fx.Transcript.Entries.Length ] "one line for the projection batch"
            Expect.equal (named "StatementMatches" |> List.map (fun e -> e.Values["Module"] :?> string)) [ w.Name ] "the PLONK statement"
            Expect.equal (named "CircuitProofsVerify" |> List.map (fun e -> e.Values["Proofs"] :?> int)) [ 1 ] "the PLONK batch"
            // the PLONK proof's statement is not accepted where the manifest says projection
            let moved = copyDir fx.Grouped
            for f in Directory.GetFiles plonkDir do
                File.Copy(f, Path.Combine(moved, Path.GetFileName(f).Replace(w.Name, fx.Weights[1].Name).Replace("s1.", "s9.")))
            let tPath2 = Path.Combine(d, "t2.json")
            let e9 = { (call "s9" fx.Weights[1] 0L [| [| BigInteger 17; BigInteger -300 |] |]) with SessionId = "s9" }
            InferenceTranscript.writeFile tPath2 { Entries = fx.Transcript.Entries @ [ e9 ] } |> unwrap
            batchVerifyFiles moved tPath2 fx.ManifestPath NullLogger.Instance |> expectFailure Tampered "projection statement file"
        }
        test "the adapter proofs are found in a proof directory when none lie next to the pinned manifest" {
            let fx = fixture.Value
            let digest = Manifest.digest fx.Manifest |> unwrap
            let proofsJson = File.ReadAllText(ProjectionArtifacts.adapterProofsPath fx.ManifestPath)
            // the same manifest, pinned alone in another folder; each case in a fresh context (nothing cached)
            let pinnedAlone () =
                let d = tempDir ()
                let p = Path.Combine(d, "pinned-elsewhere.json")
                File.Copy(fx.ManifestPath, p)
                p
            let withProofsIn (json: string option) =
                let dir = copyDir fx.Grouped
                json |> Option.iter (fun j -> File.WriteAllText(Path.Combine(dir, ProjectionArtifacts.adapterProofsFileName digest), j))
                dir
            let run dir = batchVerifyManyFilesWith (VerifierContext()) [ dir ] fx.TranscriptPath [ pinnedAlone () ] NullLogger.Instance
            let s = run (withProofsIn (Some proofsJson)) |> unwrap
            Expect.equal s.Proofs 5 "verified with the published adapter proofs"
            run (withProofsIn None) |> expectFailure InvalidAdapterProof (ProjectionArtifacts.adapterProofsFileName digest)
            // a bad published file is a rejection, not a reason to look further
            let bad = proofsJson.Replace("\"proof\":\"", "\"proof\":\"00")
            run (withProofsIn (Some bad)) |> expectFailure InvalidAdapterProof "module"
            // the file next to the pinned manifest comes first: a bad one there is rejected even with a good published one
            let d = tempDir ()
            let p = Path.Combine(d, "pinned.json")
            File.Copy(fx.ManifestPath, p)
            File.WriteAllText(ProjectionArtifacts.adapterProofsPath p, bad)
            batchVerifyManyFilesWith (VerifierContext()) [ withProofsIn (Some proofsJson) ] fx.TranscriptPath [ p ] NullLogger.Instance
            |> expectFailure InvalidAdapterProof "module"
        }
        test "per-call proofs verify" {
            let s = verifyDir fixture.Value.PerCall |> unwrap
            Expect.equal s.Proofs 7 "seven proofs"
        }
        test "a grouped statement lists every call it covers and is named after the first" {
            let s, _, _ = files fixture.Value.Grouped (sprintf "s1.%s.0" (a ()))
            let st = ProjectionArtifacts.readFile s |> unwrap
            Expect.equal (st.Calls |> List.map (fun c -> c.InvocationIndex)) [ 0L; 1L; 2L ] "calls 0, 1, 2"
            Expect.isFalse (File.Exists(Path.Combine(fixture.Value.Grouped, sprintf "s1.%s.1%s" (a ()) ArtifactNames.statementSuffix))) "no file for call 1"
        }
        test "a transcript entry covered twice is rejected" {
            let d = copyDir fixture.Value.Grouped
            for src in [ files fixture.Value.PerCall (sprintf "s1.%s.1" (a ())) ] do
                let s, p, m = src
                for f in [ s; p; m ] do File.Copy(f, Path.Combine(d, Path.GetFileName f))
            verifyDir d |> expectFailure Coverage "covered more than once"
        }
        test "a transcript entry not covered is rejected" {
            let d = copyDir fixture.Value.Grouped
            let s, p, m = files d (sprintf "s1.%s.0" (b ()))
            for f in [ s; p; m ] do File.Delete f
            verifyDir d |> expectFailure Coverage "has no proof artifacts"
            // and a group that misses one of its calls: the per-call artifacts of calls 0 and 2 only
            let d2 = copyDir fixture.Value.PerCall
            let s, p, m = files d2 (sprintf "s1.%s.1" (a ()))
            for f in [ s; p; m ] do File.Delete f
            verifyDir d2 |> expectFailure Coverage (sprintf "s1.%s.1 has no proof artifacts" (a ()))
        }
        test "a statement covering a call the transcript lacks is rejected" {
            let fx = fixture.Value
            let t = { Entries = fx.Transcript.Entries |> List.filter (fun e -> not (e.SessionId = "s1" && e.ModuleName = a () && e.InvocationIndex = 2L)) }
            let d = tempDir ()
            let tPath = Path.Combine(d, "t.json")
            InferenceTranscript.writeFile tPath t |> unwrap
            batchVerifyFiles fx.Grouped tPath fx.ManifestPath NullLogger.Instance |> expectFailure Coverage "which the transcript does not have"
        }
        test "a proof for another statement (the per-call proof of the group's first call) is rejected" {
            let d = copyDir fixture.Value.Grouped
            let stem = sprintf "s1.%s.0" (a ())
            replaceProof d stem (proofOf fixture.Value.PerCall stem)
            verifyDir d |> expectFailure InvalidProof stem
        }
        test "a proof for another session is rejected" {
            let d = copyDir fixture.Value.Grouped
            // s1 and s2 have the same call of module b (same x, same delta): only the session differs
            replaceProof d (sprintf "s2.%s.0" (b ())) (proofOf d (sprintf "s1.%s.0" (b ())))
            verifyDir d |> expectFailure InvalidProof (sprintf "s2.%s.0" (b ()))
        }
        test "a proof for another module is rejected" {
            let d = copyDir fixture.Value.Grouped
            // modules b and c: same shape, same call (x, delta may differ only through the weights)
            replaceProof d (sprintf "s1.%s.0" (b ())) (proofOf d (sprintf "s1.%s.0" (c ())))
            verifyDir d |> expectFailure InvalidProof (sprintf "s1.%s.0" (b ()))
        }
        test "call proof byte flips and truncation are rejected" {
            let stem = sprintf "s1.%s.0" (a ())
            let good = proofOf fixture.Value.Grouped stem
            for pos in [ 0; 40; good.Length / 2; good.Length - 1 ] do
                let d = copyDir fixture.Value.Grouped
                let bad = Array.copy good
                bad[pos] <- bad[pos] ^^^ 0x01uy
                // without a new meta: tampering; with one: the proof itself fails
                let _, p, _ = files d stem
                File.WriteAllBytes(p, bad)
                verifyDir d |> expectFailure Tampered "proof_digest"
                fixMeta d stem
                verifyDir d |> expectFailure InvalidProof stem
            for cut in [ 1; 32; good.Length - 1 ] do
                let d = copyDir fixture.Value.Grouped
                replaceProof d stem (Array.sub good 0 (good.Length - cut))
                verifyDir d |> expectFailure InvalidProof "malformed proof"
            let d = copyDir fixture.Value.Grouped
            replaceProof d stem (Array.append good [| 0uy |])
            verifyDir d |> expectFailure InvalidProof "trailing"
        }
        test "a statement whose x or delta differs from the transcript is rejected" {
            let d = copyDir fixture.Value.Grouped
            let stem = sprintf "s1.%s.0" (a ())
            let s, _, _ = files d stem
            let st = ProjectionArtifacts.readFile s |> unwrap
            let calls = st.Calls |> List.mapi (fun i c -> if i = 1 then { c with Delta = c.Delta |> Array.map (Array.map (fun v -> v + BigInteger.One)) } else c)
            File.WriteAllText(s, ProjectionArtifacts.toJson { st with Calls = calls } |> unwrap)
            fixMeta d stem
            verifyDir d |> expectFailure StatementMismatch "delta"
        }
        test "adapter proof byte flips and truncation are rejected" {
            let fx = fixture.Value
            // a fresh commitment of the same weights: a manifest whose adapter proofs were never verified
            let entries = fx.Weights |> List.map (fun w -> w.Name, commit w)
            let m = { Adapters = entries |> List.map (fun (_, (e, _)) -> e) }
            let path = writePinned m (entries |> List.map (fun (n, (_, p)) -> n, p))
            let proofsPath = ProjectionArtifacts.adapterProofsPath path
            let good = ProjectionArtifacts.readAdapterProofs proofsPath |> unwrap
            let writeWith (f: byte[] -> byte[]) =
                let bad = { good with Proofs = good.Proofs |> List.mapi (fun i (n, p) -> n, (if i = 1 then f p else p)) }
                File.WriteAllText(proofsPath, ProjectionArtifacts.adapterProofsToJson bad |> unwrap)
            let check () = verifyAdapterProofsFile verifier path m NullLogger.Instance
            let p1 = snd good.Proofs[1]
            for pos in [ 0; 33; p1.Length / 2; p1.Length - 1 ] do
                writeWith (fun p -> let q = Array.copy p in q[pos] <- q[pos] ^^^ 0x04uy; q)
                match check () with
                | Error f -> Expect.equal f.Kind InvalidAdapterProof f.Message
                | Ok() -> failtestf "flipped byte %d accepted" pos
            for cut in [ 1; 32 ] do
                writeWith (fun p -> Array.sub p 0 (p.Length - cut))
                match check () with
                | Error f -> Expect.equal f.Kind InvalidAdapterProof f.Message
                | Ok() -> failtestf "truncated by %d accepted" cut
            // the file itself truncated
            File.WriteAllText(proofsPath, (ProjectionArtifacts.adapterProofsToJson good |> unwrap).Substring(0, 100))
            match check () with
            | Error f -> Expect.equal f.Kind InvalidAdapterProof f.Message
            | Ok() -> failtest "a truncated file accepted"
            // missing
            File.Delete proofsPath
            match check () with
            | Error f -> Expect.equal f.Kind InvalidAdapterProof f.Message; Expect.stringContains f.Message "does not exist" "missing"
            | Ok() -> failtest "a missing file accepted"
            Expect.isFalse (adapterProofsVerified verifier m) "nothing cached"
            // and the good file verifies, once
            File.WriteAllText(proofsPath, ProjectionArtifacts.adapterProofsToJson good |> unwrap)
            check () |> unwrap
            Expect.isTrue (adapterProofsVerified verifier m) "cached"
        }
        test "adapter proofs for another manifest, or missing a module, are rejected" {
            let fx = fixture.Value
            let entries = fx.Weights |> List.map (fun w -> w.Name, commit w)
            let m = { Adapters = entries |> List.map (fun (_, (e, _)) -> e) }
            let theirs = ProjectionArtifacts.readAdapterProofs (ProjectionArtifacts.adapterProofsPath fx.ManifestPath) |> unwrap
            match verifyAdapterProofs verifier m theirs NullLogger.Instance with
            | Error f -> Expect.equal f.Kind InvalidAdapterProof f.Message; Expect.stringContains f.Message "not the pinned manifest" "digest"
            | Ok() -> failtest "accepted"
            let md = Manifest.digest m |> unwrap
            match verifyAdapterProofs verifier m { theirs with ManifestDigest = md } NullLogger.Instance with
            | Error f -> Expect.equal f.Kind InvalidAdapterProof f.Message
            | Ok() -> failtest "other commitments' proofs accepted"
            match verifyAdapterProofs verifier m ({ ManifestDigest = md; Proofs = List.tail theirs.Proofs } : ProjectionArtifacts.AdapterProofs) NullLogger.Instance with
            | Error f -> Expect.stringContains f.Message "has no adapter proof" "missing module"
            | Ok() -> failtest "accepted"
        }
        test "an in-memory batch needs the manifest's adapter proofs verified first" {
            let fx = fixture.Value
            let entries = fx.Weights |> List.map (fun w -> w.Name, commit w)
            let m = { Adapters = entries |> List.map (fun (_, (e, _)) -> e) }
            batchVerify fx.Grouped fx.Transcript m NullLogger.Instance |> expectFailure InvalidAdapterProof "have not been verified"
        }
        test "a manifest with the commitments of two modules swapped is rejected" {
            let fx = fixture.Value
            let ad = fx.Manifest.Adapters
            let swapped = { Adapters = [ ad[0]; { ad[1] with Commitment = ad[2].Commitment }; { ad[2] with Commitment = ad[1].Commitment } ] }
            // the attacker relabels the adapter proofs too (b and c have the same shape, so they verify)
            let d = tempDir ()
            let path = Path.Combine(d, "swapped.json")
            Manifest.writeFile path swapped |> unwrap
            let ps = ProjectionArtifacts.readAdapterProofs (ProjectionArtifacts.adapterProofsPath fx.ManifestPath) |> unwrap
            let byName = Map.ofList ps.Proofs
            let relabeled : ProjectionArtifacts.AdapterProofs = { ManifestDigest = Manifest.digest swapped |> unwrap; Proofs = [ ad[0].ModuleName, byName[ad[0].ModuleName]; ad[1].ModuleName, byName[ad[2].ModuleName]; ad[2].ModuleName, byName[ad[1].ModuleName] ] }
            File.WriteAllText(ProjectionArtifacts.adapterProofsPath path, ProjectionArtifacts.adapterProofsToJson relabeled |> unwrap)
            batchVerifyFiles fx.Grouped fx.TranscriptPath path NullLogger.Instance |> expectFailure ManifestMismatch "adapter_commitment"
            // statements rewritten to the swapped commitments: the proofs were made for the others
            let dd = copyDir fx.Grouped
            for stem in [ sprintf "s1.%s.0" (b ()); sprintf "s1.%s.0" (c ()); sprintf "s2.%s.0" (b ()) ] do
                let s, _, _ = files dd stem
                let st = ProjectionArtifacts.readFile s |> unwrap
                let target = swapped.Adapters |> List.find (fun x -> x.ModuleName = st.ModuleName)
                File.WriteAllText(s, ProjectionArtifacts.toJson { st with Commitment = Manifest.pedersenCommitment target |> unwrap } |> unwrap)
                fixMeta dd stem
            batchVerifyFiles dd fx.TranscriptPath path NullLogger.Instance |> expectFailure InvalidProof "does not verify"
        }
        test "projection statements are read strictly" {
            let s, _, _ = files fixture.Value.Grouped (sprintf "s1.%s.0" (a ()))
            let text = File.ReadAllText s
            Expect.isOk (ProjectionArtifacts.parseBytes (ReadOnlyMemory(Text.Encoding.ASCII.GetBytes text))) "as written"
            let parse (f: JsonObject -> unit) =
                let o = JsonNode.Parse(text).AsObject()
                f o
                ProjectionArtifacts.parseBytes (ReadOnlyMemory(Text.Encoding.UTF8.GetBytes(o.ToJsonString())))
            let expectError (r: Result<ProjectionArtifacts.ProjectionStatement, string>) (contains: string) =
                match r with
                | Ok _ -> failtestf "accepted (expected '%s')" contains
                | Error e -> Expect.stringContains e contains "message"
            expectError (parse (fun o -> o["statement_digest"] <- JsonValue.Create(String('0', 64)))) "does not match"
            expectError (parse (fun o -> o["circuit_id"] <- JsonValue.Create "zklora-projection-call-v1/other")) "is not the layout"
            expectError (parse (fun o -> o["calls"].[1].["invocation_index"] <- JsonValue.Create 0)) "strictly increasing"
            expectError (parse (fun o -> o["calls"] <- JsonArray())) "at least one call"
            expectError (parse (fun o -> o["backend"] <- JsonValue.Create ArtifactCommon.backend)) "unknown backend"
            expectError (parse (fun o -> o["adapter_commitment"].["scheme"] <- JsonValue.Create AdapterCommitment.scheme)) "commitment scheme"
            expectError (parse (fun o -> o["calls"].[0].["x"].[0].[0] <- JsonValue.Create 40000)) "value bound"
            expectError (parse (fun o -> o["extra"] <- JsonValue.Create 1)) "unknown field 'extra'"
        }
        test "manifests accept exactly the known backend/scheme pairs" {
            let text = Manifest.toJson fixture.Value.Manifest |> unwrap
            Expect.isOk (Manifest.parse text) "projection pair"
            let edit (f: JsonObject -> unit) =
                let o = JsonNode.Parse(text).AsObject()
                f o
                Manifest.parse (o.ToJsonString())
            let expectError (r: Result<Manifest, string>) (contains: string) =
                match r with
                | Ok _ -> failtest "accepted"
                | Error e -> Expect.stringContains e contains "message"
            expectError (edit (fun o -> o["commitment_scheme"] <- JsonValue.Create AdapterCommitment.scheme)) "unknown backend/commitment scheme pair"
            expectError (edit (fun o -> o["backend"] <- JsonValue.Create ArtifactCommon.backend)) "unknown backend/commitment scheme pair"
            expectError (edit (fun o -> o["backend"] <- JsonValue.Create "zklora-other-v9")) "unknown backend/commitment scheme pair"
            // a known pair whose entries carry the other scheme
            expectError (edit (fun o ->
                o["backend"] <- JsonValue.Create ArtifactCommon.backend
                o["commitment_scheme"] <- JsonValue.Create AdapterCommitment.scheme)) "commitment scheme"
            // an entry with the projection scheme but a value that is no point
            expectError (edit (fun o -> o["adapters"].[0].["adapter_commitment"].["value"] <- JsonValue.Create("0x" + String('f', 64)))) "adapter_commitment.value"
            // a manifest mixing the two backends does not validate
            let plonk = Manifest.adapterOf "x.y" { InDim = 1; Rank = 1; OutDim = 1 } cfg { Num = BigInteger.One; Den = BigInteger.One } (Fp.Random()) [| [| BigInteger.One |] |] [| [| BigInteger.One |] |] |> unwrap
            Expect.isError (Manifest.validate { Adapters = fixture.Value.Manifest.Adapters @ [ plonk ] }) "mixed backends"
        }
        test "the projection policy applies on top of the verifier's policy, before any adapter proof is read" {
            let fx = fixture.Value
            let o = JsonNode.Parse(Manifest.toJson fx.Manifest |> unwrap).AsObject()
            o["adapters"].[0].["fixed_point"].["intermediate_bits"] <- JsonValue.Create 200
            let m = Manifest.parse (o.ToJsonString()) |> unwrap
            let wide = { ParameterPolicy.standard with MaxIntermediateBits = 250 }
            let d = tempDir ()
            let path = Path.Combine(d, "wide.json")
            Manifest.writeFile path m |> unwrap
            // no adapter-proof file at all: the policy fails first
            match verifyAdapterProofsFile (contextWithPolicy wide) path m NullLogger.Instance with
            | Error f -> Expect.equal f.Kind OutsidePolicy f.Message; Expect.stringContains f.Message "projection policy" "projection policy"
            | Ok() -> failtest "accepted"
            match verifyAdapterProofsFile verifier path m NullLogger.Instance with
            | Error f -> Expect.equal f.Kind OutsidePolicy f.Message
            | Ok() -> failtest "accepted"
        }
        test "the prover refuses a recorded delta that is not the adapter's output" {
            let fx = fixture.Value
            let e = fx.Transcript.Entries.Head
            let bad = { e with Delta = e.Delta |> Array.mapi (fun t r -> if t = 0 then Array.mapi (fun k v -> if k = 0 then v + BigInteger.One else v) r else r) }
            let d = tempDir ()
            match proveCalls (options 0) fx.Manifest (Map.ofList fx.Secrets) [ bad ] d ignore CancellationToken.None with
            | Ok _ -> failtest "proved"
            | Error m -> Expect.stringContains m "recorded delta differs" "message"
            Expect.isEmpty (Directory.GetFiles d) "nothing written"
        }
        test "the prover refuses a blind that does not open the manifest's commitment" {
            let fx = fixture.Value
            let secrets = fx.Secrets |> List.map (fun (n, p) -> n, { p with Salt = Fp.Random() }) |> Map.ofList
            let d = tempDir ()
            match proveCalls (options 0) fx.Manifest secrets fx.Transcript.Entries d ignore CancellationToken.None with
            | Ok _ -> failtest "proved"
            | Error m -> Expect.stringContains m "does not open the manifest's commitment" "message"
        }
    ]
