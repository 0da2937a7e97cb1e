/// Constraint system, layouter, permutation mapping and MockProver tests.
module ZkLora.Math.Tests.PlonkMockTests

open System.Collections.Generic
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Tests.Generators
open ZkLora.Math.Tests.PlonkCircuits

let private failuresOf k circuit instances =
    match MockProver.run k circuit instances with
    | Ok fs -> fs
    | Error e -> failtestf "synthesis failed: %s" e

let private synthError k circuit instances =
    match MockProver.run k circuit instances with
    | Ok fs -> failtestf "expected a synthesis error, got %d failures" fs.Length
    | Error e -> e

let private configured circuit =
    match Synthesis.configure circuit with
    | Ok(cs, _) -> cs
    | Error e -> failtest e

/// A circuit from two closures (tests that need one-off shapes).
let private adHoc (configure: ConstraintSystemBuilder -> 'C) (synthesize: 'C -> Layouter -> unit) =
    { new ICircuit<'C> with
        member _.Configure b = configure b
        member _.Synthesize(c, l) = synthesize c l }

let private smallInts = Gen.choose (0, 255) |> Gen.map int64

[<Tests>]
let tests =
    testList "plonk arithmetization" [
        testList "expressions" [
            test "degree and queries" {
                let b = ConstraintSystemBuilder()
                let a, c = b.AdviceColumn(), b.AdviceColumn()
                let f = b.FixedColumn()
                let q = b.Selector()
                let e = q.Expr * (a.Cur * a.Next - c.Prev * f.Cur) + fp 3L
                Expect.equal (Expression.degree e) 3 "q·a·a' has degree 3"
                Expect.equal (Expression.queries e |> List.length) 4 "a@0, a@1, c@-1, f@0"
                Expect.equal (Expression.selectors e) [ 0 ] "selector 0"
                Expect.equal (Expression.degree (Expression.constant (fp 5L))) 0 "constants have degree 0"
            }
            testPropertyWithConfig config "evaluate agrees with direct arithmetic" <| fun (x: Fp) (y: Fp) (z: Fp) ->
                let e = (Advice(0, 0) * Advice(1, 1) - Fixed(0, 0) * fp 3L) * Advice(0, 0) + 5
                let v =
                    Expression.evaluate id (fun _ -> Fp.One) (fun _ _ -> z) (fun c _ -> if c = 0 then x else y) (fun _ _ -> Fp.Zero)
                        (fun a -> -a) (+) (*) (*) e
                v = (x * y - z * fp 3L) * x + fp 5L
            test "printing names columns and rotations" {
                let e = Advice(2, 1) * Fixed(0, -1) - Instance(1, 0)
                Expect.equal (string e) "(a2@+1 * f0@-1 - i1)" "printed form"
            }
        ]
        testList "constraint system" [
            test "degree, blinding rows and queries of the rotation circuit" {
                let cs = configured (rotations (fp 1L) (fp 1L) 10 noCheat)
                // advice a is read at -1, 0, +1, +3: four rotations
                Expect.equal cs.BlindingFactors 6 "max(3, 4) + 2"
                Expect.equal cs.Degree 3 "gates have degree 2; the permutation needs 3"
                Expect.equal cs.AdviceQueries [| struct (0, -1); struct (0, 0); struct (0, 1); struct (0, 3); struct (1, 0) |] "sorted advice queries"
                Expect.equal cs.NumFixed 2 "two selectors become fixed columns"
                Expect.equal (cs.UsableRows 64) (64 - 7) "usable rows"
            }
            test "lookups into one table share one group; chunks respect the degree" {
                let cs = configured (rangeSum 4 [| 1L |] noCheat)
                Expect.equal cs.LookupGroups.Length 1 "one table tuple"
                Expect.equal cs.LookupGroups[0].Lookups [| 0; 1 |] "both lookups in the group"
                // inputs q·v have degree 2: each helper constraint has degree 2 + 2 = 4
                Expect.equal cs.Degree 4 "lookup helper degree"
                Expect.equal cs.LookupGroups[0].Chunks [| [| 0 |]; [| 1 |] |] "one lookup per helper at degree 4"
                let b = ConstraintSystemBuilder()
                b.SetMinimumDegree 6
                let v, w = b.AdviceColumn(), b.AdviceColumn()
                let t = b.LookupTableColumn()
                b.Lookup("v", [ v.Cur, t ])
                b.Lookup("w", [ w.Cur, t ])
                b.Lookup("v+w", [ v.Cur + w.Cur, t ])
                let cs2 = b.Finalize()
                Expect.equal cs2.LookupGroups[0].Chunks [| [| 0; 1; 2 |] |] "degree 6 fits three degree-1 inputs in one helper"
            }
            test "selected lookups keep degree 3 and check only selected rows" {
                let xs = [| 1L; 200L; 3L |]
                let c = dotProduct xs [| 5L; 6L; 7L |] noCheat
                let cs = configured c
                Expect.equal cs.Degree 3 "h·(β - a) - q has degree 3"
                Expect.equal (cs.Lookups |> Array.map (fun l -> l.Selector.IsSome)) [| true; true |] "selected"
                Expect.isEmpty (failuresOf 9 c [| [| dotResult xs [| 5L; 6L; 7L |] |] |]) "satisfied"
                // a value outside the table on a selected row is reported
                let bad = dotProduct [| 1L; 300L |] [| 1L; 1L |] noCheat
                match failuresOf 9 bad [| [| fp 301L |] |] with
                | [ LookupNotSatisfied("a is a byte", 0, 2, [ "dot" ], [ v ]) ] -> Expect.equal v (fp 300L) "input"
                | other -> failtestf "unexpected failures %A" other
            }
            test "configuration mistakes are reported" {
                let b = ConstraintSystemBuilder()
                let a = b.AdviceColumn()
                b.FixedColumn() |> ignore
                let other = ConstraintSystemBuilder()
                let foreignTable = other.LookupTableColumn()
                Expect.throwsT<CircuitException> (fun () -> b.Lookup("x", [ a.Cur, foreignTable ])) "not a table column here"
                Expect.throwsT<CircuitException> (fun () -> b.CreateGate("empty", Seq.empty<Expression>)) "no constraints"
                other.AdviceColumn() |> ignore
                let foreign = other.AdviceColumn()
                b.CreateGate("foreign", [ foreign.Cur ])
                Expect.throwsT<CircuitException> (fun () -> b.Finalize() |> ignore) "column from another builder"
            }
        ]
        testList "layouter" [
            test "regions on disjoint columns share rows; on shared columns they stack" {
                let c =
                    adHoc (fun b -> b.AdviceColumn(), b.AdviceColumn())
                        (fun (x, y) l ->
                            l.AssignRegion("x1", fun r -> for i in 0 .. 2 do r.AssignAdvice(x, i, Fp.One) |> ignore)
                            l.AssignRegion("y1", fun r -> r.AssignAdvice(y, 0, Fp.One) |> ignore)
                            l.AssignRegion("xy", fun r -> r.AssignAdvice(x, 0, Fp.One) |> ignore; r.AssignAdvice(y, 1, Fp.One) |> ignore))
                match Synthesis.configure c |> Result.bind (fun (cs, cfg) -> Synthesis.run cs cfg c 5 (Some [||])) with
                | Error e -> failtest e
                | Ok a ->
                    Expect.equal a.Regions [| struct ("x1", 0, 3); struct ("y1", 0, 1); struct ("xy", 3, 2) |] "placement"
                    Expect.equal a.RowsUsed 5 "rows used"
            }
            test "too many rows names the k needed" {
                let e = synthError 4 (mulChain (fp 2L) (Array.create 30 (fp 3L)) noCheat) [| [| fp 2L; Fp.Zero |] |]
                Expect.stringContains e "needs 30 rows" "rows needed"
                Expect.stringContains e "use k >= 6" "k suggestion"
            }
            test "copy on a column without equality is rejected" {
                let c =
                    adHoc (fun b -> b.AdviceColumn(), b.AdviceColumn())
                        (fun (x, y) l ->
                            l.AssignRegion("r", fun r ->
                                let a = r.AssignAdvice(x, 0, Fp.One)
                                let b = r.AssignAdvice(y, 0, Fp.One)
                                r.ConstrainEqual(a.Cell, b.Cell)))
                Expect.stringContains (synthError 5 c [||]) "equality is not enabled" "message"
            }
            test "an unknown advice value while proving is rejected" {
                let c = adHoc (fun b -> b.AdviceColumn()) (fun x l -> l.AssignRegion("r", fun r -> r.AssignAdvice(x, 0, Value.Unknown) |> ignore))
                Expect.stringContains (synthError 5 c [||]) "unknown value" "message"
            }
            test "reading a witness value during key generation is a clear error" {
                let c =
                    adHoc (fun b -> b.AdviceColumn())
                        (fun x l -> l.AssignRegion("r", fun r -> r.AssignAdvice(x, 0, Value.Known((Value.Unknown).Get())) |> ignore))
                match Keys.keygen IdealCommitment.scheme c 4 with
                | Error e -> Expect.stringContains e "without a witness" "message"
                | Ok _ -> failtest "keygen succeeded"
            }
            test "instance columns: count and length are checked" {
                let c = squares [| fp 1L |] noCheat
                Expect.stringContains (synthError 5 c [| [| fp 1L |] |]) "2 instance columns, got 1" "count"
                Expect.stringContains (synthError 4 c [| Array.create 20 Fp.One; [||] |]) "usable rows" "length"
            }
            test "table columns of one table must have equal lengths" {
                let c =
                    adHoc (fun b ->
                            let a = b.AdviceColumn()
                            let t1, t2 = b.LookupTableColumn(), b.LookupTableColumn()
                            b.Lookup("pair", [ a.Cur, t1; a.Cur, t2 ])
                            t1, t2)
                        (fun (t1, t2) l ->
                            l.AssignTable("t", fun t ->
                                t.AssignCell(t1, 0, Fp.Zero)
                                t.AssignCell(t1, 1, Fp.One)
                                t.AssignCell(t2, 0, Fp.Zero)))
                Expect.stringContains (synthError 5 c [||]) "different lengths" "message"
            }
            test "key-generation synthesis matches witness synthesis in fixed values and copies" {
                let c = rangeSum 4 [| 3L; 9L; 15L |] noCheat
                match Synthesis.configure c with
                | Error e -> failtest e
                | Ok(cs, cfg) ->
                    let shape = Synthesis.run cs cfg c 6 None
                    let full = Synthesis.run cs cfg c 6 (Some [| [| fp 27L |] |])
                    match shape, full with
                    | Ok s, Ok f ->
                        Expect.equal s.Fixed f.Fixed "fixed"
                        Expect.equal s.Copies f.Copies "copies"
                        Expect.isEmpty s.Advice "no witness"
                    | _ -> failtest "synthesis failed"
            }
            test "measure reports the rows a circuit needs" {
                match Synthesis.measure (mulChain (fp 2L) (Array.create 30 (fp 3L)) noCheat) with
                | Ok(cs, rows) ->
                    Expect.equal rows 30 "30 rows"
                    Expect.equal (cs.MinimumK rows) 6 "k = 6 (64 - 6 - 1 ≥ 30)"
                | Error e -> failtest e
            }
        ]
        testList "permutation mapping" [
            testPropertyWithConfig config "σ's cycles are exactly the copy classes" <| fun (pairs: (byte * byte * byte * byte) list) ->
                let b = ConstraintSystemBuilder()
                let cols = Array.init 3 (fun _ -> b.AdviceColumn())
                for c in cols do b.EnableEquality c
                let cs = b.Finalize()
                let n = 16
                let copies =
                    pairs
                    |> List.map (fun (c1, r1, c2, r2) ->
                        struct (cols[int c1 % 3].Column, int r1 % n, cols[int c2 % 3].Column, int r2 % n))
                    |> Array.ofList
                let next = Permutation.mapping cs n copies
                // Reference classes by naive union-find.
                let parent = Array.init (3 * n) id
                let rec find x = if parent[x] = x then x else find parent[x]
                for struct (c1, r1, c2, r2) in copies do
                    let a, b2 = find (c1.Index * n + r1), find (c2.Index * n + r2)
                    if a <> b2 then parent[a] <- b2
                let orbit start =
                    let s = HashSet<int>()
                    let mutable cur = start
                    while s.Add cur do cur <- next[cur]
                    cur = start, s
                [ 0 .. 3 * n - 1 ]
                |> List.forall (fun cell ->
                    let closed, o = orbit cell
                    let cls = [ 0 .. 3 * n - 1 ] |> List.filter (fun x -> find x = find cell) |> set
                    closed && set o = cls)
            test "σ labels are δ^column·ω^row of the image cell and all distinct" {
                let b = ConstraintSystemBuilder()
                let cols = Array.init 2 (fun _ -> b.AdviceColumn())
                for c in cols do b.EnableEquality c
                let cs = b.Finalize()
                let k = 3
                let next = Permutation.mapping cs 8 [| struct (cols[0].Column, 1, cols[1].Column, 5) |]
                let sigma = Permutation.sigmaValues cs k next
                let w = Fp.RootOfUnity k
                Expect.equal (sigma[0][1]) (Permutation.delta * w.Pow 5UL) "σ(0,1) = label of (1,5)"
                Expect.equal (sigma[1][5]) (w.Pow 1UL) "σ(1,5) = label of (0,1)"
                Expect.equal (sigma[0][2]) (w.Pow 2UL) "fixed points keep their label"
                let all = Array.concat sigma
                Expect.equal (Array.distinct all).Length all.Length "σ is a bijection on labels"
            }
        ]
        testList "mock prover" [
            testPropertyWithConfig config "mul chain: random witnesses satisfy" <| fun (x0: Fp) (ws: Fp list) ->
                let ws = Array.ofList ws |> Array.truncate 40
                let ws = if ws.Length = 0 then [| Fp.One |] else ws
                failuresOf 7 (mulChain x0 ws noCheat) [| [| x0; mulChainResult x0 ws |] |] |> List.isEmpty
            test "mul chain: a wrong product is reported at its gate and row, then the instance mismatch" {
                let ws = Array.init 6 (fun i -> fp (int64 i + 2L))
                let cheat j (v: Value) = if j = 3 then v + Fp.One else v
                let fs = failuresOf 5 (mulChain (fp 5L) ws cheat) [| [| fp 5L; mulChainResult (fp 5L) ws |] |]
                match fs with
                | [ ConstraintNotSatisfied("mul", 0, 0, "c = a*b", 3, [ "mul" ], cells); InstanceMismatch(c, 5, _, i, 1, _) ] ->
                    Expect.equal (cells |> List.map (fun r -> r.Column, r.Row))
                        [ ({ Kind = ColumnKind.Fixed; Index = 0 }, 3); ({ Kind = ColumnKind.Advice; Index = 0 }, 3)
                          ({ Kind = ColumnKind.Advice; Index = 1 }, 3); ({ Kind = ColumnKind.Advice; Index = 2 }, 3) ] "selector, a, b, c at row 3"
                    Expect.equal c { Kind = ColumnKind.Advice; Index = 2 } "last product cell"
                    Expect.equal i.Kind ColumnKind.Instance "instance side"
                | other -> failtestf "unexpected failures %A" other
                let report = MockProver.describe 10 fs
                Expect.stringContains report "gate 'mul' (#0) constraint 0 'c = a*b' is not satisfied at row 3" "report"
            }
            testPropertyWithConfig config "range sum: in-range values satisfy" <| fun (vs: int64 list) ->
                let vs = vs |> List.map (fun v -> abs (v % 16L)) |> Array.ofList |> Array.truncate 20
                failuresOf 6 (rangeSum 4 vs noCheat) [| [| fp (Array.sum vs) |] |] |> List.isEmpty
            test "range sum: an out-of-range value fails exactly its lookup row" {
                let vs = [| 1L; 2L; 3L; 4L |]
                let cheat j (v: Value) = if j = 2 then Value.ofInt64 16L else v
                let total = fp (1L + 2L + 16L + 4L)
                match failuresOf 6 (rangeSum 4 vs cheat) [| [| total |] |] with
                | [ LookupNotSatisfied("v in range", 0, 2, [ "sum" ], [ v ]) ] -> Expect.equal v (fp 16L) "input value"
                | other -> failtestf "unexpected failures %A" other
            }
            testPropertyWithConfig config "many copies: random witnesses satisfy" <| fun (xs: Fp list) (ys: Fp list) ->
                let m = min 12 (min xs.Length ys.Length)
                let xs, ys = Array.ofList xs |> Array.truncate m, Array.ofList ys |> Array.truncate m
                failuresOf 7 (manyCopies xs ys noCheat) [||] |> List.isEmpty
            test "many copies: a wrong d fails constraint 1 of add-mul at its row" {
                let xs, ys = Array.init 5 (fun i -> fp (int64 i)), Array.init 5 (fun i -> fp (int64 (i * i)))
                let cheat j (v: Value) = if j = 4 then v * fp 2L else v
                match failuresOf 6 (manyCopies xs ys cheat) [||] with
                | [ ConstraintNotSatisfied("add-mul", 0, 1, "d = c * a", 4, _, _) ] -> ()
                | other -> failtestf "unexpected failures %A" other
            }
            test "a broken copy names both cells and values" {
                let c =
                    adHoc (fun b ->
                            let x, y = b.AdviceColumn(), b.AdviceColumn()
                            b.EnableEquality x
                            b.EnableEquality y
                            x, y)
                        (fun (x, y) l ->
                            l.AssignRegion("pad", fun r -> r.AssignAdvice(y, 0, Fp.Zero) |> ignore)
                            l.AssignRegion("r", fun r ->
                                let a = r.AssignAdvice(x, 0, fp 1L)
                                let b = r.AssignAdvice(y, 0, fp 2L)
                                r.ConstrainEqual(a.Cell, b.Cell)))
                match failuresOf 5 c [||] with
                | [ CopyNotSatisfied(a, 1, va, b, 1, vb) ] ->
                    Expect.equal (a.Index, va, b.Index, vb) (0, fp 1L, 1, fp 2L) "cells and values"
                | other -> failtestf "unexpected failures %A" other
            }
            testPropertyWithConfig config "rotations: random starts satisfy" <| fun (a0: Fp) (a1: Fp) ->
                let seq = fibSequence a0 a1 12
                failuresOf 6 (rotations a0 a1 12 noCheat) [| [| a0; a1; seq[11] |] |] |> List.isEmpty
            test "rotations: a wrong a_j fails the recurrence at j-1, j, j+1 and the shift gate at j-3" {
                let seq = fibSequence (fp 1L) (fp 1L) 12
                let cheat j (v: Value) = if j = 6 then v + Fp.One else v
                let fs = failuresOf 6 (rotations (fp 1L) (fp 1L) 12 cheat) [| [| fp 1L; fp 1L; seq[11] |] |]
                let rows =
                    fs |> List.map (function
                        | ConstraintNotSatisfied(g, _, _, _, row, _, _) -> g, row
                        | other -> failtestf "unexpected %O" other)
                Expect.equal rows [ ("fib", 5); ("fib", 6); ("fib", 7); ("shift", 3) ] "failing rows"
            }
            testPropertyWithConfig config "squares: several instance values satisfy" <| fun (xs: Fp list) ->
                let xs = Array.ofList xs |> Array.truncate 20
                failuresOf 6 (squares xs noCheat) (squaresInstances xs) |> List.isEmpty
            test "squares: a wrong public y is an instance mismatch at its row" {
                let xs = Array.init 4 (fun i -> fp (int64 i + 10L))
                let inst = squaresInstances xs
                inst[1][2] <- inst[1][2] + Fp.One
                match failuresOf 5 (squares xs noCheat) inst with
                | [ InstanceMismatch(c, 2, _, i, 2, v) ] ->
                    Expect.equal (c.Kind, c.Index, i.Index) (ColumnKind.Advice, 1, 1) "y cell against instance column 1"
                    Expect.equal v (inst[1][2]) "the public value"
                | other -> failtestf "unexpected failures %A" other
            }
            test "a gate without a selector is reported where it reads blinding rows" {
                let c =
                    adHoc (fun b ->
                            let x = b.AdviceColumn()
                            b.CreateGate("always", [ x.Cur * x.Cur - x.Cur ])
                            x)
                        (fun x l -> l.AssignRegion("r", fun r -> r.AssignAdvice(x, 0, Fp.One) |> ignore))
                let cs = configured c
                let fs = failuresOf 5 c [||]
                let usable = cs.UsableRows 32
                Expect.equal fs.Length (32 - usable) "one report per blinding row"
                match fs.Head with
                | ConstraintReadsBlindingRows("always", 0, 0, _, row, _) -> Expect.equal row usable "first blinding row"
                | other -> failtestf "unexpected %O" other
            }
            test "a lookup that reads blinding rows is reported" {
                let c =
                    adHoc (fun b ->
                            let x = b.AdviceColumn()
                            let t = b.LookupTableColumn()
                            b.Lookup("next", [ x.Next, t ])
                            t)
                        (fun t l -> l.AssignTable("zero", fun tb -> tb.AssignCell(t, 0, Fp.Zero)))
                let cs = configured c
                match failuresOf 5 c [||] with
                | [ LookupReadsBlindingRows("next", 0, row) ] -> Expect.equal row (cs.UsableRows 32 - 1) "last usable row reads row u"
                | other -> failtestf "unexpected failures %A" other
            }
        ]
    ]
