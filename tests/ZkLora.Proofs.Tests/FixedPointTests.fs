module ZkLora.Proofs.Tests.FixedPointTests

open System
open System.Numerics
open System.Text.Json
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Tests.ProofsKat

let private vectors = load "fixed_point.json"

let private cfgOf (e: JsonElement) =
    let a = [| for v in e.EnumerateArray() -> v.GetInt32() |]
    { ScaleBits = a[0]; ValueBits = a[1]; IntermediateBits = a[2] }

let private matrix (e: JsonElement) = [| for r in e.EnumerateArray() -> strings r |> Array.map dec |]

let private big (i: int) = BigInteger i

let knownAnswers =
    testList "fixed point known answers (Python decimal)" [
        test "quantize" {
            let mutable n = 0
            for q in vectors.Value.GetProperty("quantize").EnumerateArray() do
                let cfg = cfgOf (q.GetProperty "config")
                let v = BitConverter.Int64BitsToDouble(Convert.ToInt64(q.GetProperty("bits").GetString(), 16))
                let label = sprintf "quantize %s %A" (q.GetProperty("repr").GetString()) cfg
                match q.GetProperty("q").ValueKind with
                | JsonValueKind.Null -> expectError (quantize cfg v) "outside the value bound" label
                | _ -> Expect.equal (expectOk (quantize cfg v) label) (dec (q.GetProperty("q").GetString())) label
                n <- n + 1
            Expect.isGreaterThan n 1000 "vector count"
        }
        test "quantizeSingle widens float32 to double first" {
            for q in vectors.Value.GetProperty("quantize_single").EnumerateArray() do
                let cfg = cfgOf (q.GetProperty "config")
                let bits = Convert.ToInt32(q.GetProperty("bits32").GetString(), 16)
                let v = BitConverter.Int32BitsToSingle bits
                let label = sprintf "quantizeSingle %.9g" v
                match q.GetProperty("q").ValueKind with
                | JsonValueKind.Null -> expectError (quantizeSingle cfg v) "outside" label
                | _ -> Expect.equal (expectOk (quantizeSingle cfg v) label) (dec (q.GetProperty("q").GetString())) label
        }
        test "divRound" {
            for d in vectors.Value.GetProperty("div_round").EnumerateArray() do
                let n, dd = dec (d.GetProperty("n").GetString()), dec (d.GetProperty("d").GetString())
                Expect.equal (divRound n dd) (dec (d.GetProperty("q").GetString())) (sprintf "divRound %O %O" n dd)
        }
        test "deltaRow, deltaRows, deltaRowsExact" {
            let mutable oks, errs = 0, 0
            for c in vectors.Value.GetProperty("delta").EnumerateArray() do
                let cfg = cfgOf (c.GetProperty "config")
                let a, b, xs = matrix (c.GetProperty "A"), matrix (c.GetProperty "B"), matrix (c.GetProperty "x")
                let num, den = dec (c.GetProperty("num").GetString()), dec (c.GetProperty("den").GetString())
                let expected = [| for r in c.GetProperty("rows").EnumerateArray() -> r |]
                let mutable firstError = None
                for i in 0 .. xs.Length - 1 do
                    let got = deltaRow cfg a b xs[i] num den
                    match expected[i].TryGetProperty "delta" with
                    | true, d ->
                        Expect.equal (expectOk got "deltaRow") (strings d |> Array.map dec) "delta values"
                        oks <- oks + 1
                    | _ ->
                        let stage = expected[i].GetProperty("error").GetString()
                        match got with
                        | Ok v -> failtestf "expected a %s error, got %A" stage v
                        | Error e ->
                            Expect.isTrue (e.StartsWith(stage + "_")) (sprintf "error '%s' is about %s" e stage)
                            if firstError.IsNone then firstError <- Some(i, e)
                        errs <- errs + 1
                let all = [ deltaRows cfg a b xs num den; deltaRowsExact cfg a b xs num den ]
                for r in all do
                    match firstError, r with
                    | None, Ok rows ->
                        Expect.equal rows [| for e in expected -> strings (e.GetProperty "delta") |> Array.map dec |] "rows"
                    | Some(i, e), Error msg -> Expect.equal msg (sprintf "row %d: %s" i e) "first failing row reported"
                    | _ -> failtestf "deltaRows disagrees with the vectors: %A" r
            Expect.isGreaterThan oks 100 "enough successful rows"
            Expect.isGreaterThan errs 50 "enough bound violations"
        }
    ]

