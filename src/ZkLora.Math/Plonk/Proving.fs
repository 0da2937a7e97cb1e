/// The proving system with its production commitment scheme (IPA over Vesta): the entry
/// points circuit code and the zkLoRA protocol use, plus a bounded key cache so the
/// second proof of a circuit shape pays no key generation. The scheme instance (its
/// parameters) is passed in by the caller, who owns it.
module ZkLora.Math.Plonk.Proving

open System
open System.Collections.Generic
open ZkLora.Math
open ZkLora.Math.Commitment

type VestaProvingKey = ProvingKey<VestaAffine>
type VestaVerifyingKey = VerifyingKey<VestaAffine>
/// The IPA-over-Vesta commitment scheme the keys and proofs are made with; the caller owns it
/// (`VestaIpa.create`, or `PublicParameters.Plonk` of a prover or verifier context).
type VestaPcs = ICommitmentScheme<VestaAffine>

/// Keys for `circuit` at 2^k rows (deterministic in the circuit's shape).
let keygen (pcs: VestaPcs) (circuit: ICircuit<'Config>) (k: int) : Result<VestaProvingKey, string> = Keys.keygen pcs circuit k

/// The verifying key alone (what a verifier derives; byte-identical to `keygen`'s).
let verifyingKey (pcs: VestaPcs) (circuit: ICircuit<'Config>) (k: int) : Result<VestaVerifyingKey, string> = Keys.verifyingKey pcs circuit k

/// A proof that `circuit`'s witness satisfies it for `instances`; Error (with the
/// MockProver report) when it does not.
let prove (pcs: VestaPcs) (pk: VestaProvingKey) (circuit: ICircuit<'Config>) (instances: Fp[][]) : Result<byte[], string> =
    Prover.prove pcs pk circuit instances

/// Verifies a proof.
let verify (pcs: VestaPcs) (vk: VestaVerifyingKey) (instances: Fp[][]) (proof: byte[]) : Result<unit, string> =
    Verifier.verify pcs vk instances proof

/// Verifies many proofs of one circuit with one combined final check.
let verifyBatch (pcs: VestaPcs) (vk: VestaVerifyingKey) (items: (Fp[][] * byte[])[]) : Result<unit, string> =
    Verifier.verifyBatch pcs vk items

/// Canonical verifying-key bytes.
let writeVerifyingKey (pcs: VestaPcs) (vk: VestaVerifyingKey) = Keys.writeVerifyingKey pcs vk

/// Parses verifying-key bytes for the circuit whose constraint system is `cs`.
let readVerifyingKey (pcs: VestaPcs) (cs: ConstraintSystem) (bytes: byte[]) = Keys.readVerifyingKey pcs cs bytes

/// A bounded, thread-safe cache of keys (proving or verifying) by a caller-chosen id (for
/// example the circuit id, which fixes the shape and k). The least recently used key is
/// evicted beyond `capacity`. Concurrent requests for one id create it once; a failed
/// creation is not cached. The host owns it (a prover or verifier context), so nothing is
/// cached process-wide.
[<Sealed>]
type KeyCache<'Id, 'Key when 'Id: equality>(capacity: int) =
    do if capacity < 1 then invalidArg "capacity" "capacity must be at least 1"
    let sync = obj ()
    let entries = Dictionary<'Id, Lazy<Result<'Key, string>>>(HashIdentity.Structural)
    let order = LinkedList<'Id>()
    let nodes = Dictionary<'Id, LinkedListNode<'Id>>(HashIdentity.Structural)
    member _.Capacity = capacity
    member _.Count = lock sync (fun () -> entries.Count)

    /// The key for `id`, created by `create` on first use (once, even when requested
    /// concurrently). A failed creation is not cached.
    member _.GetOrAdd(id: 'Id, create: unit -> Result<'Key, string>) : Result<'Key, string> =
        let entry =
            lock sync (fun () ->
                match entries.TryGetValue id with
                | true, e ->
                    order.Remove(nodes[id])
                    nodes[id] <- order.AddFirst id
                    e
                | _ ->
                    let e = lazy (create ())
                    entries[id] <- e
                    nodes[id] <- order.AddFirst id
                    e)
        let result = entry.Value
        lock sync (fun () ->
            if Result.isError result then
                // failures are not cached
                match entries.TryGetValue id with
                | true, e when Object.ReferenceEquals(e, entry) ->
                    entries.Remove id |> ignore
                    order.Remove(nodes[id])
                    nodes.Remove id |> ignore
                | _ -> ()
            // evict least recently used keys (after success, so a failure evicts nothing)
            while entries.Count > capacity do
                let last = order.Last.Value
                order.RemoveLast()
                entries.Remove last |> ignore
                nodes.Remove last |> ignore)
        result

/// The proving key of `circuit` at 2^k rows from `cache` (generated on first use).
let cachedProvingKey (pcs: VestaPcs) (cache: KeyCache<'Id, VestaProvingKey>) (id: 'Id) (k: int) (circuit: unit -> ICircuit<'Config>) =
    cache.GetOrAdd(id, fun () -> keygen pcs (circuit ()) k)

/// The verifying key of `circuit` at 2^k rows from `cache` (derived on first use).
let cachedVerifyingKey (pcs: VestaPcs) (cache: KeyCache<'Id, VestaVerifyingKey>) (id: 'Id) (k: int) (circuit: unit -> ICircuit<'Config>) =
    cache.GetOrAdd(id, fun () -> verifyingKey pcs (circuit ()) k)
