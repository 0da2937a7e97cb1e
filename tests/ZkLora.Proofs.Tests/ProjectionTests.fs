/// The projection backend (docs/projection-protocol.md): the output intervals against the
/// contract, completeness over random shapes/configs/scalings/rows, δ agreement with
/// FixedPoint.deltaRows, and a cheating-prover suite in which every verifier check must fail.
module ZkLora.Proofs.Tests.ProjectionTests

open ZkLora.Testing
open System
open System.Numerics
open Expecto
open FsCheck
open ZkLora.Math
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.Projection
open ZkLora.Proofs.Projection.ProjectionCommon
open ZkLora.Proofs.Projection.AdapterProof
open ZkLora.Proofs.Projection.CallProof

let private cfgOf (s, v, i) = { ScaleBits = s; ValueBits = v; IntermediateBits = i }
let private big (v: int64) = BigInteger v
let private contractDelta cfg (num: BigInteger) (den: BigInteger) (r: BigInteger) =
    divRound (divRound r (scale cfg) * num) den

let private digestOf (seed: int) = Array.init 32 (fun i -> byte (seed * 31 + i))

/// A statement and its adapter secret; Δ from the contract (Error if the contract errors).
/// Weights are clamped into the adapter range (so its ends occur when mag reaches them).
let private statementOf cfg (num, den) (inDim, rank, outDim, rows) (rnd: Random) (mag: int64) =
    let v () = big (rnd.NextInt64(-mag, mag + 1L))
    let lo, hi = AdapterProof.adapterRange cfg
    let w () = BigInteger.Max(lo, BigInteger.Min(hi, v ()))
    let a = Array.init rank (fun _ -> Array.init inDim (fun _ -> w ()))
    let b = Array.init outDim (fun _ -> Array.init rank (fun _ -> w ()))
    let xs = Array.init rows (fun _ -> Array.init inDim (fun _ -> v ()))
    let shape = { InDim = inDim; Rank = rank; OutDim = outDim; Config = cfg }
    match AdapterProof.commit TestParameters.pedersen shape a b with
    | Error e -> failwith e
    | Ok(c, secret) ->
        let delta = deltaRows cfg a b xs (big num) (big den)
        shape, c, secret, xs, delta

let private stmt shape c xs delta (num, den) seed =
    { Digest = digestOf seed; Shape = shape; Num = big num; Den = big den; X = xs; Delta = delta; Adapter = c }

let private verifies st p = CallProof.verify TestParameters.pedersen st p = Ok()

let private scalings = [ (1L, 1L); (2L, 1L); (1L, 2L); (-3L, 4L); (16L, 7L); (0L, 1L); (1L, 3L) ]
let private configs = [ cfgOf (20, 63, 127); cfgOf (16, 32, 64); cfgOf (8, 16, 40); cfgOf (0, 8, 24) ]

/// A fixed small statement (3×2×3, two rows) whose intermediates are all far from 0.
let private fixedCase (scalingPair: int64 * int64) (cfg: FixedPointConfig) (seed: int) =
    let rnd = Random(seed)
    let mag = if cfg.ValueBits <= 16 then 300L else 100000L
    let shape, c, secret, xs, delta = statementOf cfg scalingPair (3, 2, 3, 2) rnd mag
    let delta = match delta with Ok d -> d | Error e -> failwith e
    shape, c, secret, stmt shape c xs delta scalingPair seed

let private layoutOfStmt st = match CallProof.layoutOf st with Ok l -> l | Error e -> failwith e

let private cheat = CallProof.honest

