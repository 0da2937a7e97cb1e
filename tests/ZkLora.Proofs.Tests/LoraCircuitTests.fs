module ZkLora.Proofs.Tests.LoraCircuitTests

open System.Numerics
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Math.Plonk
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Circuit
open ZkLora.Proofs.Circuit.LoraCircuit
open ZkLora.Proofs.Circuit.LoraCircuitWitness
open ZkLora.Proofs.Circuit.LoraCircuitInstances
open ZkLora.Proofs.Circuit.LoraCircuitGadgets
open ZkLora.Math.Commitment

let private digest = String.replicate 4 "0123456789abcdef"

let private cfgOf (sb, vb, ib) = { ScaleBits = sb; ValueBits = vb; IntermediateBits = ib }

let private shapeOf (i, r, o, t) cfg num den =
    { InDim = i; Rank = r; OutDim = o; Rows = t; Config = cfg; Scaling = { Num = BigInteger(num: int); Den = BigInteger(den: int) } }

let private unwrap r = match r with Ok v -> v | Error e -> failwithf "unexpected error: %s" e

/// MockProver failures of a (possibly crafted) witness against the given instance vector.
let private failures (p: LoraPlan) (wit: LoraWitness) (inst: Fp[][]) =
    match MockProver.run p.K (circuit p (Some wit)) inst with
    | Ok fs -> fs
    | Error e -> failwithf "synthesis error: %s" e

let private gateFails (fs: VerifyFailure list) =
    fs |> List.choose (function ConstraintNotSatisfied(g, _, _, cn, _, _, _) -> Some(g, cn) | _ -> None)

let private lookupFails (fs: VerifyFailure list) =
    fs |> List.choose (function LookupNotSatisfied(l, _, _, _, _) -> Some l | _ -> None)

/// The commitment of arbitrary (possibly out-of-bound) weights, packed without checks, so a
/// crafted witness can be given a matching public commitment.
let private commitUnchecked (s: LoraCircuitShape) (salt: Fp) (a: BigInteger[][]) (b: BigInteger[][]) =
    let cfg = s.Config
    let vb = valueBound cfg
    let ws = Array.append (Array.concat a) (Array.concat b)
    let per = AdapterCommitment.weightsPerElement cfg
    let packed =
        ws
        |> Array.chunkBySize per
        |> Array.map (fun g -> g |> Array.rev |> Array.fold (fun acc w -> (acc <<< cfg.ValueBits) + w + vb) BigInteger.Zero |> Fp.OfBigInteger)
    let header =
        [| AdapterCommitment.tagElement AdapterCommitment.domainTag
           Fp.OfInt64(int64 s.InDim); Fp.OfInt64(int64 s.Rank); Fp.OfInt64(int64 s.OutDim)
           Fp.OfInt64(int64 cfg.ScaleBits); Fp.OfInt64(int64 cfg.ValueBits); Fp.OfInt64(int64 cfg.IntermediateBits)
           Fp.OfBigInteger s.Scaling.Num; Fp.OfBigInteger s.Scaling.Den; salt |]
    Poseidon.hash (Array.append header packed)

let private craftedInstances (s: LoraCircuitShape) (w: LoraWitness) =
    instances s w.X w.Delta (commitUnchecked s w.Salt w.A w.B) digest |> unwrap

// ---------------------------------------------------------------------------------------

let private genCase = gen {
    let! cfg = Gen.elements [ cfgOf (20, 63, 127); cfgOf (16, 32, 64); cfgOf (8, 16, 40) ]
    let! inDim = Gen.choose (1, 8)
    let! rank = Gen.choose (1, 3)
    let! outDim = Gen.choose (1, 8)
    let! rows = Gen.choose (1, 4)
    let! (num, den) = Gen.elements [ (1, 1); (2, 1); (1, 2); (-3, 4); (16, 7); (0, 1) ]
    // magnitudes: mostly well inside the bounds (so the contract holds), sometimes the
    // full ±value_bound range for weights
    let vb = valueBound cfg
    let half = BigInteger.One <<< (cfg.ValueBits / 2 - 1)
    let value (lim: BigInteger) = gen {
        let! bytes = Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte)
        let v = BigInteger(System.ReadOnlySpan bytes, isUnsigned = true)
        let! sign = Gen.elements [ 1; -1 ]
        return BigInteger(sign) * (v % (lim + BigInteger.One)) }
    let! wide = Gen.elements [ false; false; true ]
    let wlim = if wide then vb else half
    let! a = Gen.arrayOfLength rank (Gen.arrayOfLength inDim (value wlim))
    let! b = Gen.arrayOfLength outDim (Gen.arrayOfLength rank (value half))
    let! xs = Gen.arrayOfLength rows (Gen.arrayOfLength inDim (value half))
    return shapeOf (inDim, rank, outDim, rows) cfg num den, a, b, xs }

