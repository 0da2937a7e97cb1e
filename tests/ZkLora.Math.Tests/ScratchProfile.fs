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

[<Tests>]
let foldProfile =
    test "profile fold" {
        if isNull (System.Environment.GetEnvironmentVariable "PFOLD") then skiptest "profiling only"
        let half = 8192
        let gs = Vesta.generators "fold profile" (2 * half)
        let u = Ipa.roundChallenge (Fp.Random())
        for _ in 1 .. 2 do
            let sw = Stopwatch.StartNew()
            VestaIpa.group.Fold(gs, half, u) |> ignore
            printfn "batch-affine fold %d: %.3f s" half sw.Elapsed.TotalSeconds
            sw.Restart()
            let folded = Array.zeroCreate<Vesta> half
            System.Threading.Tasks.Parallel.For(0, half, fun i -> folded[i] <- Vesta.OfAffine(gs[half + i]).MulVartime(u).AddAffine(gs[i])) |> ignore
            Vesta.batchNormalize folded |> ignore
            printfn "projective fold %d: %.3f s" half sw.Elapsed.TotalSeconds
            sw.Restart()
            let scalars = Array.init (2 * half) (fun _ -> Fp.Random())
            sw.Restart()
            Vesta.msm gs scalars |> ignore
            printfn "msm %d: %.3f s" (2 * half) sw.Elapsed.TotalSeconds
    }