let private genConfig =
    gen {
        let! sb = Gen.choose (0, 30)
        let! vb = Gen.choose (max 2 (sb + 1), 80)
        let! ib = Gen.frequency [ 2, Gen.choose (vb, min 250 (2 * vb + 8)); 1, Gen.choose (vb, 250) ]
        return { ScaleBits = sb; ValueBits = vb; IntermediateBits = ib }
    }

/// A random adapter, inputs and scaling; values are biased toward small magnitudes (so the
/// machine-word paths run) but include the bound edges (so the fallbacks run).
let private genDeltaCase =
    gen {
        let! cfg = genConfig
        let vb = valueBound cfg
        let! small = Gen.elements [ true; true; false ]
        let valueGen = if small then genBounded (BigInteger.Min(vb, BigInteger.One <<< (cfg.ScaleBits + 6))) else genBounded vb
        let! inDim = Gen.choose (1, 8)
        let! rank = Gen.choose (1, 4)
        let! outDim = Gen.choose (1, 6)
        let! rows = Gen.choose (0, 5)
        let! a = Gen.arrayOfLength rank (Gen.arrayOfLength inDim valueGen)
        let! b = Gen.arrayOfLength outDim (Gen.arrayOfLength rank valueGen)
        let! xs = Gen.arrayOfLength rows (Gen.arrayOfLength inDim valueGen)
        let! num = Gen.frequency [ 4, Gen.choose (-9, 9) |> Gen.map BigInteger; 1, genBounded (BigInteger.One <<< 70) ]
        let! den = Gen.frequency [ 4, Gen.choose (1, 9) |> Gen.map BigInteger; 1, genBounded (BigInteger.One <<< 70) |> Gen.map (fun d -> BigInteger.Abs d + BigInteger.One) ]
        let g = BigInteger.GreatestCommonDivisor(num, den)
        return cfg, a, b, xs, num / g, den / g
    }

let private genFiniteDouble =
    Gen.oneof [
        Gen.choose (Int32.MinValue, Int32.MaxValue) |> Gen.two |> Gen.map (fun (hi, lo) -> BitConverter.Int64BitsToDouble((int64 hi <<< 32) ||| int64 (uint32 lo)))
        Gen.choose (-2_000_000, 2_000_000) |> Gen.two |> Gen.map (fun (a, e) -> float a * Math.Pow(2.0, float (e % 60)))
        Gen.choose (-100_000, 100_000) |> Gen.map (fun k -> float k / 1_048_576.0 + 0.5 / 1_048_576.0)
    ]
    |> Gen.where (fun v -> not (Double.IsNaN v || Double.IsInfinity v))

