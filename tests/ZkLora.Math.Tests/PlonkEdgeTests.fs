/// The proving system's edges (issue 12, part 3): circuits whose queries cannot be opened
/// (rotations equal mod n) are refused everywhere; the verifier never throws, whatever it
/// is given; lookup tables and constants never share a column; the prover's failure report
/// carries no witness value; the commitment scheme's opening checks are reachable only
/// through the library's verifier path.
module ZkLora.Math.Tests.PlonkEdgeTests

open ZkLora.Testing
open System
open Expecto
open FsCheck
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Tests.Generators
open ZkLora.Math.Tests.PlonkCircuits
open ZkLora.Math.Transcript
open ZkLora.Math.Commitment

let private ideal = IdealCommitment.scheme

let private adHoc (configure: ConstraintSystemBuilder -> 'C) (synthesize: 'C -> Layouter -> unit) =
    { new ICircuit<'C> with
        member _.Configure b = configure b
        member _.Synthesize(cfg, l) = synthesize cfg l }

let private configured circuit =
    match Synthesis.configure circuit with
    | Ok(cs, _) -> cs
    | Error e -> failtestf "configure: %s" e

/// A gate reading one advice column at rotation 0 and at `rotation` (selector never on, so
/// every assignment satisfies it: only the query structure matters).
let private rotationCircuit (rotation: int) =
    adHoc (fun b ->
            let a = b.AdviceColumn()
            let q = b.Selector()
            b.CreateGate("far", [ q.Expr * (a.Query rotation - a.Cur) ])
            a)
        (fun a l -> l.AssignRegion("r", fun r -> r.AssignAdvice(a, 0, Fp.One) |> ignore))

/// One advice column read at rotations 0..3 (6 blinding rows) and two equality columns
/// (two permutation chunks at degree 3): at k = 3 exactly one usable row remains, where the
/// permutation product's +1 and last-row (u - n = -7) rotations are equal mod n = 8.
let private oneUsableRow () =
    adHoc (fun b ->
            let a, c = b.AdviceColumn(), b.AdviceColumn()
            let q = b.Selector()
            b.EnableEquality a
            b.EnableEquality c
            b.CreateGate("wide", [ q.Expr * (a.Query 1 + a.Query 2 + a.Query 3 - a.Cur) ])
            (a, c))
        (fun (a, c) l ->
            l.AssignRegion("r", fun r ->
                let x = r.AssignAdvice(a, 0, Fp.One)
                let y = r.AssignAdvice(c, 0, Fp.One)
                r.ConstrainEqual(x.Cell, y.Cell)))

/// A verifying key for a configured constraint system without keygen (a key a verifier may
/// be handed): zero commitments of the ideal scheme.
let private handmadeVk (cs: ConstraintSystem) (k: int) : VerifyingKey<Fp[]> =
    let zero () = Array.zeroCreate<Fp> (1 <<< k)
    { K = k
      Cs = cs
      ShapeDigest = CircuitDigest.ofShape cs k
      FixedCommitments = Array.init cs.NumFixed (fun _ -> zero ())
      SigmaCommitments = Array.init cs.PermutationColumns.Length (fun _ -> zero ())
      Digest = Array.zeroCreate 32 }