[<Tests>]
let tests =
    testList "projection backend" [
        testProperty "output intervals are exactly the contract's preimages" <| fun (seed: int) ->
            let rnd = Random(seed)
            let cfg = configs[rnd.Next configs.Length]
            let num, den = scalings[rnd.Next scalings.Length]
            let num, den = big num, big den
            let ib = intermediateBound cfg
            let r = if rnd.Next 4 = 0 then (if rnd.Next 2 = 0 then ib else -ib) else BigInteger.Remainder(BigInteger(rnd.NextInt64(-1000000000L, 1000000000L)), ib)
            let d = contractDelta cfg num den r
            match outputInterval cfg num den d with
            | None -> false
            | Some(lo, hi) ->
                let outside v = BigInteger.Abs v > ib || contractDelta cfg num den v <> d
                lo <= r && r <= hi && outside (lo - BigInteger.One) && outside (hi + BigInteger.One)
                && not (outside lo) && not (outside hi)
                && bitLength (hi - lo) <= outputBits cfg num den

        testCase "an output no r reaches has no interval" <| fun () ->
            // scaling 2/1: δ = 2·s is always even
            Expect.isNone (outputInterval (cfgOf (20, 63, 127)) (big 2) (big 1) (big 3)) "odd δ with num = 2"
            Expect.isNone (outputInterval (cfgOf (20, 63, 127)) (big 0) (big 1) (big 1)) "num = 0 gives δ = 0 only"

        testCase "the policy refuses parameters outside its bounds" <| fun () ->
            Expect.isError (Policy.checkConfig (cfgOf (33, 63, 127))) "scale_bits"
            Expect.isError (Policy.checkConfig (cfgOf (20, 65, 127))) "value_bits"
            Expect.isError (Policy.checkConfig (cfgOf (20, 63, 129))) "intermediate_bits"
            Expect.isError (Policy.checkScaling ((BigInteger.One <<< 64) + BigInteger.One) BigInteger.One) "num"
            Expect.isError (Policy.checkScaling BigInteger.One ((BigInteger.One <<< 64) + BigInteger.One)) "den"
            Expect.isError (Policy.checkScaling (big 2) (big 4)) "not reduced"
            Expect.isError (Policy.checkScaling (big 1) (big 0)) "den = 0"
            Expect.isError (Policy.checkShape 0 1 1) "in"
            Expect.isError (Policy.checkShape 1 2000 1) "rank"
            let shape, c, _, st = fixedCase (2L, 1L) (cfgOf (20, 63, 127)) 1
            let bad = { st with Shape = { shape with Config = cfgOf (20, 63, 129) } }
            Expect.isError (CallProof.verify TestParameters.pedersen bad (Unchecked.defaultof<_>)) "verifier refuses before reading the proof"
            let big = { st with X = Array.append st.X [| Array.create 3 ((BigInteger.One <<< 62) * BigInteger 4) |] }
            Expect.isError (CallProof.verify TestParameters.pedersen big (Unchecked.defaultof<_>)) "x outside ±value_bound"
            // the largest dims the shape policy allows exceed the vector bound (no 32-bit overflow)
            let huge = { InDim = 1 <<< 16; Rank = 1 <<< 10; OutDim = 1 <<< 16; Config = cfgOf (20, 63, 127) }
            let hugeSt =
                { st with Shape = huge; X = [| Array.create huge.InDim BigInteger.One |]; Delta = [| Array.create huge.OutDim BigInteger.Zero |] }
            Expect.isError (CallProof.verify TestParameters.pedersen hugeSt (Unchecked.defaultof<_>)) "call vector over the policy"
            Expect.isError (CallProof.decode hugeSt [||]) "decode refuses too"
            Expect.isError (AdapterProof.verify TestParameters.pedersen huge c (Unchecked.defaultof<_>)) "adapter vector over the policy"
            Expect.isError (AdapterProof.decode huge [||]) "adapter decode refuses"

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 14 } "completeness over shapes, configs, scalings and rows; δ = FixedPoint.deltaRows" <| fun (seed: int) ->
            let rnd = Random(seed)
            let cfg = configs[rnd.Next configs.Length]
            let scalingPair = scalings[rnd.Next scalings.Length]
            let dims = (1 + rnd.Next 4, 1 + rnd.Next 3, 1 + rnd.Next 4, 1 + rnd.Next 3)
            let vb = int64 (min (valueBound cfg) (BigInteger Int64.MaxValue))
            let mag = if rnd.Next 3 = 0 then vb else min vb 5000L
            let shape, c, secret, xs, delta = statementOf cfg scalingPair dims rnd mag
            match delta with
            | Error _ ->
                // the contract errors: no honest proof may exist for any recorded δ
                let st = stmt shape c xs (Array.init xs.Length (fun _ -> Array.zeroCreate shape.OutDim)) scalingPair seed
                Result.isError (CallProof.prove TestParameters.pedersen st secret)
            | Ok delta ->
                let st = stmt shape c xs delta scalingPair seed
                match CallProof.prove TestParameters.pedersen st secret with
                | Error e -> failwithf "honest prover failed: %s" e
                | Ok proof ->
                    let bytes = CallProof.encode proof
                    let decoded = CallProof.decode st bytes
                    // the memory planner's worst case bounds the actual (padded) vector length
                    let planned = CallProof.maxVectorEntries shape st.Num st.Den (int64 xs.Length)
                    verifies st proof
                    && (1L <<< proof.Constraint.Ipa.L.Length) <= (1L <<< (64 - Numerics.BitOperations.LeadingZeroCount(uint64 (planned - 1L))))
                    && (match decoded with Ok p -> verifies st p && CallProof.encode p = bytes | Error _ -> false)

        testCase "adapter proof: completeness, round trip and weights at both ends of the adapter range" <| fun () ->
            let cfg = cfgOf (8, 16, 40)
            let lo, hi = AdapterProof.adapterRange cfg
            Expect.equal (lo, hi) (big -16384, big 16383) "[−2^(vb−2), 2^(vb−2) − 1] for vb = 16"
            Expect.isTrue (hi <= valueBound cfg && -lo <= valueBound cfg) "inside ±value_bound"
            let shape = { InDim = 3; Rank = 2; OutDim = 2; Config = cfg }
            let a = [| [| hi; lo; big 0 |]; [| big 5; big -7; big 1 |] |]
            let b = [| [| lo; hi |]; [| big 3; big 0 |] |]
            match AdapterProof.commit TestParameters.pedersen shape a b with
            | Error e -> failtest e
            | Ok(c, secret) ->
                let proof = match AdapterProof.prove TestParameters.pedersen shape c secret with Ok p -> p | Error e -> failtest e
                Expect.equal (AdapterProof.verify TestParameters.pedersen shape c proof) (Ok()) "honest"
                let bytes = AdapterProof.encode proof
                match AdapterProof.decode shape bytes with
                | Ok p -> Expect.equal (AdapterProof.verify TestParameters.pedersen shape c p) (Ok()) "decoded"
                | Error e -> failtest e
                Expect.isError (AdapterProof.decode shape (Array.sub bytes 0 (bytes.Length - 1))) "truncated"
                Expect.isError (AdapterProof.decode shape (Array.append bytes [| 0uy |])) "extended"
                // another shape may have the same proof size (same rounds): then it must not verify
                match AdapterProof.decode { shape with Rank = 1 } bytes with
                | Error _ -> ()
                | Ok p -> Expect.isError (AdapterProof.verify TestParameters.pedersen { shape with Rank = 1 } c p) "other shape"

        testCase "adapter proof: a weight outside the adapter range is rejected" <| fun () ->
            let cfg = cfgOf (8, 16, 40)
            let vb = valueBound cfg
            let lo, hi = AdapterProof.adapterRange cfg
            let shape = { InDim = 2; Rank = 1; OutDim = 2; Config = cfg }
            // just outside the range (still within ±value_bound), at and beyond ±value_bound
            for bad in [ hi + BigInteger.One; lo - BigInteger.One; vb; -vb; vb + BigInteger.One; -(vb + BigInteger.One); vb * BigInteger 3 ] do
                let a = [| [| bad; big 1 |] |]
                let b = [| [| big 2 |]; [| big 3 |] |]
                Expect.isError (AdapterProof.commit TestParameters.pedersen shape a b) "commit refuses"
                let blind = Fp.Random()
                let c = Vesta.toAffine (ZkLora.Math.Commitment.PedersenVector.commit TestParameters.pedersen (weightVector shape a b) blind)
                let secret = { A = a; B = b; Blind = blind }
                Expect.isError (AdapterProof.prove TestParameters.pedersen shape c secret) "honest prover refuses"
                let forged = AdapterProof.proveUnchecked TestParameters.pedersen shape c secret
                Expect.isError (AdapterProof.verify TestParameters.pedersen shape c forged) (sprintf "weight %O rejected" bad)
                // the item kept exact (u = w + o over the integers, so the linear relation holds) and
                // outside [0, 2^(vb−1)): written as one limb outside the table, only the lookup can catch it
                let exact = AdapterProof.proveWithItems TestParameters.pedersen (fun v -> v[0] <- bad + AdapterProof.itemOffset cfg) shape c secret
                Expect.isError (AdapterProof.verify TestParameters.pedersen shape c exact) (sprintf "weight %O with an exact split rejected" bad)
            // control: the same cheating prover on honest items is accepted, so the rejections above come from the false items
            let a = [| [| big 700; big 1 |] |]
            let b = [| [| big 2 |]; [| big 3 |] |]
            let c, secret = AdapterProof.commit TestParameters.pedersen shape a b |> Result.defaultWith failwith
            Expect.equal (AdapterProof.verify TestParameters.pedersen shape c (AdapterProof.proveWithItems TestParameters.pedersen ignore shape c secret)) (Ok()) "the unchecked prover, honest items"

        testCase "adapter proof: commitments swapped between adapters are rejected" <| fun () ->
            let cfg = cfgOf (8, 16, 40)
            let shape = { InDim = 2; Rank = 1; OutDim = 2; Config = cfg }
            let c1, s1 = AdapterProof.commit TestParameters.pedersen shape [| [| big 1; big 2 |] |] [| [| big 3 |]; [| big 4 |] |] |> Result.defaultWith failwith
            let c2, _ = AdapterProof.commit TestParameters.pedersen shape [| [| big 1; big 2 |] |] [| [| big 3 |]; [| big 4 |] |] |> Result.defaultWith failwith
            let p1 = AdapterProof.prove TestParameters.pedersen shape c1 s1 |> Result.defaultWith failwith
            Expect.equal (AdapterProof.verify TestParameters.pedersen shape c1 p1) (Ok()) "own commitment"
            Expect.isError (AdapterProof.verify TestParameters.pedersen shape c2 p1) "same weights, other blind"
            Expect.isError (AdapterProof.verify TestParameters.pedersen { shape with Config = cfgOf (8, 17, 40) } c1 p1) "other config"

        testCase "adapter proof: challenges drawn without any one absorbed part are rejected" <| fun () ->
            let shape = { InDim = 2; Rank = 1; OutDim = 2; Config = cfgOf (8, 16, 40) }
            let c, secret = AdapterProof.commit TestParameters.pedersen shape [| [| big 1; big -2 |] |] [| [| big 3 |]; [| big 4 |] |] |> Result.defaultWith failwith
            Expect.equal (AdapterProof.verify TestParameters.pedersen shape c (AdapterProof.prove TestParameters.pedersen shape c secret |> Result.defaultWith failwith)) (Ok()) "honest"
            for part in AdapterProof.absorbedParts do
                let forged = AdapterProof.proveOmitting TestParameters.pedersen part shape c secret
                Expect.isError (AdapterProof.verify TestParameters.pedersen shape c forged) (sprintf "challenges without %s" part)

        testCase "cheating prover: wrong δ and wrong h are rejected" <| fun () ->
            let shape, _, secret, st = fixedCase (2L, 1L) (cfgOf (20, 63, 127)) 11
            let honestProof = CallProof.prove TestParameters.pedersen st secret |> Result.defaultWith failwith
            Expect.isTrue (verifies st honestProof) "honest"
            let l = layoutOfStmt st
            // wrong δ (a value the contract can produce, +2 keeps it even), remainder moved out
            // of range as a field element so every linear identity still holds mod p
            let d2 = st.Delta |> Array.map Array.copy
            d2[0][1] <- d2[0][1] + big 2
            let wrong = { st with Delta = d2 }
            Expect.isError (CallProof.prove TestParameters.pedersen wrong secret) "honest prover refuses"
            Expect.isError (CallProof.verify TestParameters.pedersen wrong honestProof) "honest proof, other δ"
            let lw = layoutOfStmt wrong
            let forged =
                CallProof.proveWithValues TestParameters.pedersen cheat wrong secret (fun v ->
                    let e = 1
                    let r = l.Lo[e] + v[outItem l e]
                    v[outItem lw e] <- r - lw.Lo[e])
                |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen wrong forged) "δ + 2 with an out-of-range remainder"
            // wrong h: h + 1 in range, nothing compensated
            let forgedH =
                CallProof.proveWithValues TestParameters.pedersen cheat st secret (fun v -> v[inItem 0 0] <- v[inItem 0 0] + BigInteger.One)
                |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen st forgedH) "h + 1"
            // h − 1 with e1 + 2^s (out of range) so identity 1 holds over the integers
            let forgedH2 =
                CallProof.proveWithValues TestParameters.pedersen cheat st secret (fun v ->
                    v[inItem 0 0] <- v[inItem 0 0] - BigInteger.One
                    v[inItem 0 1] <- v[inItem 0 1] + scale shape.Config
                    // outputs follow the new h: r' = r − B_k0, remainders as needed
                    for k in 0 .. shape.OutDim - 1 do
                        v[outItem l k] <- v[outItem l k] - secret.B[k][0])
                |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen st forgedH2) "h − 1 with e1 ≥ 2^s"

        testCase "cheating prover: each identity broken alone is rejected" <| fun () ->
            let shape, _, secret, st = fixedCase (2L, 1L) (cfgOf (20, 63, 127)) 12
            let l = layoutOfStmt st
            let runWith c edit = CallProof.proveWithValues TestParameters.pedersen c st secret edit |> Result.defaultWith failwith |> CallProof.verify TestParameters.pedersen st
            let run edit phase2 = runWith { cheat with Phase2 = phase2 } edit
            let keep p q c = p, q, c
            Expect.equal (run ignore keep) (Ok()) "the unchecked prover on the honest values is accepted"
            Expect.isTrue (st.Delta |> Array.forall (Array.forall (fun v -> not v.IsZero))) "non-trivial outputs"
            // I1 alone: e1 + 1 and raw + 1 (identity 2 kept; raw ≠ Σ A·x)
            Expect.isError (run (fun v ->
                if v[inItem 0 1] = scale shape.Config - BigInteger.One then failtest "pick another seed"
                v[inItem 0 1] <- v[inItem 0 1] + BigInteger.One
                if v[inItem 0 3].IsZero then v[inItem 0 2] <- v[inItem 0 2] + BigInteger.One
                else v[inItem 0 3] <- v[inItem 0 3] - BigInteger.One) keep) "identity 1"
            // I2 alone: + 1 on raw⁺ only breaks it
            Expect.isError (run (fun v -> v[inItem 0 2] <- v[inItem 0 2] + BigInteger.One) keep) "identity 2 (raw split)"
            // I3 alone: an output remainder ± 1
            Expect.isError (run (fun v ->
                let e = outItem l 0
                v[e] <- if v[e].IsZero then BigInteger.One else v[e] - BigInteger.One) keep) "identity 3 (outputs)"
            // I5 alone: p moved orthogonally to q (⟨p, q⟩ kept)
            Expect.isError (run ignore (fun p q c ->
                if q[0].IsZero || q[1].IsZero || p[0].IsZero || p[1].IsZero then failtest "degenerate projections"
                let p = Array.copy p
                p[0] <- p[0] + q[1]
                p[1] <- p[1] - q[0]
                p, q, c)) "p inconsistent with h"
            // I6 alone: q moved orthogonally to p
            Expect.isError (run ignore (fun p q c ->
                let q = Array.copy q
                q[0] <- q[0] + p[1]
                q[1] <- q[1] - p[0]
                p, q, c)) "q inconsistent with B"
            // product: c ≠ ⟨p, q⟩
            Expect.isError (run ignore (fun p q c -> p, q, c + Fp.One)) "c ≠ ⟨p, q⟩"
            // lookup alone: an output's limbs rewritten as (ℓ0 + 2^10·ℓ1, 0) — same value, every
            // linear identity kept, multiplicities counted honestly, ℓ0 + 2^10·ℓ1 outside the table
            let lowLimbs = l.NOut = 20
            Expect.isTrue lowLimbs "two full limbs per output"
            let outsideTable (ell: Fp[]) =
                let p = l.ItemPos[outItem l 0]
                // ℓ1 = 0: use (ℓ0 − 2^10, 1) instead — ℓ0 − 2^10 is negative, outside the table too
                if ell[p + 1].IsZero then
                    ell[p] <- ell[p] - Fp.OfUInt64 1024UL
                    ell[p + 1] <- Fp.One
                else
                    ell[p] <- ell[p] + Fp.OfUInt64 1024UL * ell[p + 1]
                    ell[p + 1] <- Fp.Zero
            Expect.isError (runWith { cheat with Limbs = outsideTable } ignore) "a limb outside the table, value kept"
            // a multiplicity moved from one table value to another, or one extra
            let moveMult (m: Fp[]) =
                let v = m |> Array.findIndex (fun x -> not x.IsZero)
                m[v] <- m[v] - Fp.One
                m[(v + 1) % m.Length] <- m[(v + 1) % m.Length] + Fp.One
            Expect.isError (runWith { cheat with Mult = moveMult } ignore) "wrong multiplicity (moved)"
            Expect.isError (runWith { cheat with Mult = (fun m -> m[0] <- m[0] + Fp.One) } ignore) "wrong multiplicity (extra)"
            // an inverse that is not 1/(ℓ − α); then two moved by ±1 so Σ inv (the logUp sum) is kept
            Expect.isError (runWith { cheat with Inv = (fun inv -> inv[3] <- inv[3] + Fp.One) } ignore) "broken inverse relation"
            let moveInv (inv: Fp[]) =
                inv[0] <- inv[0] + Fp.One
                inv[1] <- inv[1] - Fp.One
            Expect.isError (runWith { cheat with Inv = moveInv } ignore) "broken inverse relation, logUp sum kept"
            // the shifted copy of a partial top limb off by one (a table value; multiplicities follow)
            let hItem = inItem 0 0
            let mh = l.ItemBits[hItem]
            let full = (mh + CallProof.LimbBits - 1) / CallProof.LimbBits
            Expect.notEqual (mh % CallProof.LimbBits) 0 "the h item has a partial top limb"
            let shiftedOff (ell: Fp[]) =
                let sp = l.ItemPos[hItem] + full
                ell[sp] <- if ell[sp].IsZero then Fp.One else ell[sp] - Fp.One
            Expect.isError (runWith { cheat with Limbs = shiftedOff } ignore) "shifted top limb inconsistent"
            // a top limb beyond its partial width (in the table) with its shifted copy unchanged
            let wideTop (ell: Fp[]) =
                let tp = l.ItemPos[hItem] + full - 1
                ell[tp] <- ell[tp] + Fp.OfUInt64(1UL <<< (mh % CallProof.LimbBits))
            Expect.isError (runWith { cheat with Limbs = wideTop } ignore) "top limb wider than its item"

        testCase "cheating prover: the clipped-output identity broken alone is rejected" <| fun () ->
            // scaling 1/3: three values of s per δ, width 3·2^s − 1 < 2^nOut − 1
            let shape, _, secret, st = fixedCase (1L, 3L) (cfgOf (8, 16, 40)) 13
            let l = layoutOfStmt st
            Expect.isGreaterThan l.Clipped.Length 0 "some clipped outputs"
            let proof = CallProof.prove TestParameters.pedersen st secret |> Result.defaultWith failwith
            Expect.isTrue (verifies st proof) "honest"
            let forged =
                CallProof.proveWithValues TestParameters.pedersen cheat st secret (fun v ->
                    let e = clipItem l 0
                    v[e] <- if v[e].IsZero then BigInteger.One else v[e] - BigInteger.One)
                |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen st forged) "upper remainder off by one"
            // r above the interval's top with the upper remainder negative (a field element)
            let e = l.Clipped[0]
            let w = l.Hi[e] - l.Lo[e]
            Expect.isLessThan (w + BigInteger.One) (BigInteger.One <<< l.NOut) "room above the interval"
            let forged2 =
                CallProof.proveWithValues TestParameters.pedersen cheat st secret (fun v ->
                    v[outItem l e] <- w + BigInteger.One
                    v[clipItem l 0] <- BigInteger.MinusOne)
                |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen st forged2) "r above the interval"

        testCase "cross-segment forgeries: a limb commitment that shifts the committed weights is rejected" <| fun () ->
            // call proof: C_W commits to (A, B); the prover wants to prove Δ' computed with B'
            let shape, c, secret, st = fixedCase (2L, 1L) (cfgOf (16, 32, 64)) 41
            let b' = secret.B |> Array.map (Array.map (fun v -> v + big 7))
            let delta' = deltaRows shape.Config secret.A b' st.X st.Num st.Den |> Result.defaultWith failwith
            Expect.notEqual delta' st.Delta "another output"
            let st' = { st with Delta = delta' }
            let secret' = { secret with B = b' }
            let shift = Array.map2 (-) (weightVector shape secret.A b') (weightVector shape secret.A secret.B)
            let forged =
                CallProof.proveWithValues TestParameters.pedersen { cheat with WeightShift = Some shift } st' secret' ignore |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen st' forged) "B' smuggled through C_1"
            // adapter proof: C_W commits to a weight outside ±value_bound, C_bits carries the fix
            let cfg = cfgOf (8, 16, 40)
            let vb = valueBound cfg
            let ashape = { InDim = 2; Rank = 1; OutDim = 2; Config = cfg }
            let good = [| [| big 1; big 2 |] |], [| [| big 3 |]; [| big 4 |] |]
            let bad = [| [| vb * big 5; big 2 |] |], [| [| big 3 |]; [| big 4 |] |]
            let wGood = weightVector ashape (fst good) (snd good)
            let wBad = weightVector ashape (fst bad) (snd bad)
            let blind = Fp.Random()
            let cBad = Vesta.toAffine (ZkLora.Math.Commitment.PedersenVector.commit TestParameters.pedersen wBad blind)
            let forgedA = AdapterProof.proveShifted TestParameters.pedersen (Array.map2 (-) wGood wBad) ashape cBad { A = fst good; B = snd good; Blind = blind }
            Expect.isError (AdapterProof.verify TestParameters.pedersen ashape cBad forgedA) "out-of-range weight hidden by C_1"

        testCase "swapped commitments, replays and unbound challenges are rejected" <| fun () ->
            let shape, c1, secret, st = fixedCase (2L, 1L) (cfgOf (16, 32, 64)) 21
            let proof = CallProof.prove TestParameters.pedersen st secret |> Result.defaultWith failwith
            Expect.isTrue (verifies st proof) "honest"
            // another module's adapter with the same shape
            let shape2, c2, secret2, st2 = fixedCase (2L, 1L) (cfgOf (16, 32, 64)) 22
            Expect.isError (CallProof.verify TestParameters.pedersen { st with Adapter = c2 } proof) "other adapter commitment"
            let proof2 = CallProof.prove TestParameters.pedersen st2 secret2 |> Result.defaultWith failwith
            Expect.isError (CallProof.verify TestParameters.pedersen st proof2) "another module's proof"
            // replays
            Expect.isError (CallProof.verify TestParameters.pedersen { st with Digest = digestOf 99 } proof) "other statement digest"
            let x2 = st.X |> Array.map Array.copy
            x2[0][0] <- x2[0][0] + BigInteger.One
            Expect.isError (CallProof.verify TestParameters.pedersen { st with X = x2 } proof) "other x"
            Expect.isError (CallProof.verify TestParameters.pedersen { st with Num = big 1; Den = big 1 } proof) "other scaling"
            // a prover whose challenges skipped one absorbed part
            for part in CallProof.absorbedParts do
                let forged =
                    CallProof.proveWithValues TestParameters.pedersen { cheat with Omit = Some part } st secret ignore |> Result.defaultWith failwith
                Expect.isError (CallProof.verify TestParameters.pedersen st forged) (sprintf "challenges without %s" part)

        testCase "verifyMany: one shared final check accepts honest batches and rejects a bad member" <| fun () ->
            let _, _, s1, st1 = fixedCase (2L, 1L) (cfgOf (16, 32, 64)) 51
            let _, _, s2, st2 = fixedCase (-3L, 4L) (cfgOf (8, 16, 40)) 52
            let _, _, s3, st3 = fixedCase (1L, 3L) (cfgOf (20, 63, 127)) 53
            let p1 = CallProof.prove TestParameters.pedersen st1 s1 |> Result.defaultWith failwith
            let p2 = CallProof.prove TestParameters.pedersen st2 s2 |> Result.defaultWith failwith
            let p3 = CallProof.prove TestParameters.pedersen st3 s3 |> Result.defaultWith failwith
            Expect.equal (CallProof.verifyMany TestParameters.pedersen [| st1, p1; st2, p2; st3, p3 |]) (Ok()) "three honest proofs"
            Expect.equal (CallProof.verifyMany TestParameters.pedersen [| st1, p1 |]) (Ok()) "one proof"
            Expect.equal (CallProof.verifyMany TestParameters.pedersen [||]) (Ok()) "empty batch"
            Expect.isError (CallProof.verifyMany TestParameters.pedersen [| st1, p1; st2, p3; st3, p3 |]) "a proof under another statement"
            // a final IPA scalar changed: every transcript check passes, only the shared MSM fails
            let bad = { p2 with Constraint = { p2.Constraint with Ipa = { p2.Constraint.Ipa with A = p2.Constraint.Ipa.A + Fp.One } } }
            Expect.isError (CallProof.verify TestParameters.pedersen st2 bad) "alone"
            Expect.isError (CallProof.verifyMany TestParameters.pedersen [| st1, p1; st2, bad; st3, p3 |]) "in a batch"
            // two proofs whose final-check errors could cancel under fixed weights: +1 and −1 on the same scalar
            let badPlus = { p1 with Constraint = { p1.Constraint with Ipa = { p1.Constraint.Ipa with B = p1.Constraint.Ipa.B + Fp.One } } }
            let badMinus = { p1 with Constraint = { p1.Constraint with Ipa = { p1.Constraint.Ipa with B = p1.Constraint.Ipa.B - Fp.One } } }
            Expect.isError (CallProof.verifyMany TestParameters.pedersen [| st1, badPlus; st1, badMinus |]) "opposite errors do not cancel"

        testCase "adapter proof verifyMany: one shared final check accepts honest batches and rejects a bad member" <| fun () ->
            let make (i, r, o) cfg (seed: int) =
                let rnd = Random(seed)
                let lo, hi = AdapterProof.adapterRange cfg
                let w () = BigInteger.Max(lo, BigInteger.Min(hi, big (rnd.NextInt64(-5000L, 5001L))))
                let shape : AdapterProof.AdapterShape = { InDim = i; Rank = r; OutDim = o; Config = cfg }
                let c, secret = AdapterProof.commit TestParameters.pedersen shape (Array.init r (fun _ -> Array.init i (fun _ -> w ()))) (Array.init o (fun _ -> Array.init r (fun _ -> w ()))) |> Result.defaultWith failwith
                shape, c, AdapterProof.prove TestParameters.pedersen shape c secret |> Result.defaultWith failwith
            let s1, c1, p1 = make (3, 2, 2) (cfgOf (8, 16, 40)) 61
            let s2, c2, p2 = make (2, 1, 3) (cfgOf (20, 63, 127)) 62
            let s3, c3, p3 = make (4, 2, 1) (cfgOf (16, 32, 64)) 63
            Expect.equal (AdapterProof.verifyMany TestParameters.pedersen [| s1, c1, p1; s2, c2, p2; s3, c3, p3 |]) (Ok()) "three honest proofs"
            Expect.equal (AdapterProof.verifyMany TestParameters.pedersen [||]) (Ok()) "empty batch"
            Expect.isError (AdapterProof.verifyMany TestParameters.pedersen [| s1, c1, p1; s2, c3, p2 |]) "a proof for another commitment"
            let bad = { p2 with Proof = { p2.Proof with Ipa = { p2.Proof.Ipa with A = p2.Proof.Ipa.A + Fp.One } } }
            Expect.isError (AdapterProof.verify TestParameters.pedersen s2 c2 bad) "final scalar changed, alone"
            Expect.isError (AdapterProof.verifyMany TestParameters.pedersen [| s1, c1, p1; s2, c2, bad; s3, c3, p3 |]) "final scalar changed, in a batch"
            let plus = { p1 with Proof = { p1.Proof with Ipa = { p1.Proof.Ipa with B = p1.Proof.Ipa.B + Fp.One } } }
            let minus = { p1 with Proof = { p1.Proof with Ipa = { p1.Proof.Ipa with B = p1.Proof.Ipa.B - Fp.One } } }
            Expect.isError (AdapterProof.verifyMany TestParameters.pedersen [| s1, c1, plus; s1, c1, minus |]) "opposite errors do not cancel"

        testCase "proof encoding: byte flips, truncation and extension are rejected" <| fun () ->
            let _, _, secret, st = fixedCase (2L, 1L) (cfgOf (8, 16, 40)) 31
            let proof = CallProof.prove TestParameters.pedersen st secret |> Result.defaultWith failwith
            let bytes = CallProof.encode proof
            Expect.equal (bytes.Length % 32) 0 "32-byte fields"
            let rnd = Random(5)
            for field in 0 .. bytes.Length / 32 - 1 do
                let flipped = Array.copy bytes
                let pos = field * 32 + rnd.Next 32
                flipped[pos] <- flipped[pos] ^^^ (1uy <<< rnd.Next 8)
                let ok =
                    match CallProof.decode st flipped with
                    | Error _ -> false
                    | Ok p -> verifies st p
                Expect.isFalse ok (sprintf "flip in field %d (byte %d) rejected" field pos)
            for len in 0 .. bytes.Length - 1 do
                Expect.isError (CallProof.decode st (Array.sub bytes 0 len)) (sprintf "truncated to %d" len)
            Expect.isError (CallProof.decode st (Array.append bytes [| 0uy |])) "extended"
            Expect.isError (CallProof.decode st null) "null"
            // all-zero bytes decode to identity points and zero scalars: rejected, no exception
            match CallProof.decode st (Array.zeroCreate bytes.Length) with
            | Error _ -> ()
            | Ok p -> Expect.isError (CallProof.verify TestParameters.pedersen st p) "the all-identity proof"
            // a proof whose limb commitment cancels every other commitment (P0 = identity at λ = 1)
            let cancel = Vesta.neg (Vesta.ofAffine st.Adapter + Vesta.ofAffine proof.P + Vesta.ofAffine proof.Q + Vesta.ofAffine proof.V + Vesta.ofAffine proof.Inverses)
            Expect.isError (CallProof.verify TestParameters.pedersen st { proof with Limbs = Vesta.toAffine cancel }) "limb commitment cancelling the others"
    ]
