/// The argument identities (gates, permutation, logUp) checked row-wise on the base
/// domain, and the compiled evaluator against direct evaluation.
module ZkLora.Math.Tests.PlonkArgumentTests

open Expecto
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Plonk.Argument
open ZkLora.Math.Tests.Generators
open ZkLora.Math.Tests.PlonkCircuits
open ZkLora.Math.Poly

/// Synthesizes with a witness, builds every argument column for random challenges and
/// returns the identities that fail on the base domain.
let rowFailures k (circuit: ICircuit<'C>) instances =
    match Synthesis.configure circuit with
    | Error e -> failtest e
    | Ok(cs, cfg) ->
        match Synthesis.run cs cfg circuit k (Some instances) with
        | Error e -> failtest e
        | Ok a ->
            let sigmas = Permutation.sigmaValues cs k (Permutation.mapping cs a.N a.Copies)
            let theta, beta, gamma = Fp.Random(), Fp.Random(), Fp.Random()
            let cols = ArgumentWitness.allColumns cs a sigmas theta beta gamma
            let ch c = match c with Challenge.Theta -> theta | Challenge.Beta -> beta | _ -> gamma
            cs, a, ArgumentWitness.rowCheck cs k a.Usable cols ch

[<Tests>]
let tests =
    testList "plonk argument identities" [
        testPropertyWithConfig { config with maxTest = 25 } "honest witnesses satisfy every identity at every row" <| fun (x0: Fp) (ws: Fp list) (vs: byte list) ->
            let ws = (x0 :: ws) |> Array.ofList |> Array.truncate 20
            let vs = vs |> List.map (fun v -> int64 (v % 16uy)) |> Array.ofList |> Array.truncate 20
            let xs = ws
            let _, _, f1 = rowFailures 6 (mulChain x0 ws noCheat) [| [| x0; mulChainResult x0 ws |] |]
            let _, _, f2 = rowFailures 6 (rangeSum 4 vs noCheat) [| [| fp (Array.sum vs) |] |]
            let _, _, f3 = rowFailures 8 (manyCopies xs (Array.rev xs) noCheat) [||]
            let seq = fibSequence x0 x0 14
            let _, _, f4 = rowFailures 6 (rotations x0 x0 14 noCheat) [| [| x0; x0; seq[13] |] |]
            let _, _, f5 = rowFailures 6 (squares xs noCheat) (squaresInstances xs)
            List.isEmpty (f1 @ f2 @ f3 @ f4 @ f5)
        test "a violated gate fails its gate identity at the row" {
            let ws = Array.init 6 (fun i -> fp (int64 i + 2L))
            let cheat j (v: Value) = if j = 3 then v + Fp.One else v
            // the final product is public, so bind the instance to the cheated chain
            let wrong = mulChainResult (fp 5L) ws + ws[4] * ws[5]
            let _, _, fs = rowFailures 5 (mulChain (fp 5L) ws cheat) [| [| fp 5L; wrong |] |]
            Expect.equal fs [ "gate 'mul' constraint 0", 3 ] "only the gate fails"
        }
        test "a broken copy fails the permutation's final product" {
            let xs = Array.init 5 (fun i -> fp (int64 i + 1L))
            let cs, a, fs = rowFailures 6 (squares xs noCheat) (let i = squaresInstances xs in i[1][2] <- i[1][2] + Fp.One; i)
            Expect.equal fs [ "permutation: last product is 1", a.Usable ] "only the final product check fails"
            Expect.isGreaterThan cs.PermutationChunks 0 "has a permutation"
        }
        test "a value outside the table fails the logUp running sum" {
            let vs = [| 1L; 2L; 3L; 4L |]
            let cheat j (v: Value) = if j = 1 then Value.ofInt64 40L else v
            let _, a, fs = rowFailures 6 (rangeSum 4 vs cheat) [| [| fp (1L + 40L + 3L + 4L) |] |]
            Expect.equal fs [ "lookup group 0: running sum ends at 0", a.Usable ] "only the sum's end fails"
        }
        test "permutation chunks: more columns than one chunk holds" {
            // manyCopies has 4 equality columns; at degree 3 each chunk holds one column.
            let xs = Array.init 6 (fun i -> fp (int64 (3 * i + 1)))
            let cs, _, fs = rowFailures 7 (manyCopies xs (Array.rev xs) noCheat) [||]
            Expect.equal cs.PermutationChunks 4 "four chunks"
            Expect.isEmpty fs "chained chunks hold"
        }
        testPropertyWithConfig config "compiled evaluator agrees with direct evaluation" <| fun (vals: Fp list) (y: Fp) ->
            let k = 3
            let n = 8
            let vals = Array.ofList (vals @ List.init 40 (fun i -> fp (int64 (i * i + 3))))
            let col i = Array.init n (fun r -> vals[(i * n + r) % vals.Length] + fp (int64 r))
            let cols = Array.init 4 col
            let terms =
                [| TAdd(TMul(TQuery(AdviceP 0, 0), TQuery(AdviceP 1, 1)), TNeg(TQuery(FixedP 0, -1)))
                   TAdd(TScale(TMul(TQuery(AdviceP 0, 0), TQuery(AdviceP 0, 0)), fp 7L), TMul(TChallenge Challenge.Beta, TX))
                   TAdd(TMul(TLActive, TAdd(TAdd(TQuery(AdviceP 1, 2), TNeg TL0), TLLast)), TMul(TQuery(AdviceP 0, 0), TQuery(AdviceP 1, 1))) |]
            let poly p = match p with AdviceP i -> cols[i] | FixedP i -> cols[2 + i] | _ -> cols[3]
            let beta = vals[0]
            let program = Evaluator.compile terms (fun _ -> beta)
            let src = ArgumentWitness.baseSources program k 5 poly
            let combined = Evaluator.evaluateCombined program src y
            let omega = Permutation.omegaPowers k
            [ 0 .. n - 1 ]
            |> List.forall (fun r ->
                let q p rot = (poly p)[((r + rot) % n + n) % n]
                let ev t = Argument.evaluateAt q (fun _ -> beta) omega[r] src.L0[r] src.LLast[r] src.LActive[r] t
                let expected = terms |> Array.fold (fun acc t -> acc * y + ev t) Fp.Zero
                combined[r] = expected)
    ]

/// The proving system's polynomial adapter (over Poly/) against naive evaluation.
[<Tests>]
let polyOpsTests =
    let eval (c: Fp[]) (x: Fp) = Array.foldBack (fun v acc -> acc * x + v) c Fp.Zero
    testList "plonk poly adapter" [
        testPropertyWithConfig config "fft evaluates at the roots of unity; ifft inverts" <| fun (vals: Fp list) ->
            let a = Array.init 16 (fun i -> if i < vals.Length then vals[i] else fp (int64 (i * 3 + 1)))
            let b = Array.copy a
            PolyOps.fft b
            let w = Fp.RootOfUnity 4
            let ok = [ 0 .. 15 ] |> List.forall (fun i -> (eval a (w.Pow(uint64 i))) = b[i])
            PolyOps.ifft b
            ok && b = a
        testPropertyWithConfig config "coset fft and its inverse" <| fun (vals: Fp list) (s: Fp) ->
            let s = if s.IsZero then Fp.One else s
            let a = Array.init 8 (fun i -> if i < vals.Length then vals[i] else fp (int64 (i + 2)))
            let c = PolyOps.cosetFft a 32 s
            let w = Fp.RootOfUnity 5
            let ok = [ 0 .. 31 ] |> List.forall (fun i -> eval a (s * w.Pow(uint64 i)) = c[i])
            PolyOps.cosetIfft c s
            ok && c[.. 7] = a && c[8 ..] |> Array.forall (fun v -> v.IsZero)
        testPropertyWithConfig config "synthetic division" <| fun (vals: Fp list) (z: Fp) (pt: Fp) ->
            let a = Array.ofList (Fp.One :: vals)
            let q = PolyOps.divideByLinear a z
            eval q pt * (pt - z) + eval a z = eval a pt
    ]

[<Tests>]
let randomnessTests =
    testList "plonk randomness" [
        test "bulk CSPRNG elements are distinct and spread over the field" {
            let xs = Randomness.array 20000
            Expect.equal (Array.distinct xs).Length xs.Length "distinct"
            // canonical values below p ≈ 2^254: about half have bit 253 set
            let high = xs |> Array.filter (fun v -> not (v.ToBigInteger() >>> 253).IsZero) |> Array.length
            Expect.isTrue (abs (high - 10000) < 600) (sprintf "bit 253 set in %d of 20000" high)
            let tail = Array.zeroCreate<Fp> 10
            ArgumentWitness.randomizeTail tail 7
            Expect.isTrue (tail[.. 6] |> Array.forall (fun v -> v.IsZero)) "head untouched"
            Expect.isTrue (tail[7 ..] |> Array.forall (fun v -> not v.IsZero)) "tail filled"
        }
    ]
