/// End-to-end proving-system tests, parametrized by the commitment scheme: completeness
/// (random witnesses, several circuits, k up to 14), soundness (wrong instances, proof
/// tampering, wrong keys, cheating provers), zero-knowledge sanity and batching.
module ZkLora.Math.Tests.PlonkEndToEnd

open ZkLora.Testing
open System
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Tests.Generators
open ZkLora.Math.Tests.PlonkCircuits
open ZkLora.Math.Commitment

let suite (name: string) (pcs: ICommitmentScheme<'C>) (largeK: int) (iterations: int) =
    let keys k circuit =
        match Keys.keygen pcs circuit k with
        | Ok pk -> pk
        | Error e -> failtestf "keygen: %s" e
    let prove pk circuit inst =
        match Prover.prove pcs pk circuit inst with
        | Ok p -> p
        | Error e -> failtestf "prove: %s" e
    let cheat pk circuit inst =
        match Prover.proveUnchecked pcs pk circuit inst with
        | Ok p -> p
        | Error e -> failtestf "prove (cheating): %s" e
    let roundTrip k circuit inst =
        let pk = keys k circuit
        Prover.prove pcs pk circuit inst |> Result.bind (Verifier.verify pcs pk.Vk inst)
    let few = { config with maxTest = iterations }
    let bytes = Gen.choose (0, 255) |> Gen.map int64
    testList name [
        testList "completeness" [
            testPropertyWithConfig few "mul chain" <| fun (x0: Fp) (ws: Fp list) ->
                let ws = (Fp.One :: ws) |> Array.ofList |> Array.truncate 20
                roundTrip 5 (mulChain x0 ws noCheat) [| [| x0; mulChainResult x0 ws |] |] = Ok()
            testPropertyWithConfig few "range-check lookup" <| fun (vs: byte list) ->
                let vs = vs |> List.map (fun v -> int64 (v % 16uy)) |> Array.ofList |> Array.truncate 20
                roundTrip 6 (rangeSum 4 vs noCheat) [| [| fp (Array.sum vs) |] |] = Ok()
            testPropertyWithConfig few "many copy constraints across columns" <| fun (xs: Fp list) (ys: Fp list) ->
                let m = min 10 (min xs.Length ys.Length)
                let xs, ys = Array.ofList xs |> Array.truncate m, Array.ofList ys |> Array.truncate m
                roundTrip 7 (manyCopies xs ys noCheat) [||] = Ok()
            testPropertyWithConfig few "rotations (prev, next, +3)" <| fun (a0: Fp) (a1: Fp) ->
                let seq = fibSequence a0 a1 12
                roundTrip 5 (rotations a0 a1 12 noCheat) [| [| a0; a1; seq[11] |] |] = Ok()
            testPropertyWithConfig few "several instance values" <| fun (xs: Fp list) ->
                let xs = Array.ofList xs |> Array.truncate 16
                roundTrip 5 (squares xs noCheat) (squaresInstances xs) = Ok()
            testPropertyWithConfig few "dot product with selected lookups" <|
                Prop.forAll (Arb.fromGen (Gen.zip (Gen.arrayOfLength 30 bytes) (Gen.arrayOfLength 30 bytes))) (fun (xs, ws) ->
                    roundTrip 9 (dotProduct xs ws noCheat) [| [| dotResult xs ws |] |] = Ok())
            test "the verifier's key derivation gives keygen's verifying key, byte for byte" {
                let same k (circuit: ICircuit<'Cfg>) what =
                    let pk = keys k circuit
                    match Keys.verifyingKey pcs circuit k with
                    | Error e -> failtestf "%s: verifyingKey: %s" what e
                    | Ok vk ->
                        Expect.equal (Keys.writeVerifyingKey pcs vk) (Keys.writeVerifyingKey pcs pk.Vk) (what + ": key bytes")
                        Expect.equal vk.Digest pk.Vk.Digest (what + ": digest")
                        Expect.equal vk.ShapeDigest pk.Vk.ShapeDigest (what + ": shape digest")
                        // and the commitments are those of the columns themselves (σ is
                        // committed as δ^p·Commit(ω^r) plus a sparse correction)
                        let direct (values: Fp[][]) = values |> Array.map (fun v -> pcs.Encode(pcs.CommitLagrange(k, v, Fp.Zero)))
                        Expect.equal (vk.SigmaCommitments |> Array.map pcs.Encode) (direct pk.SigmaValues) (what + ": σ commitments")
                        Expect.equal (vk.FixedCommitments |> Array.map pcs.Encode) (direct pk.FixedValues) (what + ": fixed commitments")
                same 5 (mulChain (fp 3L) [| fp 5L; fp 7L |] noCheat) "mul chain"
                same 6 (rangeSum 4 [| 1L; 9L; 15L |] noCheat) "range sum"
                same 7 (manyCopies [| fp 1L; fp 2L; fp 3L |] [| fp 4L; fp 5L; fp 6L |] noCheat) "many copies"
                same 5 (rotations (fp 1L) (fp 1L) 12 noCheat) "rotations"
                same 9 (dotProduct [| 3L; 255L; 7L |] [| 9L; 2L; 200L |] noCheat) "dot product"
                // a key for another k or circuit differs (the comparison can fail)
                let other = keys 6 (mulChain (fp 3L) [| fp 5L; fp 7L |] noCheat)
                match Keys.verifyingKey pcs (mulChain (fp 3L) [| fp 5L; fp 7L |] noCheat) 5 with
                | Ok vk -> Expect.notEqual (Keys.writeVerifyingKey pcs vk) (Keys.writeVerifyingKey pcs other.Vk) "other k"
                | Error e -> failtest e
                Expect.isError (Keys.verifyingKey pcs (mulChain (fp 3L) [| fp 5L |] noCheat) (pcs.MaxK + 1)) "k too large"
            }
            test (sprintf "dot product filling every row at k = %d" largeK) {
                let n = 1 <<< largeK
                let rng = Random 5
                let m = n - 8
                let xs = Array.init m (fun _ -> int64 (rng.Next 256))
                let ws = Array.init m (fun _ -> int64 (rng.Next 256))
                Expect.equal (roundTrip largeK (dotProduct xs ws noCheat) [| [| dotResult xs ws |] |]) (Ok()) "k large"
            }
        ]
        testList "soundness" [
            test "wrong instance values are rejected" {
                let xs = Array.init 4 (fun i -> fp (int64 i + 3L))
                let c = squares xs noCheat
                let pk = keys 5 c
                let inst = squaresInstances xs
                let proof = prove pk c inst
                Expect.equal (Verifier.verify pcs pk.Vk inst proof) (Ok()) "valid"
                for col in 0 .. 1 do
                    for row in 0 .. 3 do
                        let bad = inst |> Array.map Array.copy
                        bad[col][row] <- bad[col][row] + Fp.One
                        Expect.isError (Verifier.verify pcs pk.Vk bad proof) (sprintf "instance %d/%d" col row)
                Expect.isError (Verifier.verify pcs pk.Vk [| inst[0] |] proof) "missing column"
            }
            test "single-byte changes anywhere in a proof are rejected" {
                let xs, ws = [| 3L; 5L; 7L |], [| 2L; 4L; 6L |]
                let c = dotProduct xs ws noCheat
                let pk = keys 9 c
                let inst = [| [| dotResult xs ws |] |]
                let proof = prove pk c inst
                Expect.equal (Verifier.verify pcs pk.Vk inst proof) (Ok()) "valid"
                let rng = Random 3
                let positions = Array.append [| 0 .. 4 |] (Array.init 300 (fun _ -> rng.Next proof.Length))
                for i in positions do
                    let bad = Array.copy proof
                    bad[i] <- bad[i] ^^^ byte (1 + rng.Next 255)
                    Expect.isError (Verifier.verify pcs pk.Vk inst bad) (sprintf "byte %d of %d" i proof.Length)
                Expect.isError (Verifier.verify pcs pk.Vk inst (Array.append proof [| 0uy |])) "trailing byte"
                Expect.isError (Verifier.verify pcs pk.Vk inst proof[.. proof.Length - 2]) "truncated"
                Expect.isError (Verifier.verify pcs pk.Vk inst [||]) "empty"
                Expect.isError (Verifier.verify pcs pk.Vk inst null) "null"
            }
            test "a proof for circuit X does not verify with circuit Y's key" {
                let xs = [| fp 5L; fp 6L; fp 7L |]
                let c = squares xs noCheat
                let pk = keys 5 c
                let inst = squaresInstances xs
                let proof = prove pk c inst
                let pkOtherLayout = keys 5 (squares [| fp 1L; fp 2L |] noCheat)
                Expect.isError (Verifier.verify pcs pkOtherLayout.Vk inst proof) "same gates, other copy layout"
                let pkOtherK = keys 6 c
                Expect.isError (Verifier.verify pcs pkOtherK.Vk inst proof) "other k"
                let mc = mulChain (fp 2L) [| fp 3L |] noCheat
                let pkOtherCircuit = keys 5 mc
                Expect.isError (Verifier.verify pcs pkOtherCircuit.Vk [| [| fp 2L; fp 6L |] |] proof) "other circuit"
            }
            test "cheating provers that violate one gate, one lookup or one copy are caught" {
                let ws = Array.init 5 (fun i -> fp (int64 i + 2L))
                let c1 = mulChain (fp 3L) ws (fun j v -> if j = 2 then v + Fp.One else v)
                let pk1 = keys 5 c1
                let inst1 = [| [| fp 3L; mulChainResult (fp 3L) ws + ws[3] * ws[4] |] |]
                Expect.isError (Prover.prove pcs pk1 c1 inst1) "the honest prover refuses"
                Expect.isError (Verifier.verify pcs pk1.Vk inst1 (cheat pk1 c1 inst1)) "gate"
                let c2 = rangeSum 4 [| 1L; 2L; 3L |] (fun j v -> if j = 1 then Value.ofInt64 99L else v)
                let pk2 = keys 6 c2
                let inst2 = [| [| fp 103L |] |]
                Expect.isError (Verifier.verify pcs pk2.Vk inst2 (cheat pk2 c2 inst2)) "lookup"
                let c3 = dotProduct [| 1L; 256L |] [| 1L; 1L |] noCheat
                let pk3 = keys 9 c3
                let inst3 = [| [| fp 257L |] |]
                Expect.isError (Verifier.verify pcs pk3.Vk inst3 (cheat pk3 c3 inst3)) "selected lookup"
                let xs = Array.init 3 (fun i -> fp (int64 i + 5L))
                let c4 = squares xs noCheat
                let pk4 = keys 5 c4
                let inst4 = squaresInstances xs
                inst4[1][0] <- inst4[1][0] + Fp.One
                Expect.isError (Verifier.verify pcs pk4.Vk inst4 (cheat pk4 c4 inst4)) "copy to instance"
                let c5 = manyCopies [| fp 1L; fp 2L |] [| fp 3L; fp 4L |] noCheat
                let pk5 = keys 6 c5
                // break one internal copy: the shuffled copy of d gets a different value
                let c5bad =
                    { new ICircuit<CopyConfig> with
                        member _.Configure b = c5.Configure b
                        member _.Synthesize(cfg, l) =
                            let cells =
                                l.AssignRegion("compute", fun r ->
                                    Array.init 2 (fun j ->
                                        r.EnableSelector(cfg.Q, j)
                                        let x, y = fp (int64 j + 1L), fp (int64 j + 3L)
                                        let a = r.AssignAdvice(cfg.Cols[0], j, x)
                                        let b = r.AssignAdvice(cfg.Cols[1], j, y)
                                        let c = r.AssignAdvice(cfg.Cols[2], j, x + y)
                                        let d = r.AssignAdvice(cfg.Cols[3], j, (x + y) * x)
                                        [| a; b; c; d |]))
                            l.AssignRegion("shuffle", fun r ->
                                for j in 0 .. 1 do
                                    for i in 0 .. 3 do
                                        let src = cells[j][i]
                                        let v = if j = 1 && i = 3 then src.Value + Fp.One else src.Value
                                        let dst = r.AssignAdvice(cfg.Cols[(i + 1) % 4], (1 - j) * 4 + i, v)
                                        r.ConstrainEqual(src.Cell, dst.Cell)) }
                Expect.isError (Prover.prove pcs pk5 c5bad [||]) "the honest prover refuses a broken copy"
                Expect.isError (Verifier.verify pcs pk5.Vk [||] (cheat pk5 c5bad [||])) "internal copy"
            }
        ]
        testList "zero knowledge sanity" [
            test "two witnesses of one statement give distinct proofs that both verify" {
                // 2·3·4 = 2·6·2 = 24: same public (x0, result), different private factors
                let c1 = mulChain (fp 2L) [| fp 3L; fp 4L |] noCheat
                let c2 = mulChain (fp 2L) [| fp 6L; fp 2L |] noCheat
                let pk = keys 5 c1
                let inst = [| [| fp 2L; fp 24L |] |]
                let p1, p2 = prove pk c1 inst, prove pk c2 inst
                Expect.equal (Verifier.verify pcs pk.Vk inst p1) (Ok()) "first"
                Expect.equal (Verifier.verify pcs pk.Vk inst p2) (Ok()) "second"
                Expect.notEqual p1 p2 "distinct"
                Expect.equal p1.Length p2.Length "same size"
            }
            test "proofs of the same witness differ (fresh blinding)" {
                let c = mulChain (fp 2L) [| fp 3L; fp 4L |] noCheat
                let pk = keys 5 c
                let inst = [| [| fp 2L; fp 24L |] |]
                let p1, p2 = prove pk c inst, prove pk c inst
                Expect.notEqual p1 p2 "re-randomized"
                // no 32-byte chunk (commitment, evaluation) repeats between the two proofs
                let chunks (p: byte[]) = set [ for i in 5 .. 32 .. p.Length - 32 -> Convert.ToHexString(p, i, 32) ]
                Expect.isEmpty (Set.intersect (chunks p1) (chunks p2)) "no shared elements"
            }
        ]
        test "random bytes (right and wrong lengths) give errors, never exceptions" {
            let xs = [| fp 5L; fp 6L |]
            let c = squares xs noCheat
            let pk = keys 5 c
            let inst = squaresInstances xs
            let proof = prove pk c inst
            let rng = Random 17
            for len in [ 0; 1; 4; 5; 6; 37; proof.Length - 1; proof.Length; proof.Length; proof.Length + 1; 3 * proof.Length ] do
                let junk = Array.zeroCreate<byte> len
                rng.NextBytes junk
                if len >= 5 then Array.blit proof 0 junk 0 5 // keep the header so parsing goes deep
                Expect.isError (Verifier.verify pcs pk.Vk inst junk) (sprintf "junk of %d bytes" len)
            // valid header and prefix, random tail
            for cut in [ 40; 200; proof.Length / 2; proof.Length - 40 ] do
                let junk = Array.copy proof
                let tail = Array.zeroCreate<byte> (proof.Length - cut)
                rng.NextBytes tail
                Array.blit tail 0 junk cut tail.Length
                Expect.isError (Verifier.verify pcs pk.Vk inst junk) (sprintf "random tail after %d" cut)
            let vkBytes = Keys.writeVerifyingKey pcs pk.Vk
            for len in [ 0; 3; 10; vkBytes.Length; vkBytes.Length + 5 ] do
                let junk = Array.zeroCreate<byte> len
                rng.NextBytes junk
                Expect.isError (Keys.readVerifyingKey pcs pk.Vk.Cs junk) (sprintf "vk junk of %d bytes" len)
            let vkTail = Array.copy vkBytes
            for i in vkBytes.Length - 64 .. vkBytes.Length - 1 do vkTail[i] <- byte (rng.Next 256)
            // random commitments either fail to decode or give a key the proof does not verify under
            match Keys.readVerifyingKey pcs pk.Vk.Cs vkTail with
            | Error _ -> ()
            | Ok vk2 -> Expect.isError (Verifier.verify pcs vk2 inst proof) "vk with random commitments"
            Expect.isError (Verifier.verify pcs pk.Vk null proof) "null instances"
            Expect.isError (Verifier.verify pcs pk.Vk [| null; inst[1] |] proof) "null instance column"
        }
        test "batch verification: valid batch passes, one bad proof fails it" {
            let c0 = squares [| fp 1L; fp 2L; fp 3L |] noCheat
            let pk = keys 5 c0
            let items =
                Array.init 4 (fun j ->
                    let xs = Array.init 3 (fun i -> fp (int64 (i + 10 * j + 1)))
                    squaresInstances xs, prove pk (squares xs noCheat) (squaresInstances xs))
            Expect.equal (Verifier.verifyBatch pcs pk.Vk items) (Ok()) "valid batch"
            let (inst, p) = items[1]
            let bad = Array.copy items
            bad[1] <- ([| inst[0]; inst[1] |> Array.map (fun v -> v + Fp.One) |], p)
            Expect.isError (Verifier.verifyBatch pcs pk.Vk bad) "one wrong statement"
            let bad2 = Array.copy items
            let p2 = Array.copy p
            p2[p2.Length - 1] <- p2[p2.Length - 1] ^^^ 1uy
            bad2[1] <- (inst, p2)
            Expect.isError (Verifier.verifyBatch pcs pk.Vk bad2) "one tampered proof"
        }
    ]

[<Tests>]
let testGroupSuite = suite "plonk end to end (IPA over the test group)" (Ipa.IpaCommitmentScheme<Fp>(TestGroup.group, 16)) 12 5

[<Tests>]
let vestaSuite = suite "plonk end to end (IPA over Vesta)" TestParameters.pcs 14 3

[<Tests>]
let provingApiTests =
    testList "plonk proving API (Vesta)" [
        test "key cache: hits return the same key, capacity evicts, failures are not cached" {
            let cache = Proving.KeyCache<string * int, Proving.VestaProvingKey>(2)
            let mk xs () = squares xs noCheat
            let a1 = Proving.cachedProvingKey TestParameters.pcs cache ("sq3", 5) 5 (mk [| fp 1L; fp 2L; fp 3L |])
            let a2 = Proving.cachedProvingKey TestParameters.pcs cache ("sq3", 5) 5 (mk [| fp 1L; fp 2L; fp 3L |])
            match a1, a2 with
            | Ok k1, Ok k2 -> Expect.isTrue (obj.ReferenceEquals(k1, k2)) "cached"
            | _ -> failtest "keygen failed"
            Proving.cachedProvingKey TestParameters.pcs cache ("sq2", 5) 5 (mk [| fp 1L; fp 2L |]) |> ignore
            Proving.cachedProvingKey TestParameters.pcs cache ("sq1", 5) 5 (mk [| fp 1L |]) |> ignore
            Expect.equal cache.Count 2 "bounded"
            Expect.isError (Proving.cachedProvingKey TestParameters.pcs cache ("too big", 3) 3 (mk (Array.create 50 Fp.One))) "k too small"
            Expect.equal cache.Count 2 "failure not cached"
        }
        test "key cache: the least recently used id is evicted (one cache type for proving and verifying keys)" {
            let cache = Proving.KeyCache<string, int>(2)
            let created = Collections.Generic.List<string>()
            let get id = cache.GetOrAdd(id, fun () -> created.Add id; Ok id.Length)
            get "a" |> ignore
            get "bb" |> ignore
            get "a" |> ignore // "a" is now the most recently used
            get "ccc" |> ignore // evicts "bb", not the older "a"
            get "a" |> ignore
            Expect.sequenceEqual created [ "a"; "bb"; "ccc" ] "a stayed cached"
            get "bb" |> ignore
            Expect.sequenceEqual created [ "a"; "bb"; "ccc"; "bb" ] "bb was evicted and is created again"
            Expect.equal cache.Count 2 "bounded"
        }
        test "independent statements prove and verify in parallel" {
            let c0 = squares [| fp 1L; fp 2L |] noCheat
            let pk = match Proving.keygen TestParameters.pcs c0 5 with Ok pk -> pk | Error e -> failtest e
            let results =
                Array.Parallel.init 4 (fun j ->
                    let xs = [| fp (int64 j + 3L); fp (int64 j + 9L) |]
                    let inst = squaresInstances xs
                    Proving.prove TestParameters.pcs pk (squares xs noCheat) inst |> Result.bind (Proving.verify TestParameters.pcs pk.Vk inst))
            Expect.allEqual results (Ok()) "all verify"
        }
        test "verifying key round trip through the Vesta encoding" {
            let c = squares [| fp 4L |] noCheat
            let pk = match Proving.keygen TestParameters.pcs c 5 with Ok pk -> pk | Error e -> failtest e
            let bytes = Proving.writeVerifyingKey TestParameters.pcs pk.Vk
            match Proving.readVerifyingKey TestParameters.pcs pk.Vk.Cs bytes with
            | Ok vk ->
                let inst = squaresInstances [| fp 4L |]
                let proof = match Proving.prove TestParameters.pcs pk c inst with Ok p -> p | Error e -> failtest e
                Expect.equal (Proving.verify TestParameters.pcs vk inst proof) (Ok()) "parsed key verifies"
            | Error e -> failtest e
        }
        test "non-canonical scalars and off-curve points in a proof are named in the error" {
            let xs = [| fp 4L; fp 5L |]
            let c = squares xs noCheat
            let pk = match Proving.keygen TestParameters.pcs c 5 with Ok pk -> pk | Error e -> failtest e
            let inst = squaresInstances xs
            let proof = match Proving.prove TestParameters.pcs pk c inst with Ok p -> p | Error e -> failtest e
            // the first advice commitment starts right after the 5-byte header
            let badPoint = Array.copy proof
            let mutable found = false
            let mutable x = 2L
            while not found do
                // an x whose x^3 + 5 is a non-residue is not on the curve
                let fx = Fq.OfInt64 x
                if (fx * fx * fx + Fq.OfInt64 5L).Sqrt().IsNone then found <- true else x <- x + 1L
            (Fq.OfInt64 x).ToBytes().CopyTo(badPoint, 5)
            match Proving.verify TestParameters.pcs pk.Vk inst badPoint with
            | Error e -> Expect.stringContains e "advice commitment 0" "which element"
            | Ok() -> failtest "accepted"
            // the first evaluation follows every commitment before x
            let layout = ProofLayout.build pk.Vk.Cs
            let commitments =
                pk.Vk.Cs.NumAdvice + pk.Vk.Cs.LookupGroups.Length + layout.PermZ
                + (layout.LookupHelpers |> Array.sumBy snd) + pk.Vk.Cs.LookupGroups.Length + 1 + layout.Pieces
            let at = 5 + 32 * commitments
            let badScalar = Array.copy proof
            let modulus = Fp.Modulus.ToByteArray(true, false)
            Array.blit modulus 0 badScalar at modulus.Length
            for i in at + modulus.Length .. at + 31 do badScalar[i] <- 0uy
            match Proving.verify TestParameters.pcs pk.Vk inst badScalar with
            | Error e -> Expect.stringContains e "non-canonical" "non-canonical scalar"
            | Ok() -> failtest "accepted"
        }
    ]

[<Tests>]
let storedParameters =
    testList "plonk with stored IPA parameters" [
        test "IPA parameters from a generator store give the same keys and proofs, and the next process loads them" {
            let dir = IO.Path.Combine(IO.Path.GetTempPath(), "zklora-ipastore-" + Guid.NewGuid().ToString("N"))
            try
                let circuit = dotProduct [| 3L; 255L; 7L |] [| 9L; 2L; 200L |] noCheat
                let instances = [| [| dotResult [| 3L; 255L; 7L |] [| 9L; 2L; 200L |] |] |]
                let fromStore () =
                    let store = GeneratorStore dir
                    store, PublicParameters(store).Plonk
                let _, first = fromStore ()
                let pk = Proving.keygen first circuit 9 |> Result.defaultWith failwith
                Expect.equal (Proving.writeVerifyingKey first pk.Vk) (Proving.writeVerifyingKey TestParameters.pcs (Proving.verifyingKey TestParameters.pcs circuit 9 |> Result.defaultWith failwith)) "the same verifying key as derived parameters"
                let proof = Proving.prove first pk circuit instances |> Result.defaultWith failwith
                Expect.equal (Proving.verify TestParameters.pcs pk.Vk instances proof) (Ok()) "a proof made with stored parameters verifies with derived ones"
                let store, second = fromStore ()
                let vk = Proving.verifyingKey second circuit 9 |> Result.defaultWith failwith
                Expect.equal (Proving.verify second vk instances proof) (Ok()) "and with parameters loaded by a later process"
                Expect.isGreaterThanOrEqual store.LoadedPoints 512L "the later process loaded the 2^9 generators"
                Expect.isNone store.LastError "no problem"
            finally
                if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)
        }
    ]
