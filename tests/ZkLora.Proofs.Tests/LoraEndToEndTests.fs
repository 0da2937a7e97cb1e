/// Prove → verify of the LoRA circuit with the real proving system (PLONK over the Vesta
/// inner-product argument), and the verifier's rejections.
module ZkLora.Proofs.Tests.LoraEndToEndTests

open ZkLora.Testing
open System.Numerics
open Expecto
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Circuit
open ZkLora.Proofs.Circuit.LoraCircuit
open ZkLora.Proofs.Circuit.LoraCircuitWitness
open ZkLora.Proofs.Circuit.LoraCircuitInstances
open ZkLora.Proofs.Circuit.LoraCircuitGadgets
open ZkLora.Math.Commitment

let private unwrap r = match r with Ok v -> v | Error e -> failtestf "unexpected error: %s" e

let private digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

let private case (i, r, o, t) (cfg: FixedPointConfig) seed =
    let rnd = System.Random(seed: int)
    let v (bits: int) = BigInteger(rnd.NextInt64(-(1L <<< bits), 1L <<< bits))
    let s = { InDim = i; Rank = r; OutDim = o; Rows = t; Config = cfg; Scaling = { Num = BigInteger 2; Den = BigInteger 3 } }
    // magnitudes that keep every intermediate and δ inside the config's bounds
    let bits = cfg.ValueBits / 2 - 2
    let a = Array.init r (fun _ -> Array.init i (fun _ -> v bits))
    let b = Array.init o (fun _ -> Array.init r (fun _ -> v bits))
    let xs = Array.init t (fun _ -> Array.init i (fun _ -> v bits))
    LoraCircuit.build s a b (Fp.Random()) xs digest |> unwrap

let private prove (input: LoraCircuit.LoraProofInput) =
    let pk = Keys.keygen TestParameters.pcs (circuit input.Plan None) input.Plan.K |> unwrap
    let proof = Prover.prove TestParameters.pcs pk (circuit input.Plan (Some input.Witness)) input.Instances |> unwrap
    pk, proof

let private withInstance (input: LoraCircuit.LoraProofInput) (row: int) (f: Fp -> Fp) =
    let col = Array.copy input.Instances[0]
    col[row] <- f col[row]
    [| col |]

[<Tests>]
let tests =
    testSequenced <| testList "LoRA circuit end to end (Vesta IPA)" [
        let small = lazy (let i = case (2, 1, 2, 1) defaultConfig 1 in i, prove i)
        test "2×1×2, one row: proof verifies" {
            let input, (pk, proof) = small.Value
            Expect.equal (Verifier.verify TestParameters.pcs pk.Vk input.Instances proof) (Ok()) "verifies"
        }
        test "2×1×2: the verifier's key derivation gives keygen's verifying key, byte for byte" {
            let input, (pk, _) = small.Value
            let vk = Keys.verifyingKey TestParameters.pcs (circuit input.Plan None) input.Plan.K |> unwrap
            Expect.equal (Keys.writeVerifyingKey TestParameters.pcs vk) (Keys.writeVerifyingKey TestParameters.pcs pk.Vk) "key bytes"
            Expect.equal vk.Digest pk.Vk.Digest "digest"
            let direct (values: Fp[][]) = values |> Array.map (fun v -> TestParameters.pcs.Encode(TestParameters.pcs.CommitLagrange(input.Plan.K, v, Fp.Zero)))
            Expect.equal (vk.SigmaCommitments |> Array.map TestParameters.pcs.Encode) (direct pk.SigmaValues) "σ commitments"
            Expect.equal (vk.FixedCommitments |> Array.map TestParameters.pcs.Encode) (direct pk.FixedValues) "fixed commitments"
        }
        test "2×1×2: a wrong δ, x, commitment or statement digest is rejected" {
            let input, (pk, proof) = small.Value
            let s = input.Plan.Shape
            let reject what inst =
                Expect.isError (Verifier.verify TestParameters.pcs pk.Vk inst proof) what
            reject "δ" (withInstance input (instanceRowOfDelta s 0 1) (fun d -> d + Fp.One))
            reject "x" (withInstance input (instanceRowOfX s 0 0) (fun x -> x - Fp.One))
            reject "commitment" (withInstance input 0 (fun c -> c + Fp.One))
            reject "digest (high half)" (withInstance input 1 (fun d -> d + Fp.One))
            reject "digest (low half)" (withInstance input 2 (fun d -> d + Fp.One))
        }
        test "2×1×2: the proof does not verify under the key of another scaling (another circuit id)" {
            let input, (_, proof) = small.Value
            let other = { input.Plan.Shape with Scaling = { Num = BigInteger 1; Den = BigInteger 1 } }
            let p = plan other |> unwrap
            Expect.notEqual (circuitId p) (circuitId input.Plan) "distinct ids"
            let pk = Keys.keygen TestParameters.pcs (circuit p None) p.K |> unwrap
            Expect.isError (Verifier.verify TestParameters.pcs pk.Vk input.Instances proof) "foreign key"
        }
        test "3×2×4 with 2 token rows and config 16/32/64: proof verifies" {
            let input = case (3, 2, 4, 2) { ScaleBits = 16; ValueBits = 32; IntermediateBits = 64 } 2
            let pk, proof = prove input
            Expect.equal (Verifier.verify TestParameters.pcs pk.Vk input.Instances proof) (Ok()) "verifies"
            let bad = withInstance input (instanceRowOfDelta input.Plan.Shape 1 3) (fun d -> d - Fp.One)
            Expect.isError (Verifier.verify TestParameters.pcs pk.Vk bad proof) "wrong δ"
        }
    ]