let private config = { FsCheckConfig.defaultConfig with maxTest = 15 }

/// The attacker's best witness for δ_tk moved by `step` (±1): every other cell is forced by
/// the circuit (weights by the commitment, h and s by their tight divisions), and the δ
/// relation forces e3 = s·num + ⌊den/2⌋ − den·δ' as a field element. Its limbs are the
/// canonical base-2^w digits of that element's representative in [0, p) — the only digits
/// whose weighted sum can equal it, because a tight segment's digits sum to less than p.
let private offByOne (s: LoraCircuitShape) (w: LoraWitness) (t: int) (k: int) (step: int) =
    let delta = w.Delta |> Array.map Array.copy
    let rem = w.ScalingRem |> Array.map Array.copy
    delta[t][k] <- delta[t][k] + BigInteger step
    rem[t][k] <- (w.Out[t][k]).Quotient * s.Scaling.Num + s.Scaling.Den / BigInteger 2 - s.Scaling.Den * delta[t][k]
    { w with Delta = delta; ScalingRem = rem }

/// The field representative in [0, p) of an integer.
let private rep (v: BigInteger) = ((v % Fp.Modulus) + Fp.Modulus) % Fp.Modulus

/// Random reduced scalings with |num| and den up to 2^64 (the standard policy's limit).
let private genScaling = gen {
    let! numBits = Gen.choose (0, 64)
    let! denBits = Gen.choose (0, 64)
    let! nb = Gen.arrayOfLength 9 (Gen.choose (0, 255) |> Gen.map byte)
    let! db = Gen.arrayOfLength 9 (Gen.choose (0, 255) |> Gen.map byte)
    let! negative = Gen.elements [ false; true ]
    let mask bits = (BigInteger.One <<< bits) - BigInteger.One
    let num = BigInteger(System.ReadOnlySpan nb, isUnsigned = true) &&& mask numBits
    let den = BigInteger.Max(BigInteger.One, BigInteger(System.ReadOnlySpan db, isUnsigned = true) &&& mask denBits)
    let g = BigInteger.GreatestCommonDivisor(num, den)
    return { Num = (if negative then -num else num) / g; Den = den / g } }

