/// `contract` mode: the prover-independent parts of the proofs library — fixed-point
/// quantization and the LoRA delta relation (fast vs exact path), the Poseidon permutation
/// and the adapter commitment — at the GPT-2 c_attn shape (768 × 4 × 2304, 16 rows).
/// Last line: `poseidon_perm_us=<x> commit_c_attn_ms=<y> delta_c_attn16_fast_ms=<z> delta_c_attn16_exact_ms=<w>`.
module ZkLora.Bench.ContractBench

open System
open System.Numerics
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Bench.Measure

let run (_args: string[]) =
    let rnd = Random 1
    let cfg = defaultConfig
    let inDim, rank, outDim, rows = 768, 4, 2304, 16

    // Quantization of float32 activations (the contributor quantizes every input row).
    let acts = Array.init (rows * inDim) (fun _ -> float32 (rnd.NextDouble() * 8.0 - 4.0))
    let tq = time 1 5 (fun () -> quantizeSingleArray cfg acts |> ignore)
    printfn "quantize float32      %8.1f ns/value (%d values)" (tq.MedianSeconds * 1e9 / float acts.Length) acts.Length

    // A trained-looking adapter: weights ~ N(0, 0.02) at scale 2^20, activations ~ U(-4, 4).
    let q (v: float) = match quantize cfg v with Ok x -> x | Error e -> failwith e
    let gauss () = Math.Sqrt(-2.0 * Math.Log(1.0 - rnd.NextDouble())) * Math.Cos(2.0 * Math.PI * rnd.NextDouble())
    let a = Array.init rank (fun _ -> Array.init inDim (fun _ -> q (0.02 * gauss ())))
    let b = Array.init outDim (fun _ -> Array.init rank (fun _ -> q (0.02 * gauss ())))
    let xs = Array.init rows (fun r -> Array.init inDim (fun i -> q (float acts[r * inDim + i])))
    let s = match scalingOf 16.0 rank with Ok s -> s | Error e -> failwith e

    let fast = time 2 7 (fun () -> deltaRows cfg a b xs s.Num s.Den |> ignore)
    let exact = time 1 3 (fun () -> deltaRowsExact cfg a b xs s.Num s.Den |> ignore)
    if deltaRows cfg a b xs s.Num s.Den <> deltaRowsExact cfg a b xs s.Num s.Den then failwith "fast path disagrees"
    printfn "delta 768x4x2304 x16  fast %8.2f ms   exact %8.2f ms" (fast.MedianSeconds * 1e3) (exact.MedianSeconds * 1e3)

    // Poseidon.
    let perm = Poseidon.permutation ()
    let mutable s0, s1, s2 = Fp.One, Fp.Zero, Fp.One
    let tp = timePerCall 2 7 2000 (fun () -> perm.Permute(&s0, &s1, &s2))
    printfn "Poseidon permutation  %8.2f us" (tp.MedianSeconds * 1e6)

    // Adapter commitment of the c_attn adapter (12 288 weights → 4 096 packed elements).
    let shape: AdapterCommitment.AdapterShape = { InDim = inDim; Rank = rank; OutDim = outDim }
    let salt = AdapterCommitment.newSalt ()
    let tc = time 1 5 (fun () -> AdapterCommitment.commit shape cfg s salt a b |> ignore)
    printfn "commit c_attn adapter %8.2f ms" (tc.MedianSeconds * 1e3)

    printfn "poseidon_perm_us=%.2f commit_c_attn_ms=%.2f delta_c_attn16_fast_ms=%.3f delta_c_attn16_exact_ms=%.3f"
        (tp.MedianSeconds * 1e6) (tc.MedianSeconds * 1e3) (fast.MedianSeconds * 1e3) (exact.MedianSeconds * 1e3)
    0
