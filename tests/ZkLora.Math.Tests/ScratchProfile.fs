module ZkLora.Math.Tests.ScratchProfile
open System.Diagnostics
open Expecto
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Tests.PlonkCircuits
[<Tests>]
let tests =
    testList "scratch" [
        test "profile k" {
            if isNull (System.Environment.GetEnvironmentVariable "PK") then skiptest "profiling only"
            let k = int (System.Environment.GetEnvironmentVariable "PK")
            let pcs = Ipa.IpaCommitmentScheme<Fp>(TestGroup.group, 20) :> ICommitmentScheme<Fp>
            let m = (1 <<< k) - 7 - 1
            let rng = System.Random 1
            let xs = Array.init m (fun _ -> int64 (rng.Next 256))
            let ws = Array.init m (fun _ -> int64 (rng.Next 256))
            let c = dotProduct xs ws noCheat
            Prover.trace <- fun ph t -> printfn "  %-22s %.3f" ph t
            let sw = Stopwatch.StartNew()
            let pk = match Keys.keygen pcs c k with Ok p -> p | Error e -> failtest e
            printfn "keygen %.3f s (blinding %d)" sw.Elapsed.TotalSeconds pk.Vk.Cs.BlindingFactors
            sw.Restart()
            let inst = [| [| dotResult xs ws |] |]
            let proof = match Prover.prove pcs pk c inst with Ok p -> p | Error e -> failtest e
            printfn "prove (cold) %.3f s" sw.Elapsed.TotalSeconds
            sw.Restart()
            let proof = match Prover.prove pcs pk c inst with Ok p -> p | Error e -> failtest e
            printfn "prove %.3f s, %d bytes" sw.Elapsed.TotalSeconds proof.Length
            sw.Restart()
            Expect.equal (Verifier.verify pcs pk.Vk inst proof) (Ok()) "ok"
            printfn "verify %.3f s" sw.Elapsed.TotalSeconds
        }
    ]
