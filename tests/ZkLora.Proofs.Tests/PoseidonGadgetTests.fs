module ZkLora.Proofs.Tests.PoseidonGadgetTests

open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Math.Plonk
open ZkLora.Proofs.Circuit

/// A test circuit: the message sits in an advice column (copied into the hash region)
/// and the hash output is bound to instance row 0.
type private HashConfig =
    { Msg: AdviceColumn
      Out: InstanceColumn
      Poseidon: PoseidonGadget.PoseidonConfig }

let private hashCircuitWith (layout: PoseidonGadget.PoseidonLayout) (message: Fp[]) =
    { new ICircuit<HashConfig> with
        member _.Configure b =
            let msg = b.AdviceColumn()
            let out = b.InstanceColumn()
            b.EnableEquality msg
            b.EnableEquality out
            { Msg = msg; Out = out; Poseidon = PoseidonGadget.configure b layout None }
        member _.Synthesize(cfg, l) =
            let cells =
                l.AssignRegion("message", fun r ->
                    message |> Array.mapi (fun i v -> r.AssignAdvice(cfg.Msg, i, if r.HasWitness then Value.Known v else Value.Unknown)))
            let out = PoseidonGadget.hash cfg.Poseidon l cells
            l.ConstrainInstance(out.Cell, cfg.Out, 0) }

let private hashCircuit = hashCircuitWith PoseidonGadget.narrow

let private k = 8

let private genFp = Gen.choose (0, 1 <<< 30) |> Gen.map (fun _ -> Fp.Random())
let private genMessage = gen {
    let! len = Gen.choose (1, 6)
    return! Gen.arrayOfLength len genFp }

/// Synthesizes the circuit with its witness (an assignment the test can tamper with).
let private assignWith layout (message: Fp[]) (instance: Fp) =
    let circuit = hashCircuitWith layout message
    match Synthesis.configure circuit with
    | Error e -> failwith e
    | Ok(cs, config) ->
        match Synthesis.run cs config circuit k (Some [| [| instance |] |]) with
        | Error e -> failwith e
        | Ok a -> cs, a

let private assign = assignWith PoseidonGadget.narrow

/// The row the hash region starts at.
let private hashStart (a: Assignment) =
    a.Regions |> Array.pick (fun (struct (name, start, _)) -> if name = "poseidon hash" then Some start else None)

let private gateFailures (failures: VerifyFailure list) =
    failures
    |> List.choose (function
        | ConstraintNotSatisfied(g, _, _, cn, row, _, _) -> Some(g, cn, row)
        | _ -> None)

let private config = { FsCheckConfig.defaultConfig with maxTest = 12 }

