/// FsCheck generators shared by the math tests.
module ZkLora.Math.Tests.Generators

open System.Numerics
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math

/// Uniform-ish field elements plus the edge values that break carry logic.
let fieldElement<'P when 'P :> IFieldParams and 'P: struct> : Gen<FieldElement<'P>> =
    let m = FieldElement<'P>.Modulus
    let edge =
        [ BigInteger.Zero; BigInteger.One; m - BigInteger.One; m - BigInteger 2
          (BigInteger.One <<< 64) - BigInteger.One; BigInteger.One <<< 128; (m - BigInteger.One) / BigInteger 2 ]
        |> List.map FieldElement<'P>.OfBigInteger
    let random =
        Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte)
        |> Gen.map (fun bytes -> FieldElement<'P>.OfBigInteger(BigInteger(System.ReadOnlySpan bytes, true, false)))
    Gen.frequency [ 1, Gen.elements edge; 6, random ]

type FieldArbs =
    static member Fp() = Arb.fromGen fieldElement<PallasBase>
    static member Fq() = Arb.fromGen fieldElement<VestaBase>

let config = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<FieldArbs> ]; maxTest = 200 }
