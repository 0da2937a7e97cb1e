/// Inner product argument: algebra over the test-only additive group (and the whole
/// PLONK protocol on top of it). The same code runs over Vesta in the curve tests.
module ZkLora.Math.Tests.IpaTests

open System
open Expecto
open ZkLora.Math
open ZkLora.Math.Plonk
open ZkLora.Math.Tests.Generators
open ZkLora.Math.Tests.PlonkCircuits
open ZkLora.Math.Transcript
open ZkLora.Math.Commitment
open ZkLora.Math.Poly

let private transcript () = new Blake3Transcript("ipa test") :> ITranscript

let private evalCoeffs (c: Fp[]) (x: Fp) = Array.foldBack (fun v acc -> acc * x + v) c Fp.Zero

let ipaSuite (name: string) (group: IGroup<'G>) =
    let ipa = Ipa.IpaCommitmentScheme<'G>(group, 12)
    let pcs = ipa :> ICommitmentScheme<'G>
    /// Opens random coefficients at z; returns (commitment, value, proof bytes).
    let openRandom k (coeffs: Fp[]) (z: Fp) =
        let blind = Fp.Random()
        let c = pcs.Commit(k, coeffs, blind)
        let w = ProofWriter(transcript ())
        pcs.Open(k, w, coeffs, blind, z)
        c, evalCoeffs coeffs z, w.ToArray()
    let check k c z v (proof: byte[]) =
        let r = ProofReader(transcript (), proof)
        match pcs.Verify(k, r, c, z, v) with
        | Error e -> Error e
        | Ok chk ->
            try
                r.Finish()
                if pcs.Decide [| chk |] then Ok chk else Error "equation fails"
            with e -> Error e.Message
    let other = (group.Generators("ipa test other point", 1))[0]
    testList name [
        testPropertyWithConfig config "L(z) sums to 1 and ⟨values, L(z)⟩ = p(z)" <| fun (vals: Fp list) (z: Fp) ->
            let k = 3
            let coeffs = Array.init 8 (fun i -> if i < vals.Length then vals[i] else fp (int64 i))
            let values = Array.copy coeffs
            PolyOps.fft values
            let b = PolyOps.lagrangeBasis (1 <<< k) z
            Array.fold (+) Fp.Zero b = Fp.One
            && Array.fold2 (fun acc (v: Fp) bi -> acc + v * bi) Fp.Zero values b = evalCoeffs coeffs z
        test "L at a root of unity is an indicator" {
            let w = Fp.RootOfUnity 3
            let b = PolyOps.lagrangeBasis 8 (w.Pow 5UL)
            Expect.equal b (Array.init 8 (fun i -> if i = 5 then Fp.One else Fp.Zero)) "indicator"
        }
        testPropertyWithConfig config "folding scalars match explicit generator folding" <| fun (u1: Fp) (u2: Fp) (u3: Fp) ->
            let gs = Array.init 8 (fun i -> fp (int64 (i * i + 11)))
            let mutable g = gs
            for u in [ u1; u2; u3 ] do
                let half = g.Length / 2
                g <- Array.init half (fun i -> g[i] + u * g[half + i])
            let s = Ipa.foldingScalars [| u1; u2; u3 |]
            g[0] = Array.fold2 (fun acc (a: Fp) b -> acc + a * b) Fp.Zero s gs
        test "an opening of a linear combination verifies from its terms, and only with the right terms" {
            let k = 4
            let a = Array.init 16 (fun i -> fp (int64 (5 * i + 1)))
            let b = Array.init 16 (fun i -> fp (int64 (i * i + 2)))
            let s1, s2 = Fp.Random(), Fp.Random()
            let ra, rb = Fp.Random(), Fp.Random()
            let ca, cb = pcs.Commit(k, a, ra), pcs.Commit(k, b, rb)
            let combined = Array.init 16 (fun i -> s1 * a[i] + s2 * b[i])
            let z = Fp.Random()
            let w = ProofWriter(transcript ())
            pcs.Open(k, w, combined, s1 * ra + s2 * rb, z)
            let proof = w.ToArray()
            let v = evalCoeffs combined z
            let decide scalars commitments value =
                let r = ProofReader(transcript (), proof)
                match pcs.VerifyCombination(k, r, scalars, commitments, z, value) with
                | Ok chk -> r.Finish(); pcs.Decide [| chk |]
                | Error _ -> false
            Expect.isTrue (decide [| s1; s2 |] [| ca; cb |] v) "terms"
            Expect.isTrue (decide [| Fp.One |] [| pcs.Combine([| s1; s2 |], [| ca; cb |]) |] v) "formed combination"
            Expect.isFalse (decide [| s1; s2 + Fp.One |] [| ca; cb |] v) "wrong scalar"
            Expect.isFalse (decide [| s1; s2 |] [| ca; other |] v) "wrong commitment"
            Expect.isFalse (decide [| s1; s2 |] [| ca; cb |] (v + Fp.One)) "wrong value"
            Expect.throwsT<ArgumentException> (fun () -> decide [| s1 |] [| ca; cb |] v |> ignore) "length mismatch"
        }
        testPropertyWithConfig { config with maxTest = 30 } "openings verify" <| fun (vals: Fp list) (z: Fp) ->
            let k = 4
            let coeffs = Array.init 16 (fun i -> if i < vals.Length then vals[i] else fp (int64 (3 * i)))
            let c, v, proof = openRandom k coeffs z
            Result.isOk (check k c z v proof)
        test "wrong values, wrong points, wrong commitments and tampered proofs are rejected" {
            let k = 4
            let coeffs = Array.init 16 (fun i -> fp (int64 (i * 5 + 1)))
            let z = fp 1234567L
            let c, v, proof = openRandom k coeffs z
            Expect.isOk (check k c z v proof) "valid"
            Expect.isError (check k c z (v + Fp.One) proof) "wrong value"
            Expect.isError (check k c (z + Fp.One) v proof) "wrong point"
            Expect.isError (check k (group.Add(c, other)) z v proof) "wrong commitment"
            for i in 0 .. proof.Length - 1 do
                let bad = Array.copy proof
                bad[i] <- bad[i] ^^^ 0x01uy
                Expect.isError (check k c z v bad) (sprintf "bit flip at byte %d" i)
            Expect.isError (check k c z v (Array.append proof [| 0uy |])) "trailing byte"
            Expect.isError (check k c z v proof[.. proof.Length - 2]) "truncated"
        }
        test "proof size is 2k + 1 group elements and 2 scalars" {
            let k = 5
            let _, _, proof = openRandom k (Array.init 32 (fun i -> fp (int64 i))) (fp 99L)
            Expect.equal proof.Length (group.EncodedSize * (2 * k + 1) + 64) "size"
        }
        test "openings of the same polynomial differ (fresh blinding)" {
            let k = 3
            let coeffs = Array.init 8 (fun i -> fp (int64 i))
            let _, _, p1 = openRandom k coeffs (fp 5L)
            let _, _, p2 = openRandom k coeffs (fp 5L)
            Expect.notEqual p1 p2 "randomized"
        }
        test "batched decisions: all valid pass, one invalid fails" {
            let k = 4
            let mk i =
                let coeffs = Array.init 16 (fun j -> fp (int64 (i * 100 + j)))
                let z = fp (int64 (7 + i))
                let c, v, proof = openRandom k coeffs z
                c, z, v, proof
            let items = Array.init 4 mk
            let deferred (c, z, v, proof) =
                match pcs.Verify(k, ProofReader(transcript (), proof), c, z, v) with
                | Ok chk -> chk
                | Error e -> failtest e
            Expect.isTrue (pcs.Decide(items |> Array.map deferred)) "valid batch"
            let (c, z, v, proof) = items[2]
            let bad = Array.copy items
            bad[2] <- (c, z, v + Fp.One, proof)
            Expect.isFalse (pcs.Decide(bad |> Array.map deferred)) "one invalid"
        }
        test "PLONK over the IPA (test group): prove, verify, reject tampering" {
            let xs = Array.init 5 (fun i -> fp (int64 (i * 3 + 2)))
            let c = squares xs noCheat
            let pk =
                match Keys.keygen pcs c 5 with
                | Ok pk -> pk
                | Error e -> failtest e
            let inst = squaresInstances xs
            let proof =
                match Prover.prove pcs pk c inst with
                | Ok p -> p
                | Error e -> failtest e
            Expect.equal (Verifier.verify pcs pk.Vk inst proof) (Ok()) "valid"
            let rng = Random 11
            for _ in 1 .. 100 do
                let bad = Array.copy proof
                let i = rng.Next proof.Length
                bad[i] <- bad[i] ^^^ byte (1 + rng.Next 255)
                Expect.isError (Verifier.verify pcs pk.Vk inst bad) (sprintf "byte %d" i)
            let vs = [| 1L; 5L; 9L |]
            let rc = rangeSum 4 vs noCheat
            let rpk =
                match Keys.keygen pcs rc 6 with
                | Ok pk -> pk
                | Error e -> failtest e
            let rinst = [| [| fp 15L |] |]
            let rproof =
                match Prover.prove pcs rpk rc rinst with
                | Ok p -> p
                | Error e -> failtest e
            Expect.equal (Verifier.verify pcs rpk.Vk rinst rproof) (Ok()) "lookup circuit"
            let cheat = rangeSum 4 vs (fun j v -> if j = 0 then Value.ofInt64 20L else v)
            match Prover.proveUnchecked pcs rpk cheat [| [| fp 34L |] |] with
            | Ok p -> Expect.isError (Verifier.verify pcs rpk.Vk [| [| fp 34L |] |] p) "cheating lookup"
            | Error e -> failtest e
        }
    ]

[<Tests>]
let testGroupTests = ipaSuite "ipa (test group)" TestGroup.group

[<Tests>]
let vestaTests = ipaSuite "ipa (Vesta)" VestaIpa.group

[<Tests>]
let vestaFoldTests =
    testList "vesta generator folding" [
        testPropertyWithConfig { config with maxTest = 4 } "batch-affine fold equals projective arithmetic" <| fun (u: Fp) (seed: int) ->
            // one chunk, a few chunks, many chunks
            [ 20; 130; 600 ] |> List.forall (fun half ->
                let gs = Vesta.generators (sprintf "fold test %d" seed) (2 * half)
                // exceptional entries: identities, lo = hi, lo = -hi·u (sum is the identity)
                gs[3] <- VestaAffine.Identity
                gs[half + 5] <- VestaAffine.Identity
                gs[7] <- gs[half + 7]
                gs[9] <- (Vesta.OfAffine(gs[half + 9]).MulVartime(-u)).ToAffine()
                let folded = VestaIpa.group.Fold(gs, half, u)
                let expected = Array.init half (fun i -> (Vesta.OfAffine(gs[half + i]).MulVartime(u).AddAffine(gs[i])).ToAffine())
                folded = expected)
        test "small folds and u = 0" {
            let gs = Vesta.generators "fold small" 16
            Expect.equal (VestaIpa.group.Fold(gs, 8, Fp.Zero)) gs[.. 7] "u = 0"
            let u = Fp.OfInt64 12345L
            Expect.equal (VestaIpa.group.Fold(gs, 8, u)) (Array.init 8 (fun i -> (Vesta.OfAffine(gs[8 + i]).MulVartime(u).AddAffine(gs[i])).ToAffine())) "small"
        }
    ]
