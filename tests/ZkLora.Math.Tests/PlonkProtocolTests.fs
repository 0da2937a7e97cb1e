/// The PLONK protocol (keys, prover, verifier, multipoint opening, proof encoding)
/// over the test-only ideal polynomial oracle: completeness and soundness of the
/// interactive protocol itself, independent of the commitment scheme.
module ZkLora.Math.Tests.PlonkProtocolTests

open Expecto
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Tests.Generators
open ZkLora.Math.Tests.PlonkCircuits

let private pcs = IdealCommitment.scheme

let keysFor k circuit =
    match Keys.keygen pcs circuit k with
    | Ok pk -> pk
    | Error e -> failtestf "keygen: %s" e

let proveOk pk circuit instances =
    match Prover.prove pcs pk circuit instances with
    | Ok p -> p
    | Error e -> failtestf "prove: %s" e

let cheatProve pk circuit instances =
    match Prover.proveUnchecked pcs pk circuit instances with
    | Ok p -> p
    | Error e -> failtestf "prove (cheating): %s" e

[<Tests>]
let tests =
    testList "plonk protocol (ideal oracle)" [
        testPropertyWithConfig { config with maxTest = 8 } "mul chain: prove and verify" <| fun (x0: Fp) (ws: Fp list) ->
            let ws = (Fp.One :: ws) |> Array.ofList |> Array.truncate 12
            let c = mulChain x0 ws noCheat
            let pk = keysFor 5 c
            let inst = [| [| x0; mulChainResult x0 ws |] |]
            Prover.prove pcs pk c inst |> Result.bind (Verifier.verify pcs pk.Vk inst) = Ok()
        test "every circuit proves and verifies" {
            let xs = Array.init 6 (fun i -> fp (int64 (i * 7 + 1)))
            let vs = [| 3L; 15L; 0L; 9L |]
            let seq = fibSequence (fp 2L) (fp 3L) 12
            let cases: (string * (unit -> Result<unit, string>)) list =
                [ "range", (fun () ->
                    let c = rangeSum 4 vs noCheat
                    let pk = keysFor 6 c
                    let inst = [| [| fp (Array.sum vs) |] |]
                    Prover.prove pcs pk c inst |> Result.bind (Verifier.verify pcs pk.Vk inst))
                  "copies", (fun () ->
                    let c = manyCopies xs (Array.rev xs) noCheat
                    let pk = keysFor 7 c
                    Prover.prove pcs pk c [||] |> Result.bind (Verifier.verify pcs pk.Vk [||]))
                  "rotations", (fun () ->
                    let c = rotations (fp 2L) (fp 3L) 12 noCheat
                    let pk = keysFor 5 c
                    let inst = [| [| fp 2L; fp 3L; seq[11] |] |]
                    Prover.prove pcs pk c inst |> Result.bind (Verifier.verify pcs pk.Vk inst))
                  "dot product (selected lookups)", (fun () ->
                    let xs, ws = [| 3L; 255L; 0L; 17L |], [| 9L; 2L; 200L; 1L |]
                    let c = dotProduct xs ws noCheat
                    let pk = keysFor 9 c
                    let inst = [| [| dotResult xs ws |] |]
                    Prover.prove pcs pk c inst |> Result.bind (Verifier.verify pcs pk.Vk inst))
                  "squares", (fun () ->
                    let c = squares xs noCheat
                    let pk = keysFor 5 c
                    let inst = squaresInstances xs
                    Prover.prove pcs pk c inst |> Result.bind (Verifier.verify pcs pk.Vk inst)) ]
            for (name, run) in cases do Expect.equal (run ()) (Ok()) name
        }
        test "wrong instance values are rejected" {
            let xs = Array.init 4 (fun i -> fp (int64 i + 3L))
            let c = squares xs noCheat
            let pk = keysFor 5 c
            let inst = squaresInstances xs
            let proof = proveOk pk c inst
            let bad = [| inst[0]; Array.mapi (fun i (v: Fp) -> if i = 1 then v + Fp.One else v) inst[1] |]
            Expect.isError (Verifier.verify pcs pk.Vk bad proof) "tampered instance"
            let extra = [| Array.append inst[0] [| Fp.One |]; inst[1] |]
            Expect.isError (Verifier.verify pcs pk.Vk extra proof) "extra instance value"
        }
        test "an unsatisfied witness yields the MockProver report, never a proof" {
            let ws = Array.init 4 (fun i -> fp (int64 i + 2L))
            let c = mulChain (fp 3L) ws (fun j v -> if j = 2 then v + Fp.One else v)
            let pk = keysFor 5 c
            match Prover.prove pcs pk c [| [| fp 3L; mulChainResult (fp 3L) ws |] |] with
            | Ok _ -> failtest "produced a proof"
            | Error e -> Expect.stringContains e "gate 'mul' (#0) constraint 0 'c = a*b' is not satisfied at row 2" "report"
        }
        test "cheating provers (one gate / one lookup / one copy violated) are rejected" {
            // gate
            let ws = Array.init 5 (fun i -> fp (int64 i + 2L))
            let c1 = mulChain (fp 3L) ws (fun j v -> if j = 2 then v + Fp.One else v)
            let pk1 = keysFor 5 c1
            let wrongOut = mulChainResult (fp 3L) ws + ws[3] * ws[4]
            let inst1 = [| [| fp 3L; wrongOut |] |]
            Expect.isError (Verifier.verify pcs pk1.Vk inst1 (cheatProve pk1 c1 inst1)) "gate"
            // lookup
            let vs = [| 1L; 2L; 3L |]
            let c2 = rangeSum 4 vs (fun j v -> if j = 1 then Value.ofInt64 99L else v)
            let pk2 = keysFor 6 c2
            let inst2 = [| [| fp (1L + 99L + 3L) |] |]
            Expect.isError (Verifier.verify pcs pk2.Vk inst2 (cheatProve pk2 c2 inst2)) "lookup"
            // selected lookup
            let c4 = dotProduct [| 1L; 256L |] [| 1L; 1L |] noCheat
            let pk4 = keysFor 9 c4
            let inst4 = [| [| fp 257L |] |]
            Expect.isError (Verifier.verify pcs pk4.Vk inst4 (cheatProve pk4 c4 inst4)) "selected lookup"
            // copy (instance binding)
            let xs = Array.init 3 (fun i -> fp (int64 i + 5L))
            let c3 = squares xs noCheat
            let pk3 = keysFor 5 c3
            let inst3 = squaresInstances xs
            inst3[1][0] <- inst3[1][0] + Fp.One
            Expect.isError (Verifier.verify pcs pk3.Vk inst3 (cheatProve pk3 c3 inst3)) "copy"
        }
        test "a proof for one circuit does not verify against another circuit's key" {
            let xs = Array.init 3 (fun i -> fp (int64 i + 5L))
            let c = squares xs noCheat
            let pk = keysFor 5 c
            let inst = squaresInstances xs
            let proof = proveOk pk c inst
            let other = keysFor 5 (squares (Array.init 4 (fun i -> fp (int64 i))) noCheat)
            // same shape, same instance layout but a different copy structure
            Expect.isError (Verifier.verify pcs other.Vk inst proof) "different copy constraints"
            let bigger = keysFor 6 c
            Expect.isError (Verifier.verify pcs bigger.Vk inst proof) "different k"
        }
        test "single-byte changes of a proof are rejected" {
            let xs = Array.init 3 (fun i -> fp (int64 i + 5L))
            let c = squares xs noCheat
            let pk = keysFor 4 c
            let inst = squaresInstances xs
            let proof = proveOk pk c inst
            Expect.equal (Verifier.verify pcs pk.Vk inst proof) (Ok()) "valid"
            let rng = System.Random 7
            for _ in 1 .. 200 do
                let i = rng.Next proof.Length
                let bad = Array.copy proof
                bad[i] <- bad[i] ^^^ byte (1 + rng.Next 255)
                Expect.isError (Verifier.verify pcs pk.Vk inst bad) (sprintf "byte %d" i)
            Expect.isError (Verifier.verify pcs pk.Vk inst (Array.append proof [| 0uy |])) "trailing byte"
            Expect.isError (Verifier.verify pcs pk.Vk inst proof[.. proof.Length - 2]) "truncated"
            Expect.isError (Verifier.verify pcs pk.Vk inst [||]) "empty"
        }
        test "batch verification accepts valid batches and rejects one bad proof" {
            let batch =
                [| for j in 0 .. 3 ->
                     let xs = Array.init 3 (fun i -> fp (int64 (i + j * 10 + 1)))
                     xs |] 
            let c0 = squares batch[0] noCheat
            let pk = keysFor 5 c0
            let items = batch |> Array.map (fun xs -> squaresInstances xs, proveOk pk (squares xs noCheat) (squaresInstances xs))
            Expect.equal (Verifier.verifyBatch pcs pk.Vk items) (Ok()) "valid batch"
            let (inst, p) = items[2]
            let tampered = Array.copy items
            tampered[2] <- ([| inst[0]; inst[1] |> Array.map (fun v -> v + Fp.One) |], p)
            Expect.isError (Verifier.verifyBatch pcs pk.Vk tampered) "one bad proof"
        }
        test "verifying key bytes round-trip; malformed keys are rejected" {
            let c = squares [| fp 1L |] noCheat
            let pk = keysFor 4 c
            let bytes = Keys.writeVerifyingKey pcs pk.Vk
            match Keys.readVerifyingKey pcs pk.Vk.Cs bytes with
            | Ok vk -> Expect.equal vk.Digest pk.Vk.Digest "same digest"
            | Error e -> failtest e
            Expect.isError (Keys.readVerifyingKey pcs pk.Vk.Cs (Array.append bytes [| 0uy |])) "trailing"
            Expect.isError (Keys.readVerifyingKey pcs pk.Vk.Cs bytes[.. bytes.Length - 2]) "truncated"
            let badVersion = Array.copy bytes
            badVersion[4] <- 9uy
            Expect.isError (Keys.readVerifyingKey pcs pk.Vk.Cs badVersion) "version"
            let otherCs = (keysFor 4 (mulChain Fp.One [| Fp.One |] noCheat)).Vk.Cs
            Expect.isError (Keys.readVerifyingKey pcs otherCs bytes) "other circuit"
            let nonCanonical = Array.copy bytes
            // last commitment's last coefficient: set to 0xFF..: not below the modulus
            for i in bytes.Length - 32 .. bytes.Length - 1 do nonCanonical[i] <- 0xFFuy
            Expect.isError (Keys.readVerifyingKey pcs pk.Vk.Cs nonCanonical) "non-canonical"
        }
        test "proving keys without the coset cache give valid proofs too" {
            let xs, ws = [| 3L; 255L; 7L |], [| 9L; 2L; 200L |]
            let c = dotProduct xs ws noCheat
            let pk = match Keys.keygenWith 0L pcs c 9 with Ok pk -> pk | Error e -> failtest e
            Expect.isNone pk.CosetCache "no cache"
            let inst = [| [| dotResult xs ws |] |]
            Expect.equal (Prover.prove pcs pk c inst |> Result.bind (Verifier.verify pcs pk.Vk inst)) (Ok()) "valid"
        }
        test "keys are deterministic" {
            let c = rangeSum 3 [| 1L; 2L |] noCheat
            let a, b = keysFor 5 c, keysFor 5 c
            Expect.equal a.Vk.Digest b.Vk.Digest "digest"
        }
    ]