let properties =
    testList "fixed point properties" [
        testPropertyWithConfig config "fast deltaRows = exact deltaRowsExact (values and errors)" (
            Prop.forAll (Arb.fromGen genDeltaCase) (fun (cfg, a, b, xs, num, den) ->
                let fast = deltaRows cfg a b xs num den
                let exact = deltaRowsExact cfg a b xs num den
                fast = exact))
        test "the fast path really runs (int64 and Int128 accumulators) and agrees" {
            let rnd = Random 11
            for bits, cfg in [ 20, defaultConfig; 34, { ScaleBits = 30; ValueBits = 63; IntermediateBits = 127 }; 50, { ScaleBits = 45; ValueBits = 100; IntermediateBits = 250 } ] do
                let v () = BigInteger(rnd.NextInt64(-(1L <<< bits), 1L <<< bits))
                let a = Array.init 3 (fun _ -> Array.init 16 (fun _ -> v ()))
                let b = Array.init 5 (fun _ -> Array.init 3 (fun _ -> v ()))
                let xs = Array.init 4 (fun _ -> Array.init 16 (fun _ -> v ()))
                let fast = expectOk (fastRowsOnly cfg a b xs BigInteger.One (BigInteger 3)) "fast"
                let exact = expectOk (deltaRowsExact cfg a b xs BigInteger.One (BigInteger 3)) "exact"
                for i in 0 .. xs.Length - 1 do
                    match fast[i] with
                    | ValueSome d -> Expect.equal d exact[i] "fast row = exact row"
                    | ValueNone -> failtestf "row %d (%d-bit values) fell back to the exact path" i bits
        }
        test "fast = exact on a large parallel input" {
            let rnd = Random 7
            let cfg = defaultConfig
            let v () = BigInteger(rnd.NextInt64(-(1L <<< 24), 1L <<< 24))
            let a = Array.init 4 (fun _ -> Array.init 256 (fun _ -> v ()))
            let b = Array.init 96 (fun _ -> Array.init 4 (fun _ -> v ()))
            let xs = Array.init 48 (fun _ -> Array.init 256 (fun _ -> v ()))
            let fast = deltaRows cfg a b xs (BigInteger 3) (BigInteger 2)
            Expect.equal fast (deltaRowsExact cfg a b xs (BigInteger 3) (BigInteger 2)) "same rows"
            Expect.isOk fast "in bounds"
        }
        testPropertyWithConfig config "divRound: -floor(d/2) <= n - d*q < d - floor(d/2)" (
            Prop.forAll (Arb.fromGen (Gen.zip (genBounded (BigInteger.One <<< 130)) (genBounded (BigInteger.One <<< 70)))) (fun (n, d0) ->
                let d = BigInteger.Abs d0 + BigInteger.One
                let q = divRound n d
                let r = n - d * q
                let h = d / BigInteger 2
                -h <= r && r < d - h))
        testPropertyWithConfig config "floorDiv is floor; divRound shifts by whole multiples" (
            Prop.forAll (Arb.fromGen (Gen.three (genBounded (BigInteger.One <<< 100)))) (fun (n, d0, k) ->
                let d = BigInteger.Abs d0 + BigInteger.One
                let q = floorDiv n d
                d * q <= n && n < d * q + d && divRound (n + k * d) d = divRound n d + k && divRound n BigInteger.One = n))
        testPropertyWithConfig { config with maxTest = 2000 } "fast quantize = BigInteger reference (values and errors)" (
            Prop.forAll (Arb.fromGen (Gen.zip genFiniteDouble genConfig)) (fun (v, cfg) ->
                let cfg = { cfg with ValueBits = max cfg.ValueBits 64; IntermediateBits = 250 }
                quantize cfg v = quantizeReference cfg v
                && quantize { cfg with ScaleBits = 0 } v = quantizeReference { cfg with ScaleBits = 0 } v
                && quantize { ScaleBits = 62; ValueBits = 250; IntermediateBits = 250 } v = quantizeReference { ScaleBits = 62; ValueBits = 250; IntermediateBits = 250 } v))
        testPropertyWithConfig config "quantize is monotone and odd" (
            Prop.forAll (Arb.fromGen (Gen.two genFiniteDouble)) (fun (x, y) ->
                let cfg = { ScaleBits = 20; ValueBits = 250; IntermediateBits = 250 }
                let lo, hi = min x y, max x y
                match quantize cfg lo, quantize cfg hi, quantize cfg (-lo) with
                | Ok a, Ok b, Ok na -> a <= b && na = -a
                | Error _, _, _ | _, Error _, _ | _, _, Error _ -> abs lo > 1e60 || abs hi > 1e60))
        testPropertyWithConfig config "quantize of an exact grid point k/2^sb is k" (
            Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (-1_000_000_000, 1_000_000_000)) (Gen.choose (0, 30)))) (fun (k, sb) ->
                let cfg = { ScaleBits = sb; ValueBits = 63; IntermediateBits = 127 }
                quantize cfg (Math.ScaleB(float k, -sb)) = Ok(BigInteger k)))
        testPropertyWithConfig config "exactRational is exact and reduced" (
            Prop.forAll (Arb.fromGen genFiniteDouble) (fun v ->
                match exactRational v with
                | Error _ -> false
                | Ok s ->
                    let k = int (s.Den.GetBitLength ()) - 1
                    s.Den.IsPowerOfTwo && (BigInteger.GreatestCommonDivisor(s.Num, s.Den)).IsOne
                    && Math.ScaleB(float s.Num, -k) = v))
    ]