[<Tests>]
let tests =
    testList "LoRA circuit" [
        testPropertyWithConfig config "honest witness: MockProver satisfied, δ = FixedPoint.deltaRows; contract errors ⇒ crafted witness rejected" (
            Prop.forAll (Arb.fromGen genCase) (fun (s, a, b, xs) ->
                let salt = Fp.Random()
                match LoraCircuit.build s a b salt xs digest with
                | Ok input ->
                    let expected = deltaRows s.Config a b xs s.Scaling.Num s.Scaling.Den |> unwrap
                    Expect.equal input.Witness.Delta expected "δ agrees with FixedPoint.deltaRows"
                    Expect.equal (checkPublicBounds input.Plan.Shape xs input.Witness.Delta) (Ok()) "public values in bounds"
                    let fs = failures input.Plan input.Witness input.Instances
                    Expect.isEmpty fs (MockProver.describe 5 fs)
                | Error e ->
                    // The contract refuses these values: the unchecked witness must not satisfy.
                    let p = plan s |> unwrap
                    let w = witnessUnchecked p.Shape a b salt xs
                    let inBounds = checkPublicBounds p.Shape xs w.Delta = Ok()
                    if inBounds then
                        let fs = failures p w (craftedInstances p.Shape w)
                        Expect.isNonEmpty fs (sprintf "contract error '%s' but the crafted witness satisfies the circuit" e)))

        test "plan and circuit id are deterministic and separate shapes, rows, configs, scalings" {
            let baseShape = shapeOf (16, 2, 16, 1) defaultConfig 1 1
            let id s = plan s |> unwrap |> circuitId
            Expect.equal (id baseShape) (id baseShape) "deterministic"
            let variants =
                [ baseShape; { baseShape with InDim = 17 }; { baseShape with Rank = 3 }; { baseShape with OutDim = 15 }; { baseShape with Rows = 2 }
                  { baseShape with Config = cfgOf (16, 32, 64) }; { baseShape with Scaling = { Num = BigInteger 2; Den = BigInteger.One } } ]
            Expect.equal (variants |> List.map id |> List.distinct |> List.length) variants.Length "all distinct"
            Expect.stringStarts (id baseShape) CircuitVersion "versioned"
        }

        test "shapes and configs the circuit cannot hold without wrap-around are refused" {
            let big = shapeOf (4, 2, 4, 1) (cfgOf (20, 126, 250)) 1 1
            Expect.isError (plan big) "2·126 bits of product"
            Expect.isError (plan (shapeOf (0, 1, 1, 1) defaultConfig 1 1)) "in_dim 0"
            Expect.isError (plan (shapeOf (1, 1, 1, 0) defaultConfig 1 1)) "no rows"
            Expect.isError (plan (shapeOf (1, 1, 1, 1) defaultConfig 2 4)) "unreduced scaling"
        }

        test "shapes too large for one proof are refused with the row count, without int32 overflow" {
            let dim = AdapterCommitment.maxDim
            // every product of these dims overflows int32; planning must say why it refuses
            for shape in [ (dim, dim, dim, 1); (dim, 1, dim, System.Int32.MaxValue); (1, 1, 1, System.Int32.MaxValue); (4096, 64, 4096, 4096) ] do
                match plan (shapeOf shape defaultConfig 1 1) with
                | Ok p -> failtestf "%A planned (k = %d)" shape p.K
                | Error e -> Expect.stringContains e "circuit rows" (sprintf "%A: %s" shape e)
            // 2x1x2 needs 3 + 4·rows instance rows: 2^22 − 7 rows fit at k = 24, one more does not
            let thin rows = plan (shapeOf (2, 1, 2, rows) defaultConfig 1 1)
            match thin ((1 <<< 22) - 7) with
            | Ok p -> Expect.equal p.K VestaIpa.MaxK "the largest k"
            | Error e -> failtestf "2^22 − 7 rows should fit: %s" e
            Expect.isError (thin ((1 <<< 22) - 6)) "one row more than k = 24 holds"
        }

        test "digest halves: big-endian 16-byte halves" {
            let hi, lo = digestHalves digest |> unwrap
            Expect.equal (hi.ToBigInteger()) (BigInteger.Parse("00123456789abcdef0123456789abcdef", System.Globalization.NumberStyles.HexNumber)) "hi"
            Expect.equal (lo.ToBigInteger()) (BigInteger.Parse("00123456789abcdef0123456789abcdef", System.Globalization.NumberStyles.HexNumber)) "lo"
            let hi2, lo2 = digestHalves ("ff" + String.replicate 62 "0") |> unwrap
            Expect.equal (hi2.ToBigInteger()) (BigInteger 255 <<< 120) "top byte"
            Expect.isTrue lo2.IsZero "lo zero"
            Expect.isError (digestHalves "abc") "short"
            Expect.isError (digestHalves (String.replicate 64 "g")) "not hex"
        }

        test "native public-bound check rejects x or δ outside ±value_bound" {
            let s = shapeOf (2, 1, 2, 1) (cfgOf (8, 16, 40)) 1 1
            let vb = valueBound s.Config
            Expect.equal (checkPublicBounds s [| [| vb; -vb |] |] [| [| vb; BigInteger.Zero |] |]) (Ok()) "at the bound"
            Expect.isError (checkPublicBounds s [| [| vb + BigInteger.One; BigInteger.Zero |] |] [| [| BigInteger.Zero; BigInteger.Zero |] |]) "x over"
            Expect.isError (checkPublicBounds s [| [| BigInteger.Zero; BigInteger.Zero |] |] [| [| BigInteger.Zero; -vb - BigInteger.One |] |]) "δ under"
            Expect.isError (checkPublicBounds s [| [| BigInteger.Zero |] |] [| [| BigInteger.Zero; BigInteger.Zero |] |]) "shape"
        }

        testList "MockProver rejects" [
            let s = shapeOf (3, 2, 3, 2) defaultConfig 3 4
            let rnd = System.Random(7)
            let v () = BigInteger(rnd.NextInt64(-(1L <<< 30), 1L <<< 30))
            let a = Array.init 2 (fun _ -> Array.init 3 (fun _ -> v ()))
            let b = Array.init 3 (fun _ -> Array.init 2 (fun _ -> v ()))
            let xs = Array.init 2 (fun _ -> Array.init 3 (fun _ -> v ()))
            let salt = Fp.OfInt64 12345L
            let input = lazy (LoraCircuit.build s a b salt xs digest |> unwrap)
            let withInstance (row: int) (f: Fp -> Fp) =
                let i = input.Value
                let col = Array.copy i.Instances[0]
                col[row] <- f col[row]
                failures i.Plan i.Witness [| col |]

            test "the honest witness (control)" {
                let i = input.Value
                Expect.isEmpty (failures i.Plan i.Witness i.Instances) "satisfied"
            }
            test "a wrong δ entry (instance)" {
                let fs = withInstance (instanceRowOfDelta s 1 2) (fun d -> d + Fp.One)
                Expect.contains (gateFails fs) ("output", "q*num + floor(den/2) = den*delta + e3") "δ relation"
            }
            test "a wrong x entry (instance)" {
                let fs = withInstance (instanceRowOfX s 0 1) (fun x -> x + Fp.One)
                // the accumulator follows the copied x, so the raw division no longer matches
                Expect.contains (gateFails fs) ("division", "n = e' + c*2^(sb-1) + 2^sb*S") (MockProver.describe 5 fs)
            }
            test "a wrong commitment (instance)" {
                let fs = withInstance 0 (fun c -> c + Fp.One)
                Expect.exists fs (function InstanceMismatch(_, _, _, _, 0, _) -> true | _ -> false) "commitment"
            }
            test "a weight just outside ±value_bound (both ends)" {
                let vb = valueBound s.Config
                for bad in [ vb + BigInteger.One; -vb - BigInteger.One ] do
                    let a' = a |> Array.map Array.copy
                    a'[1][2] <- bad
                    let w = witnessUnchecked s a' b salt xs
                    let fs = failures input.Value.Plan w (craftedInstances s w)
                    let hit =
                        lookupFails fs |> List.exists (fun l -> l.StartsWith "weight top limb" || l.StartsWith "lane")
                        || gateFails fs |> List.contains ("weight bound", "u != 0")
                    Expect.isTrue hit (sprintf "weight %O: %s" bad (MockProver.describe 5 fs))
            }
            test "a non-zero product in a padding slot of a dot row" {
                let i = input.Value
                let c = circuit i.Plan (Some i.Witness)
                let cs, cfg = Synthesis.configure c |> unwrap
                let asg = Synthesis.run cs cfg c i.Plan.K (Some i.Instances) |> unwrap
                let struct (_, start, _) = asg.Regions |> Array.find (fun (struct (n, _, _)) -> n = "raw dot")
                // in_dim = 3 < dot width 4: slot 3 is padding
                asg.Advice[cfg.DotW[3].Index][start] <- Fp.OfInt64 5L
                asg.Advice[cfg.DotX[3].Index][start] <- Fp.OfInt64 7L
                asg.Advice[cfg.Acc.Index][start] <- asg.Advice[cfg.Acc.Index][start] + Fp.OfInt64 35L
                let fs = MockProver.check cs asg
                Expect.exists fs (function CopyNotSatisfied _ -> true | _ -> false) (MockProver.describe 5 fs)
            }
            test "a wrong quotient h_j" {
                let w = input.Value.Witness
                let raw = w.Raw |> Array.map Array.copy
                let d = raw[1][0]
                raw[1][0] <- { d with Quotient = d.Quotient + BigInteger.One }
                let fs = failures input.Value.Plan { w with Raw = raw } input.Value.Instances
                Expect.contains (gateFails fs) ("division", "q = S - 2^(ib-1-sb) + c") "quotient"
            }
            test "a remainder moved out of its interval (same value, quotient one lower)" {
                let w = input.Value.Witness
                let out = w.Out |> Array.map Array.copy
                let sb = s.Config.ScaleBits
                // find an output whose rounding bit is set; move it into the low part
                let t, k = [ for t in 0 .. 1 do for k in 0 .. 2 -> t, k ] |> List.find (fun (t, k) -> (out[t][k]).Carry.IsOne)
                let d = out[t][k]
                out[t][k] <- { d with Carry = BigInteger.Zero; Low = d.Low + (BigInteger.One <<< (sb - 1)); Quotient = d.Quotient - BigInteger.One }
                let fs = failures input.Value.Plan { w with Out = out } input.Value.Instances
                Expect.exists (lookupFails fs) (fun l -> l.StartsWith "remainder top limb") (MockProver.describe 5 fs)
            }
            test "δ one lower with the scaling remainder one den higher" {
                let i = input.Value
                let w = i.Witness
                let delta = w.Delta |> Array.map Array.copy
                let rem = w.ScalingRem |> Array.map Array.copy
                delta[0][1] <- delta[0][1] - BigInteger.One
                rem[0][1] <- rem[0][1] + s.Scaling.Den
                let inst = instances s xs delta i.Commitment digest |> unwrap
                let fs = failures i.Plan { w with Delta = delta; ScalingRem = rem } inst
                Expect.isEmpty (gateFails fs) "the gates alone hold"
                Expect.exists (lookupFails fs) (fun l -> l.StartsWith "scaling remainder limb") (MockProver.describe 5 fs)
            }
        ]

        testList "the v1 scaling-remainder forgery (issue 12)" [
            // Config (0, 2, 2) and den = 2^247 + 1: bits(den − 1) = 248, so m = ⌈248/w⌉ limbs give
            // w·m ≥ 254 for w = 13, 15, 16 — in lora-circuit-v1 both remainder segments could wrap
            // mod p and every δ within ±value_bound verified (reproduced end to end with real
            // proofs). The circuit accepts the shape (its no-wrap bounds hold once the segments
            // are tight); the forged witness must now fail, and the standard policy refuses the
            // scaling before any proof is looked at.
            let s = { InDim = 1; Rank = 1; OutDim = 1; Rows = 2; Config = cfgOf (0, 2, 2)
                      Scaling = { Num = BigInteger.One; Den = (BigInteger.One <<< 247) + BigInteger.One } }
            let a = [| [| BigInteger.One |] |]
            let b = [| [| BigInteger.MinusOne |] |]
            let xs = [| [| BigInteger.One |]; [| BigInteger.MinusOne |] |]
            for w in [ 13; 15; 16 ] do
                test (sprintf "w = %d: the forged witness has no satisfying assignment" w) {
                    let p = planWithLimbBits s w |> unwrap
                    Expect.equal p.LimbBits w "the planner builds this limb width"
                    Expect.isGreaterThanOrEqual (w * p.ScalingLimbs) 254 "the v1 wrap condition w·m ≥ 254 holds for this plan"
                    let honest = witness p.Shape a b Fp.One xs |> unwrap
                    Expect.isEmpty (failures p honest (craftedInstances p.Shape honest)) "the honest witness satisfies (control)"
                    for t in 0 .. s.Rows - 1 do
                        // δ = 0 here (|s·num| ≪ den); δ' = ±1 is within ±value_bound = 1
                        for step in [ 1; -1 ] do
                            let forged = offByOne p.Shape honest t 0 step
                            let e3 = rep (forged.ScalingRem[t][0])
                            // what made v1 accept: every one of the m limbs of e3 and of den − 1 − e3 is below 2^w
                            let topShift = w * (p.ScalingLimbs - 1)
                            Expect.isLessThan (e3 >>> topShift) (BigInteger.One <<< w) "v1's per-limb lookups would pass for e3"
                            Expect.isLessThan (rep (s.Scaling.Den - BigInteger.One - (forged.ScalingRem[t][0])) >>> topShift) (BigInteger.One <<< w) "… and for den − 1 − e3"
                            let fs = failures p forged (craftedInstances p.Shape forged)
                            Expect.isEmpty (gateFails fs) "the gates alone hold (only the range checks can catch it)"
                            Expect.exists (lookupFails fs) (fun l -> l.StartsWith "scaling remainder e3 top limb" || l.StartsWith "scaling remainder den-1-e3 top limb")
                                (sprintf "row %d step %+d: %s" t step (MockProver.describe 5 fs))
                }
            test "the standard parameter policy refuses the scaling before any proof is read" {
                Expect.isError (ParameterPolicy.check ParameterPolicy.standard s.Config s.Scaling) "den = 2^247 + 1 > 2^64"
            }
        ]

        testPropertyWithConfig { config with maxTest = 25 } "δ off by one (every scratch cell re-solved by the attacker) is unsatisfiable, for dens up to 2^64" (
            let gen = gen {
                let! cfg = Gen.elements [ cfgOf (20, 63, 127); cfgOf (16, 32, 64); cfgOf (8, 16, 40); cfgOf (0, 2, 2); cfgOf (4, 8, 32); cfgOf (32, 64, 128) ]
                let! inDim = Gen.choose (1, 3)
                let! rank = Gen.choose (1, 2)
                let! outDim = Gen.choose (1, 3)
                let! rows = Gen.choose (1, 2)
                let! sc = genScaling
                let! seed = Gen.choose (0, System.Int32.MaxValue)
                let! w = Gen.choose (6, 16)
                return { InDim = inDim; Rank = rank; OutDim = outDim; Rows = rows; Config = cfg; Scaling = sc }, seed, w }
            Prop.forAll (Arb.fromGen gen) (fun (s, seed, w) ->
                let rnd = System.Random seed
                let bits = max 1 (min 20 (s.Config.ValueBits / 2 - 2))
                let v () = BigInteger(rnd.NextInt64(-(1L <<< bits) + 1L, 1L <<< bits))
                let a = Array.init s.Rank (fun _ -> Array.init s.InDim (fun _ -> v ()))
                let b = Array.init s.OutDim (fun _ -> Array.init s.Rank (fun _ -> v ()))
                let xs = Array.init s.Rows (fun _ -> Array.init s.InDim (fun _ -> v ()))
                // a small w keeps MockProver fast; the wide-w cases are the test above
                let p = planWithLimbBits s (min w 10) |> unwrap
                Expect.isTrue (noWrapBounds p |> List.forall (fun (_, bound) -> bound < Fp.Modulus)) "every no-wrap bound of a built plan is below p"
                match witness p.Shape a b Fp.One xs with
                | Error _ -> () // the contract refuses these values (covered by the first property)
                | Ok honest ->
                    let t, k = rnd.Next s.Rows, rnd.Next s.OutDim
                    let vb = valueBound s.Config
                    let step = if (honest.Delta[t][k]) < vb then 1 else -1
                    let forged = offByOne p.Shape honest t k step
                    // The algebra: a tight segment holds an integer in [0, 2^bits(den−1)), so the
                    // forced e3 is representable only if its representative is below den.
                    let e3 = rep (forged.ScalingRem[t][k])
                    Expect.isTrue (e3 >= s.Scaling.Den || rep (s.Scaling.Den - BigInteger.One - e3) >= s.Scaling.Den) "no representable remainder exists"
                    let fs = failures p forged (craftedInstances p.Shape forged)
                    Expect.isNonEmpty (lookupFails fs) (sprintf "δ%+d at (%d, %d) was accepted" step t k)))

        test "a plan whose no-wrap argument fails is never built" {
            let p = plan (shapeOf (2, 1, 2, 1) defaultConfig 1 1) |> unwrap
            Expect.equal (checkPlan p) (Ok p) "a planned shape passes its own check"
            // the same layout with a scaling whose δ relation reaches past p
            let huge = { p with Shape = { p.Shape with Scaling = { Num = BigInteger.One; Den = BigInteger.One <<< 250 } } }
            match checkPlan huge with
            | Ok _ -> failtest "a plan whose scaling relation can wrap was accepted"
            | Error e -> Expect.stringContains e "scaling relation" e
            Expect.isError (plan huge.Shape) "plan refuses it too"
        }

        test "an intermediate over the bound: the contract errors and the crafted witness is rejected" {
            let s = shapeOf (4, 1, 2, 1) (cfgOf (4, 8, 10)) 1 1
            let a = [| [| 127; 127; 127; 127 |] |> Array.map BigInteger |]
            let b = [| [| BigInteger 1 |]; [| BigInteger -1 |] |]
            let xs = [| [| 100; 100; 100; 100 |] |> Array.map BigInteger |]
            Expect.isError (LoraCircuit.build s a b Fp.One xs digest) "raw = 50800 > 511"
            let p = plan s |> unwrap
            let w = witnessUnchecked s a b Fp.One xs
            let fs = failures p w (craftedInstances s w)
            Expect.exists (lookupFails fs) (fun l -> l.StartsWith "high part top limb" || l.StartsWith "lane") (MockProver.describe 5 fs)
            // r over the bound while raw is within it: raw = 4·7·15 = 420, h = 26, r = 127·26 > 511
            let a2 = [| [| 7; 7; 7; 7 |] |> Array.map BigInteger |]
            let b2 = [| [| BigInteger 127 |]; [| BigInteger 1 |] |]
            let xs2 = [| [| 15; 15; 15; 15 |] |> Array.map BigInteger |]
            Expect.isError (LoraCircuit.build s a2 b2 Fp.One xs2 digest) "r over the bound"
            let w2 = witnessUnchecked s a2 b2 Fp.One xs2
            Expect.isTrue (BigInteger.Abs (w2.Raw[0][0]).Value <= intermediateBound s.Config) "raw within"
            let fs2 = failures p w2 (craftedInstances s w2)
            Expect.isNonEmpty (lookupFails fs2) (MockProver.describe 5 fs2)
        }
    ]
