module ZkLora.Proofs.Tests.PoseidonTests

open System
open System.Numerics
open System.Text.Json
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Proofs.Tests.ProofsKat

/// Constants and vectors transcribed from zcash/halo2 (see tests/vectors/poseidon_pasta_fp.py).
let private vectors = load "poseidon_pasta_fp.json"

let private elems<'P when 'P :> IFieldParams and 'P: struct> (e: JsonElement) =
    strings e |> Array.map (hex >> FieldElement<'P>.OfBigInteger)

let private table<'P when 'P :> IFieldParams and 'P: struct> (e: JsonElement) =
    [| for row in e.EnumerateArray() -> elems<'P> row |]

let private constantsMatch<'P when 'P :> IFieldParams and 'P: struct> (key: string) =
    test (sprintf "Grain-generated %s constants equal halo2's (all 192 round constants, MDS, MDS^-1)" key) {
        let v = vectors.Value.GetProperty key
        Expect.equal FieldElement<'P>.Modulus (hex (v.GetProperty("modulus").GetString())) "modulus"
        let c = PoseidonConstants.generate<'P> PoseidonConstants.p128Pow5T3Spec
        Expect.equal (v.GetProperty("secure_mds").GetInt32()) c.Spec.SecureMdsIndex "secure MDS index"
        Expect.equal c.RoundConstants (table<'P> (v.GetProperty "round_constants")) "round constants"
        Expect.equal c.Mds (table<'P> (v.GetProperty "mds")) "MDS"
        Expect.equal c.MdsInverse (table<'P> (v.GetProperty "mds_inv")) "MDS inverse"
    }

let knownAnswers =
    testList "Poseidon known answers (halo2)" [
        constantsMatch<PallasBase> "fp"
        constantsMatch<VestaBase> "fq"
        test "first and last Fp round constants (spot check of the transcription)" {
            let c = Poseidon.constants ()
            Expect.equal ((c.RoundConstants[0][0]).ToBigInteger()) (hex "0x360d7470611e473d353f628f76d110f34e71162f31003b7057538c2596426303") "rc[0][0]"
            Expect.equal ((c.Mds[0][0]).ToBigInteger()) (hex "0x0ab5e5b874a68de7b3d59fbdc8c9ead497d7a0ab23850b56323f2486d7e11b63") "mds[0][0]"
            Expect.equal ((c.RoundConstants[63][2]).ToBigInteger()) (hex ((vectors.Value.GetProperty("fp").GetProperty("round_constants").[63].[2]).GetString())) "rc[63][2]"
        }
        test "permutation vectors (Fp)" {
            let tvs = vectors.Value.GetProperty("fp").GetProperty("permute")
            Expect.isGreaterThan (tvs.GetArrayLength()) 5 "vector count"
            for tv in tvs.EnumerateArray() do
                let input = elems<PallasBase> (tv.GetProperty "initial")
                Expect.equal (Poseidon.permute input) (elems<PallasBase> (tv.GetProperty "final")) "permute"
        }
        test "permutation vectors (Fq, generic instance)" {
            let perm = Pow5T3<VestaBase>(PoseidonConstants.generate<VestaBase> PoseidonConstants.p128Pow5T3Spec)
            for tv in vectors.Value.GetProperty("fq").GetProperty("permute").EnumerateArray() do
                let state = elems<VestaBase> (tv.GetProperty "initial")
                perm.Permute(Span state)
                Expect.equal state (elems<VestaBase> (tv.GetProperty "final")) "permute"
        }
        test "ConstantLength<2> hash vectors" {
            for tv in vectors.Value.GetProperty("fp").GetProperty("hash_constant_length_2").EnumerateArray() do
                let input = elems<PallasBase> (tv.GetProperty "input")
                Expect.equal ((Poseidon.hash input).ToBigInteger()) (hex (tv.GetProperty("output").GetString())) "hash"
        }
        test "ConstantLength<L> for other lengths (Python sponge validated on halo2's vectors)" {
            for tv in vectors.Value.GetProperty("fp").GetProperty("hash_constant_length_other").EnumerateArray() do
                let input = elems<PallasBase> (tv.GetProperty "input")
                Expect.equal ((Poseidon.hash input).ToBigInteger()) (hex (tv.GetProperty("output").GetString())) (sprintf "L = %d" input.Length)
        }
        test "halo2's orchard_spec_equivalence: hash [6; 42] = permute [6; 42; 2·2^64][0]" {
            let m = [| Fp.OfUInt64 6UL; Fp.OfUInt64 42UL |]
            let state = Poseidon.permute [| m[0]; m[1]; Fp.OfBigInteger(BigInteger 2 <<< 64) |]
            Expect.equal (Poseidon.hash m) state[0] "equivalence"
        }
    ]

let private genFp = Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte) |> Gen.map (fun b -> Fp.OfBigInteger(BigInteger(ReadOnlySpan b, isUnsigned = true)))

let properties =
    testList "Poseidon properties" [
        testPropertyWithConfig config "incremental sponge = one-shot hash" (
            Prop.forAll (Arb.fromGen (Gen.choose (1, 9) |> Gen.bind (fun n -> Gen.arrayOfLength n genFp))) (fun msg ->
                let s = Poseidon.sponge (int64 msg.Length)
                for v in msg do s.Absorb v
                s.Finish() = Poseidon.hash msg))
        testPropertyWithConfig config "length is part of the domain: [m] and [m; 0] differ" (
            Prop.forAll (Arb.fromGen genFp) (fun m -> Poseidon.hash [| m |] <> Poseidon.hash [| m; Fp.Zero |]))
        testPropertyWithConfig config "optimised permutation = textbook round function" (
            Prop.forAll (Arb.fromGen (Gen.arrayOfLength 3 genFp)) (fun s ->
                let perm = Poseidon.permutation ()
                let mutable a, b, c = s[0], s[1], s[2]
                let mutable x, y, z = s[0], s[1], s[2]
                perm.Permute(&a, &b, &c)
                perm.PermuteReference(&x, &y, &z)
                perm.IsOptimised && a = x && b = y && c = z))
        test "textbook round function reproduces halo2's permutation vectors too" {
            let perm = Poseidon.permutation ()
            for tv in vectors.Value.GetProperty("fp").GetProperty("permute").EnumerateArray() do
                let s = elems<PallasBase> (tv.GetProperty "initial")
                let mutable a, b, c = s[0], s[1], s[2]
                perm.PermuteReference(&a, &b, &c)
                Expect.equal [| a; b; c |] (elems<PallasBase> (tv.GetProperty "final")) "reference permute"
        }
        testPropertyWithConfig config "changing any one state word changes the output (no aliasing of state words)" (
            Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.arrayOfLength 3 genFp) (Gen.choose (0, 2)) genFp)) (fun (s, i, d) ->
                let t = Array.copy s
                t[i] <- t[i] + d
                d.IsZero || Poseidon.permute s <> Poseidon.permute t))
    ]

let negatives =
    testList "Poseidon rejects misuse" [
        test "empty message" { Expect.throwsT<ArgumentException> (fun () -> Poseidon.hash [||] |> ignore) "L = 0" }
        test "sponge of length 0" { Expect.throwsT<ArgumentException> (fun () -> Poseidon.sponge 0L |> ignore) "length 0" }
        test "absorbing too many" {
            let s = Poseidon.sponge 1L
            s.Absorb Fp.One
            Expect.throwsT<InvalidOperationException> (fun () -> s.Absorb Fp.One) "over-absorb"
        }
        test "finishing early" {
            let s = Poseidon.sponge 2L
            s.Absorb Fp.One
            Expect.throwsT<InvalidOperationException> (fun () -> s.Finish() |> ignore) "under-absorb"
        }
        test "finishing twice" {
            let s = Poseidon.sponge 1L
            s.Absorb Fp.One
            s.Finish() |> ignore
            Expect.throwsT<InvalidOperationException> (fun () -> s.Finish() |> ignore) "twice"
        }
        test "wrong state width" { Expect.throwsT<ArgumentException> (fun () -> Poseidon.permute [| Fp.One |] |> ignore) "width" }
        test "invalid spec" {
            Expect.throwsT<ArgumentException> (fun () -> PoseidonConstants.generate<PallasBase> { PoseidonConstants.p128Pow5T3Spec with FullRounds = 7 } |> ignore) "odd R_F"
            let c5 = PoseidonConstants.generate<PallasBase> { PoseidonConstants.p128Pow5T3Spec with Width = 5; Rate = 4 }
            Expect.throwsT<ArgumentException> (fun () -> Pow5T3<PallasBase>(c5) |> ignore) "width 5 in Pow5T3"
        }
        test "singular matrix has no inverse" {
            let z = Fp.Zero
            Expect.isNone (PoseidonConstants.invertMatrix [| [| Fp.One; Fp.One |]; [| Fp.One; Fp.One |] |]) "singular"
            Expect.isSome (PoseidonConstants.invertMatrix [| [| z; Fp.One |]; [| Fp.One; z |] |]) "needs pivoting"
        }
    ]

[<Tests>]
let tests = testList "Poseidon" [ knownAnswers; properties; negatives ]