let private cfg0 = defaultConfig
let private one = BigInteger.One
let private ok2x2 = [| [| one; one |] |], [| [| one |]; [| one |] |]

let negatives =
    testList "fixed point rejects bad input" [
        test "config: negative scale_bits" { expectError (validateConfig { cfg0 with ScaleBits = -1 }) "scale_bits" "sb<0" }
        test "config: value_bits < 2" { expectError (validateConfig { ScaleBits = 0; ValueBits = 1; IntermediateBits = 8 }) "value_bits" "vb<2" }
        test "config: scale_bits >= value_bits" { expectError (validateConfig { ScaleBits = 63; ValueBits = 63; IntermediateBits = 127 }) "scale_bits" "sb>=vb" }
        test "config: intermediate_bits < value_bits" { expectError (validateConfig { cfg0 with IntermediateBits = 62 }) "intermediate_bits" "ib<vb" }
        test "config: intermediate_bits > 250" { expectError (validateConfig { cfg0 with IntermediateBits = 251 }) "maximum" "ib>250" }
        test "config: the default and the limits are accepted" {
            Expect.isOk (validateConfig cfg0) "default"
            Expect.isOk (validateConfig { ScaleBits = 0; ValueBits = 2; IntermediateBits = 250 }) "extremes"
        }
        test "quantize: NaN" { expectError (quantize cfg0 nan) "NaN" "nan" }
        test "quantize: +Inf" { expectError (quantize cfg0 infinity) "+Infinity" "inf" }
        test "quantize: -Inf" { expectError (quantize cfg0 -infinity) "-Infinity" "-inf" }
        test "quantize: out of bounds" { expectError (quantize cfg0 1e300) "outside the value bound" "1e300" }
        test "quantize: bad config" { expectError (quantize { cfg0 with ScaleBits = 70 } 1.0) "scale_bits" "cfg" }
        test "quantizeArray names the bad element" { expectError (quantizeArray cfg0 [| 1.0; nan |]) "element 1" "array" }
        test "divRound: d <= 0 is a caller bug" {
            Expect.throwsT<ArgumentException> (fun () -> divRound one BigInteger.Zero |> ignore) "d = 0"
            Expect.throwsT<ArgumentException> (fun () -> divRound one BigInteger.MinusOne |> ignore) "d < 0"
        }
        test "deltaRow: den <= 0" {
            let a, b = ok2x2
            expectError (deltaRow cfg0 a b [| one; one |] one BigInteger.Zero) "denominator" "den=0"
            expectError (deltaRow cfg0 a b [| one; one |] one BigInteger.MinusOne) "denominator" "den<0"
        }
        test "deltaRow: unreduced scaling" { let a, b = ok2x2 in expectError (deltaRow cfg0 a b [| one; one |] (big 2) (big 4)) "not reduced" "2/4" }
        test "deltaRow: empty A" { expectError (deltaRow cfg0 [||] [| [| one |] |] [| one |] one one) "rank" "empty A" }
        test "deltaRow: A without columns" { expectError (deltaRow cfg0 [| [||] |] [| [| one |] |] [| one |] one one) "in_dim" "A cols" }
        test "deltaRow: empty B" { expectError (deltaRow cfg0 [| [| one |] |] [||] [| one |] one one) "out_dim" "empty B" }
        test "deltaRow: ragged A" { expectError (deltaRow cfg0 [| [| one; one |]; [| one |] |] [| [| one; one |] |] [| one; one |] one one) "A row 1" "ragged A" }
        test "deltaRow: B row length != rank" { expectError (deltaRow cfg0 [| [| one |] |] [| [| one; one |] |] [| one |] one one) "B row 0" "B cols" }
        test "deltaRow: x length != in_dim" { let a, b = ok2x2 in expectError (deltaRow cfg0 a b [| one |] one one) "in_dim" "x len" }
        test "deltaRow: null x" { let a, b = ok2x2 in expectError (deltaRow cfg0 a b null one one) "in_dim" "x null" }
        test "deltaRow: A out of bounds" {
            let vb = valueBound cfg0
            expectError (deltaRow cfg0 [| [| vb + one |] |] [| [| one |] |] [| one |] one one) "A[0][0]" "A bound"
        }
        test "deltaRow: B out of bounds" {
            let vb = valueBound cfg0
            expectError (deltaRow cfg0 [| [| one |] |] [| [| -vb - one |] |] [| one |] one one) "B[0][0]" "B bound"
        }
        test "deltaRow: x out of bounds" {
            let vb = valueBound cfg0
            expectError (deltaRow cfg0 [| [| one |] |] [| [| one |] |] [| vb + one |] one one) "x[0]" "x bound"
        }
        test "deltaRow: raw over the intermediate bound" {
            let c = { ScaleBits = 0; ValueBits = 8; IntermediateBits = 14 }
            let v = big 127
            expectError (deltaRow c [| [| v; v |] |] [| [| one |] |] [| v; v |] one one) "raw_0" "raw"
        }
        test "deltaRow: r over the intermediate bound" {
            let c = { ScaleBits = 0; ValueBits = 8; IntermediateBits = 15 }
            let v = big 127
            expectError (deltaRow c [| [| v |]; [| v |] |] [| [| v; v |] |] [| v |] one one) "r_0" "r"
        }
        test "deltaRow: delta over the value bound" {
            let c = { ScaleBits = 0; ValueBits = 8; IntermediateBits = 20 }
            expectError (deltaRow c [| [| big 100 |] |] [| [| one |] |] [| one |] (big 2) one) "delta_0" "delta"
        }
        test "deltaRows names the failing row" {
            let a, b = ok2x2
            let vb = valueBound cfg0
            expectError (deltaRows cfg0 a b [| [| one; one |]; [| vb + one; one |] |] one one) "row 1: x[0]" "row"
            expectError (deltaRows cfg0 a b null one one) "null" "null rows"
        }
        test "scaling: zero denominator" { expectError (scaling one BigInteger.Zero) "0" "den 0" }
        test "scaling: reduces and fixes the sign" { Expect.equal (scaling (big 6) (big -4)) (Ok { Num = big -3; Den = big 2 }) "6/-4" }
        test "validateScaling: unreduced / non-positive" {
            expectError (validateScaling { Num = big 2; Den = big 4 }) "not reduced" "2/4"
            expectError (validateScaling { Num = one; Den = BigInteger.Zero }) "> 0" "1/0"
            expectError (validateScaling { Num = BigInteger.Zero; Den = big 3 }) "not reduced" "0/3"
        }
        test "scalingOf" {
            Expect.equal (scalingOf 16.0 8) (Ok { Num = big 2; Den = one }) "16/8"
            Expect.equal (scalingOf 8.0 16) (Ok { Num = one; Den = big 2 }) "8/16"
            Expect.equal (scalingOf 0.5 3) (Ok { Num = one; Den = big 6 }) "0.5/3"
            Expect.equal (scalingOf 0.1 1) (Ok { Num = BigInteger 3602879701896397L; Den = BigInteger.One <<< 55 }) "exact 0.1"
            expectError (scalingOf 16.0 0) "rank" "r=0"
            expectError (scalingOf nan 4) "lora_alpha" "nan alpha"
            expectError (scalingOfDouble infinity) "no exact" "inf"
        }
    ]

[<Tests>]
let tests = testList "FixedPoint" [ knownAnswers; properties; negatives ]