let private isErrorNoThrow (what: string) (f: unit -> Result<'T, string>) =
    match (try Choice1Of2(f ()) with ex -> Choice2Of2 ex) with
    | Choice1Of2(Error _) -> ()
    | Choice1Of2(Ok _) -> failtestf "%s: accepted" what
    | Choice2Of2 ex -> failtestf "%s: threw %s: %s" what (ex.GetType().Name) ex.Message

let private garbageSuite (name: string) (pcs: ICommitmentScheme<'C>) (k: int) =
    let xs = [| fp 4L; fp 5L; fp 6L |]
    let circuit = squares xs noCheat
    let inst = squaresInstances xs
    let pk = lazy (match Keys.keygen pcs circuit k with Ok pk -> pk | Error e -> failtestf "keygen: %s" e)
    let proof = lazy (match Prover.prove pcs pk.Value circuit inst with Ok p -> p | Error e -> failtestf "prove: %s" e)
    let both (what: string) (vk: VerifyingKey<'C>) (inst: Fp[][]) (p: byte[]) =
        isErrorNoThrow (what + " (verify)") (fun () -> Verifier.verify pcs vk inst p)
        isErrorNoThrow (what + " (verifyBatch)") (fun () -> Verifier.verifyBatch pcs vk [| (inst, p) |])
        isErrorNoThrow (what + " (verifyBatch, with a valid proof)") (fun () ->
            Verifier.verifyBatch pcs vk [| (squaresInstances xs, proof.Value); (inst, p) |])
    testList name [
        test "the valid proof verifies (baseline)" {
            Expect.equal (Verifier.verify pcs pk.Value.Vk inst proof.Value) (Ok()) "verify"
            Expect.equal (Verifier.verifyBatch pcs pk.Value.Vk [| (inst, proof.Value) |]) (Ok()) "batch"
        }
        test "garbage, empty, header-only and huge proofs are errors" {
            let rng = Random 12
            let vk = pk.Value.Vk
            let p = proof.Value
            both "null" vk inst null
            both "empty" vk inst [||]
            both "header only" vk inst p[.. 4]
            for len in [ 1; 4; 5; 6; 37; 100; p.Length - 1; p.Length; p.Length + 1; 3 * p.Length ] do
                let g = Array.zeroCreate<byte> len
                rng.NextBytes g
                both (sprintf "random %d bytes" len) vk inst g
                // the right magic and version in front of random bytes
                if len > 5 then
                    Array.blit p 0 g 0 5
                    both (sprintf "header + random %d bytes" len) vk inst g
            let huge = Array.zeroCreate<byte> (16 <<< 20)
            rng.NextBytes huge
            Array.blit p 0 huge 0 p.Length
            both "16 MiB (a valid proof followed by random bytes)" vk inst huge
        }
        test "truncated proofs are errors" {
            let rng = Random 13
            let p = proof.Value
            for _ in 1 .. 60 do
                let len = rng.Next p.Length
                both (sprintf "first %d bytes" len) pk.Value.Vk inst p[.. len - 1]
        }
        test "bit-flipped proofs are errors" {
            let rng = Random 14
            let p = proof.Value
            for _ in 1 .. 60 do
                let bad = Array.copy p
                let i = rng.Next p.Length
                bad[i] <- bad[i] ^^^ (1uy <<< rng.Next 8)
                both (sprintf "bit flip in byte %d" i) pk.Value.Vk inst bad
        }
        test "mismatched keys and instances are errors" {
            let vk = pk.Value.Vk
            let p = proof.Value
            let other = configured (rangeSum 4 [| 1L |] noCheat)
            // a verifying key whose constraint system is another circuit's (its commitment
            // arrays do not fit that circuit): before, an IndexOutOfRangeException escaped
            both "another circuit's constraint system" { vk with Cs = other } [| [| fp 1L |] |] p
            both "another circuit's constraint system, this circuit's instances" { vk with Cs = other } inst p
            both "k + 1" { vk with K = k + 1 } inst p
            both "k = 0" { vk with K = 0 } inst p
            both "k = 99" { vk with K = 99 } inst p
            both "k = -1" { vk with K = -1 } inst p
            both "no fixed commitments" { vk with FixedCommitments = [||] } inst p
            both "no sigma commitments" { vk with SigmaCommitments = [||] } inst p
            both "null commitments" { vk with FixedCommitments = null } inst p
            both "null constraint system" { vk with Cs = Unchecked.defaultof<_> } inst p
            both "null key" (Unchecked.defaultof<_>) inst p
            both "null instances" vk null p
            both "a null instance column" vk [| inst[0]; null |] p
            both "one instance column too few" vk [| inst[0] |] p
            both "an instance column longer than the usable rows" vk [| inst[0]; Array.create 100000 Fp.One |] p
            let otherPk = match Keys.keygen pcs (squares [| fp 1L; fp 2L; fp 3L; fp 4L |] noCheat) k with Ok pk -> pk | Error e -> failtest e
            both "another key of the same shape" otherPk.Vk inst p
        }
        test "verifyBatch: missing items are errors, never exceptions" {
            let vk = pk.Value.Vk
            isErrorNoThrow "null batch" (fun () -> Verifier.verifyBatch pcs vk null)
            isErrorNoThrow "null item" (fun () -> Verifier.verifyBatch pcs vk [| Unchecked.defaultof<_> |])
            isErrorNoThrow "valid + null item" (fun () -> Verifier.verifyBatch pcs vk [| (inst, proof.Value); Unchecked.defaultof<_> |])
        }
        testPropertyWithConfig { config with maxTest = 40 } "arbitrary bytes never verify and never throw" <| fun (bytes: byte[]) (withHeader: bool) ->
            let bytes = if isNull bytes then [||] else bytes
            let p = if withHeader then Array.append proof.Value[.. 4] bytes else bytes
            let ok f = match (try f () with _ -> Ok()) with Error _ -> true | Ok _ -> false
            ok (fun () -> Verifier.verify pcs pk.Value.Vk inst p)
            && ok (fun () -> Verifier.verifyBatch pcs pk.Value.Vk [| (inst, p) |])
    ]

[<Tests>]
let tests =
    testList "plonk edges" [
        testList "rotations that collide mod n are refused" [
            test "a rotation of n (equal to 0 mod n) is refused by keygen, the verifying-key derivation and the MockProver" {
                let c = rotationCircuit 16
                Expect.isError (Keys.keygen ideal c 4) "keygen (ideal)"
                Expect.isError (Keys.keygen TestParameters.pcs c 4) "keygen (Vesta)"
                Expect.isError (Keys.verifyingKey TestParameters.pcs c 4) "verifying key"
                match MockProver.run 4 c [||] with
                | Ok fs -> failtestf "MockProver accepted the circuit (%d failures)" fs.Length
                | Error e -> Expect.stringContains e "rotation 16" "names the rotation"
            }
            test "|rotation| must be below the usable rows" {
                // k = 4: n = 16, 5 blinding rows, u = 10
                for r in [ 10; -10; 12; 15; -16; 17 ] do
                    Expect.isError (Keys.keygen ideal (rotationCircuit r) 4) (sprintf "rotation %d" r)
                    Expect.isError (MockProver.run 4 (rotationCircuit r) [||]) (sprintf "MockProver, rotation %d" r)
                for r in [ 9; -9; 1; -1 ] do
                    Expect.isOk (Keys.keygen ideal (rotationCircuit r) 4) (sprintf "rotation %d is fine" r)
                    Expect.equal (MockProver.run 4 (rotationCircuit r) [||]) (Ok []) (sprintf "MockProver, rotation %d" r)
                // the same rotation fits a larger domain
                Expect.isOk (Keys.keygen ideal (rotationCircuit 12) 5) "rotation 12 at k = 5"
            }
            test "rotations below the usable rows but equal mod n are refused" {
                // k = 4, u = 10: 8 and -8 differ by n = 16
                let c =
                    adHoc (fun b ->
                            let a = b.AdviceColumn()
                            let q = b.Selector()
                            b.CreateGate("wrap", [ q.Expr * (a.Query 8 - a.Query -8) ])
                            a)
                        (fun a l -> l.AssignRegion("r", fun r -> r.AssignAdvice(a, 0, Fp.One) |> ignore))
                let cs = configured c
                Expect.equal (cs.UsableRows 16) 10 "u = 10"
                match ProofLayout.checkRotations cs 4 with
                | Error e -> Expect.stringContains e "equal mod n = 16" "reason"
                | Ok() -> failtest "accepted"
                Expect.isError (Keys.keygen ideal c 4) "keygen"
                Expect.isError (MockProver.run 4 c [||]) "MockProver"
                Expect.isOk (ProofLayout.checkRotations cs 5) "k = 5 separates them"
            }
            test "one usable row (the permutation product's +1 and last-row rotations coincide) is refused" {
                let c = oneUsableRow ()
                let cs = configured c
                Expect.equal (cs.UsableRows 8) 1 "one usable row at k = 3"
                Expect.isError (Keys.keygen ideal c 3) "keygen"
                Expect.isError (Keys.keygen TestParameters.pcs c 3) "keygen (Vesta)"
                Expect.isError (MockProver.run 3 c [||]) "MockProver"
                Expect.isOk (Keys.keygen ideal c 4) "k = 4 is fine"
                // the argument's own rotations alone: a constraint system with only rotation 0
                // but 6 blinding rows, so u = 1 at k = 3
                let cs0 = configured (manyCopies [| fp 1L |] [| fp 2L |] noCheat)
                let cs1 = { cs0 with BlindingFactors = 6 }
                match ProofLayout.checkRotations cs1 3 with
                | Error e -> Expect.stringContains e "permutation product" "names the permutation product"
                | Ok() -> failtest "accepted"
            }
            test "the verifier and the verifying-key reader refuse a key for such a circuit (Error, never an exception)" {
                let c = rotationCircuit 16
                let cs = configured c
                let vk = handmadeVk cs 4
                let garbage = Array.zeroCreate<byte> 4000
                Random(3).NextBytes garbage
                Array.blit (Text.Encoding.ASCII.GetBytes "ZKLP") 0 garbage 0 4
                garbage[4] <- 1uy
                isErrorNoThrow "verify" (fun () -> Verifier.verify ideal vk [||] garbage)
                isErrorNoThrow "verifyBatch" (fun () -> Verifier.verifyBatch ideal vk [| ([||], garbage) |])
                let ok = handmadeVk (configured (rotationCircuit 1)) 4
                let bytes = Keys.writeVerifyingKey ideal { ok with Cs = cs; ShapeDigest = CircuitDigest.ofShape cs 4 }
                isErrorNoThrow "readVerifyingKey" (fun () -> Keys.readVerifyingKey ideal cs bytes)
            }
            test "Multiopen.verify returns Error on coinciding points" {
                // before: DivideByZeroException from the interpolation through {z, z}
                let k = 2
                let z = fp 7L
                let c = Array.init 4 (fun i -> fp (int64 i))
                let entry: Multiopen.VerifierEntry<Fp[]> =
                    { Commitments = [| c |]; Scalars = [| Fp.One |]; Points = [| 0; 1 |]; Evals = [| fp 1L; fp 2L |] }
                let proofBytes = Array.zeroCreate<byte> (32 * 4 + 32)
                let run points entries =
                    use t = new Blake3Transcript("multiopen test") :> ITranscript
                    Multiopen.verify ideal k (ProofReader(t, proofBytes)) points entries
                isErrorNoThrow "two equal points" (fun () -> run [| z; z |] [| entry |])
                isErrorNoThrow "a point index out of range" (fun () -> run [| z |] [| entry |])
                isErrorNoThrow "one value for two points" (fun () -> run [| z; z + Fp.One |] [| { entry with Evals = [| Fp.One |] } |])
                isErrorNoThrow "a repeated point index" (fun () -> run [| z; z + Fp.One |] [| { entry with Points = [| 0; 0 |] } |])
                isErrorNoThrow "scalars and commitments differ in number" (fun () -> run [| z; z + Fp.One |] [| { entry with Scalars = [||] } |])
            }
        ]
        garbageSuite "the verifier never throws (ideal oracle)" ideal 4
        garbageSuite "the verifier never throws (IPA over Vesta)" TestParameters.pcs 5
        testList "lookup tables and constants" [
            test "a table column used as the constants column is refused at configure time" {
                // before: every constant became a table entry, and a 4-bit range check
                // accepted 1 000 000 (MockProver, prover and verifier agreed)
                let c =
                    adHoc (fun b ->
                            let x = b.AdviceColumn()
                            let q = b.Selector()
                            let t = b.LookupTableColumn()
                            b.EnableEquality x
                            b.EnableConstant t.Fixed
                            b.Lookup("x in 4 bits", q, [ x.Cur, t ])
                            (x, q, t))
                        (fun (x, q, t) l ->
                            l.AssignTable("4 bits", fun tb -> for v in 0 .. 15 do tb.AssignCell(t, v, fp (int64 v)))
                            l.AssignRegion("r", fun r ->
                                r.EnableSelector(q, 0)
                                r.AssignAdviceFromConstant(x, 0, fp 1_000_000L) |> ignore))
                match MockProver.run 6 c [||] with
                | Ok fs -> failtestf "MockProver accepted the circuit (%d failures)" fs.Length
                | Error e -> Expect.stringContains e "lookup table column" "reason"
                Expect.isError (Keys.keygen ideal c 6) "keygen"
                Expect.isError (Keys.keygen TestParameters.pcs c 6) "keygen (Vesta)"
            }
            test "separate table and constants columns still work (and 1 000 000 is not in a 4-bit table)" {
                let c (value: int64) =
                    adHoc (fun b ->
                            let x = b.AdviceColumn()
                            let q = b.Selector()
                            let t = b.LookupTableColumn()
                            b.EnableEquality x
                            b.EnableConstant(b.FixedColumn())
                            b.Lookup("x in 4 bits", q, [ x.Cur, t ])
                            (x, q, t))
                        (fun (x, q, t) l ->
                            l.AssignTable("4 bits", fun tb -> for v in 0 .. 15 do tb.AssignCell(t, v, fp (int64 v)))
                            l.AssignRegion("r", fun r ->
                                r.EnableSelector(q, 0)
                                r.AssignAdviceFromConstant(x, 0, fp value) |> ignore))
                Expect.equal (MockProver.run 6 (c 9L) [||]) (Ok []) "9 is in the table"
                match MockProver.run 6 (c 1_000_000L) [||] with
                | Ok [ LookupNotSatisfied("x in 4 bits", 0, 0, _, _) ] -> ()
                | other -> failtestf "unexpected %A" other
            }
        ]
        testList "failure reports carry no witness values" [
            let hexAndDecimal (v: Fp) = [ string v; string (v.ToBigInteger()) ]
            let noneOf (values: Fp seq) (message: string) =
                for v in values do
                    for s in hexAndDecimal v do
                        Expect.isFalse (message.Contains s) (sprintf "the message contains the witness value %s:\n%s" s message)
            test "a failing prove names gate, lookup and copy and rows, but no value" {
                // gate: a wrong product
                let x0 = fp 1_234_567L
                let ws = [| fp 987_654_321L; fp 192_837_465L; fp 564_738_291L |]
                let c1 = mulChain x0 ws (fun j v -> if j = 1 then v + fp 111_111L else v)
                let pk1 = match Keys.keygen ideal c1 5 with Ok pk -> pk | Error e -> failtest e
                let inst1 = [| [| x0; mulChainResult x0 ws |] |]
                match Prover.prove ideal pk1 c1 inst1 with
                | Ok _ -> failtest "proved"
                | Error e ->
                    Expect.stringContains e "gate 'mul' (#0) constraint 0 'c = a*b' is not satisfied at row 1" "which gate and row"
                    let products = ws |> Array.scan (*) x0
                    noneOf (Array.concat [ ws; products; [| products[2] + fp 111_111L |] ]) e
                // lookup: an out-of-range value
                let c2 = rangeSum 4 [| 3L; 5L |] (fun j v -> if j = 1 then Value.ofInt64 54_321L else v)
                let pk2 = match Keys.keygen ideal c2 6 with Ok pk -> pk | Error e -> failtest e
                match Prover.prove ideal pk2 c2 [| [| fp (3L + 54_321L) |] |] with
                | Ok _ -> failtest "proved"
                | Error e ->
                    Expect.stringContains e "lookup 'v in range' (#0): the input at row 1" "which lookup and row"
                    noneOf [ fp 54_321L; fp (3L + 54_321L); fp 108_642L ] e
                // copy: two cells that differ
                let c3 =
                    adHoc (fun b ->
                            let x, y = b.AdviceColumn(), b.AdviceColumn()
                            b.EnableEquality x
                            b.EnableEquality y
                            x, y)
                        (fun (x, y) l ->
                            l.AssignRegion("r", fun r ->
                                let a = r.AssignAdvice(x, 0, if r.HasWitness then Value.ofInt64 31_337L else Value.Unknown)
                                let b = r.AssignAdvice(y, 0, if r.HasWitness then Value.ofInt64 27_182L else Value.Unknown)
                                r.ConstrainEqual(a.Cell, b.Cell)))
                let pk3 = match Keys.keygen ideal c3 4 with Ok pk -> pk | Error e -> failtest e
                match Prover.prove ideal pk3 c3 [||] with
                | Ok _ -> failtest "proved"
                | Error e ->
                    Expect.stringContains e "copy constraint: advice[0] row 0 and advice[1] row 0 differ" "which copy"
                    noneOf [ fp 31_337L; fp 27_182L ] e
            }
            test "MockProver.describe and ToString carry no values; describeWithValues (local debugging) does" {
                let ws = [| fp 424_242L; fp 171_717L |]
                let c = mulChain (fp 3L) ws (fun j v -> if j = 0 then v + Fp.One else v)
                match MockProver.run 5 c [| [| fp 3L; mulChainResult (fp 3L) ws |] |] with
                | Error e -> failtest e
                | Ok fs ->
                    Expect.isNonEmpty fs "failures"
                    noneOf ws (MockProver.describe 10 fs)
                    for f in fs do noneOf ws (string f)
                    Expect.stringContains (MockProver.describeWithValues 10 fs) (string ws[0]) "local report has the values"
                match MockProver.verify 5 c [| [| fp 3L; mulChainResult (fp 3L) ws |] |] with
                | Error e -> noneOf ws e
                | Ok() -> failtest "accepted"
            }
        ]
        test "ProofReader cannot be constructed outside the library (the opening checks' transcript precondition)" {
            // ICommitmentScheme.Verify/VerifyCombination do not absorb the commitment, point
            // and value they check; only the library's multiopen path (which derives all
            // three from the transcript) can hand them a reader.
            let ctors = typeof<ProofReader>.GetConstructors(Reflection.BindingFlags.Public ||| Reflection.BindingFlags.Instance)
            Expect.isEmpty ctors "no public constructor"
        }
    ]