[<Tests>]
let tests =
    testList "Poseidon gadget" [
        testPropertyWithConfig config "in-circuit hash = Poseidon.hash; MockProver satisfied" (
            Prop.forAll (Arb.fromGen genMessage) (fun message ->
                let expected = Poseidon.hash message
                Expect.equal (MockProver.verify k (hashCircuit message) [| [| expected |] |]) (Ok()) "satisfied"
                let _, a = assign message expected
                let start = hashStart a
                let outRow = start + PoseidonGadget.rowsForHashWith PoseidonGadget.narrow message.Length - 1
                Expect.equal a.Advice[0].Length a.N "advice present"
                // the poseidon state column c0 is advice column 1 (column 0 is the message)
                Expect.equal (a.Advice[1][outRow]) expected "output cell holds Poseidon.hash"))

        test "rows per hash: 37 per permutation + 1" {
            for len in 1 .. 5 do
                let _, a = assign (Array.init len (fun i -> Fp.OfInt64(int64 i))) Fp.Zero
                let struct (_, _, h) = a.Regions |> Array.find (fun (struct (n, _, _)) -> n = "poseidon hash")
                Expect.equal h (PoseidonGadget.rowsForHashWith PoseidonGadget.narrow len) (sprintf "len %d" len)
            Expect.equal (PoseidonGadget.rowsForHashWith PoseidonGadget.narrow 1) 38 "one permutation"
            Expect.equal (PoseidonGadget.rowsForHashWith PoseidonGadget.narrow 4) 75 "two permutations"
            Expect.equal (PoseidonGadget.rowsForHashWith PoseidonGadget.wide 4) 39 "wide: 19 per permutation"
        }

        test "degree stays at 4 (4 coset parts)" {
            for layout in [ PoseidonGadget.narrow; PoseidonGadget.wide; { FullPerRow = 4; PartialPerRow = 7 } ] do
                match Synthesis.configure (hashCircuitWith layout [| Fp.One |]) with
                | Ok(cs, _) -> Expect.equal cs.Degree 4 (sprintf "degree %A" layout)
                | Error e -> failwith e
        }

        testPropertyWithConfig { config with maxTest = 3 } "other layouts (2/4, 4/7, 1/1 rounds per row) agree with Poseidon.hash; each tampered scratch cell fails its gate" (
            Prop.forAll (Arb.fromGen genMessage) (fun message ->
                let expected = Poseidon.hash message
                for layout in [ PoseidonGadget.wide; { FullPerRow = 4; PartialPerRow = 7 }; { FullPerRow = 1; PartialPerRow = 1 } ] do
                    Expect.equal (MockProver.verify 9 (hashCircuitWith layout message) [| [| expected |] |]) (Ok()) (sprintf "%A" layout)
                    let cols = PoseidonGadget.adviceColumns layout
                    let fullRows = 4 / layout.FullPerRow
                    // a scratch cell in a full row and in a partial row of the first permutation
                    for (off, gate, used) in [ 1, "poseidon full rounds", 6 * layout.FullPerRow - 3
                                               1 + fullRows, "poseidon partial rounds", 2 * layout.PartialPerRow - 1 ] do
                        for col in 3 .. 3 + used - 1 do
                            let cs, a = assignWith layout message expected
                            let row = hashStart a + off
                            a.Advice[1 + col][row] <- a.Advice[1 + col][row] + Fp.One
                            let fails = gateFailures (MockProver.check cs a) |> List.filter (fun (g, _, r) -> g = gate && r = row)
                            Expect.isNonEmpty fails (sprintf "%A: column c%d at offset %d" layout col off)
                    Expect.isLessThanOrEqual (3 + max (6 * layout.FullPerRow - 3) (2 * layout.PartialPerRow - 1)) cols "scratch fits"))

        test "a wrong public output is an instance mismatch" {
            let message = [| Fp.OfInt64 1L; Fp.OfInt64 2L; Fp.OfInt64 3L |]
            match MockProver.run k (hashCircuit message) [| [| Poseidon.hash message + Fp.One |] |] with
            | Ok [ InstanceMismatch _ ] -> ()
            | other -> failtestf "expected one instance mismatch, got %A" other
        }

        test "the hash of a different message does not verify" {
            let message = [| Fp.OfInt64 5L; Fp.OfInt64 6L |]
            let other = Poseidon.hash [| Fp.OfInt64 5L; Fp.OfInt64 7L |]
            Expect.isError (MockProver.verify k (hashCircuit message) [| [| other |] |]) "different message"
        }

        test "tampered cells are reported at the failing gate and row" {
            let message = [| Fp.OfInt64 11L; Fp.OfInt64 12L; Fp.OfInt64 13L |]
            let expected = Poseidon.hash message
            // (advice column, row offset in the hash region, expected gate, expected constraint)
            // columns: 0 = message, 1..3 = state, 4..6 = c3..c5
            let cases =
                [ 4, 1, "poseidon full rounds", "r0 sq0"            // square cell of the first full round
                  6, 3, "poseidon full rounds", "r0 sq2"
                  4, 6, "poseidon partial rounds", "r0 sq"           // first partial pair row (rows 5..32)
                  5, 20, "poseidon partial rounds", "r1 a"
                  6, 32, "poseidon partial rounds", "r1 sq" ]
            for (col, off, gate, constr) in cases do
                let cs, a = assign message expected
                let row = hashStart a + off
                a.Advice[col][row] <- a.Advice[col][row] + Fp.One
                let fails = gateFailures (MockProver.check cs a)
                Expect.contains fails (gate, constr, row) (sprintf "column %d offset %d" col off)
            // A state cell: the gate of the row before (its "next" constraint) and the
            // gates reading it at its own row fail.
            let cs, a = assign message expected
            let row = hashStart a + 10
            a.Advice[2][row] <- a.Advice[2][row] + Fp.One
            let fails = gateFailures (MockProver.check cs a)
            Expect.contains fails ("poseidon partial rounds", "next1", row - 1) "next-state constraint of the previous row"
            // The message word inside the region differs from the caller's cell: copy failure.
            let cs, a = assign message expected
            let row = hashStart a + 37
            a.Advice[4][row] <- a.Advice[4][row] + Fp.One
            let failures = MockProver.check cs a
            Expect.exists failures (function CopyNotSatisfied _ -> true | _ -> false) "copy of the message word"
            // The constant initial capacity word: copy to the constants column fails.
            let cs, a = assign message expected
            let row = hashStart a
            a.Advice[3][row] <- a.Advice[3][row] + Fp.One
            let failures = MockProver.check cs a
            Expect.exists failures (function CopyNotSatisfied _ -> true | _ -> false) "capacity constant"
        }

        test "the zero padding word of an odd-length message is pinned" {
            let message = [| Fp.OfInt64 3L |]
            let cs, a = assign message (Poseidon.hash message)
            let row = hashStart a
            a.Advice[5][row] <- Fp.One
            Expect.exists (MockProver.check cs a) (function CopyNotSatisfied _ -> true | _ -> false) "padding constant"
        }
    ]
