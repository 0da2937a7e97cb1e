/// The LoRA circuit's entry points under the `LoraCircuit.` prefix its callers use (proving,
/// verification, benchmarks): the checked witness, the instance vector, the public-bound check,
/// the circuit itself, and `build`, which puts them together for one module call. The parts
/// live in their own files (LoraPlan.fs, LoraCircuitWitness.fs, LoraCircuitInstances.fs,
/// LoraCircuitGadgets.fs); the nested module below extends the plan module `LoraCircuit` (F#
/// resolves `LoraCircuit.x` through every module of that name in scope), so callers that open
/// `ZkLora.Proofs.Circuit` see one `LoraCircuit` API.
namespace ZkLora.Proofs.Circuit

open System.Numerics
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Proofs
open ZkLora.Proofs.Circuit.LoraCircuit

/// Brings the `LoraCircuit` entry points into scope with `open ZkLora.Proofs.Circuit`.
[<AutoOpen>]
module LoraCircuitEntryPoints =

    /// The entry points of the LoRA circuit beyond its shape and plan (see the file header).
    module LoraCircuit =

        /// Every integer the circuit assigns for one module call (`LoraCircuitWitness.LoraWitness`).
        type LoraWitness = LoraCircuitWitness.LoraWitness

        /// The honest witness (`LoraCircuitWitness.witness`): shapes checked, δ from the
        /// fixed-point contract, the circuit's own computation checked against it.
        let witness (s: LoraCircuitShape) (a: BigInteger[][]) (b: BigInteger[][]) (salt: Fp) (xs: BigInteger[][]) : Result<LoraWitness, string> =
            LoraCircuitWitness.witness s a b salt xs

        /// The public instance vector (`LoraCircuitInstances.instances`).
        let instances (s: LoraCircuitShape) (xs: BigInteger[][]) (delta: BigInteger[][]) (commitment: Fp) (digestHex: string) : Result<Fp[][], string> =
            LoraCircuitInstances.instances s xs delta commitment digestHex

        /// The verifier's native check on public values (`LoraCircuitInstances.checkPublicBounds`).
        let checkPublicBounds (s: LoraCircuitShape) (xs: BigInteger[][]) (delta: BigInteger[][]) : Result<unit, string> =
            LoraCircuitInstances.checkPublicBounds s xs delta

        /// The circuit for a plan and (optionally) a witness (`LoraCircuitGadgets.circuit`); without
        /// a witness it is the shape used for key generation.
        let circuit (p: LoraPlan) (wit: LoraWitness option) : ICircuit<LoraCircuitGadgets.LoraConfig> =
            LoraCircuitGadgets.circuit p wit

        /// Everything needed to prove one module call: the plan, the circuit with its witness,
        /// and the public instance vector.
        type LoraProofInput =
            { Plan: LoraPlan
              Witness: LoraWitness
              Commitment: Fp
              Instances: Fp[][] }

        /// Builds the prover's input from the private weights and salt and the public x rows:
        /// computes δ (FixedPoint.deltaRows), the commitment and the instance vector.
        let build (s: LoraCircuitShape) (a: BigInteger[][]) (b: BigInteger[][]) (salt: Fp) (xs: BigInteger[][]) (digestHex: string)
            : Result<LoraProofInput, string> =
            result {
                let! p = plan s
                let s = p.Shape
                let! wit = witness s a b salt xs
                let! commitment =
                    AdapterCommitment.commit { InDim = s.InDim; Rank = s.Rank; OutDim = s.OutDim } s.Config s.Scaling salt a b
                let! inst = instances s xs wit.Delta commitment digestHex
                return { Plan = p; Witness = wit; Commitment = commitment; Instances = inst }
            }
