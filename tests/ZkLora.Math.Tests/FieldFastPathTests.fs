/// Tests for the specialised field arithmetic: the shape-specialised Montgomery
/// multiplication and squaring against a textbook CIOS reference and BigInteger, the
/// safegcd inversion against Fermat, and batch inversion. Operands are raw Montgomery
/// limbs, so carry-heavy edge patterns (all-ones limbs, values next to p and to limb
/// boundaries) are hit directly rather than through the R-conversion.
module ZkLora.Math.Tests.FieldFastPathTests

open System
open System.Numerics
open Expecto
open ZkLora.Math
open ZkLora.Math.Fields
open ZkLora.Math.Tests.Generators

let private raw (x: FieldElement<'P>) = Mont256.bigOf x.L0 x.L1 x.L2 x.L3

let private ofRaw<'P when 'P :> IFieldParams and 'P: struct> (v: BigInteger) =
    let struct (a, b, c, d) = Mont256.limbsOf v
    FieldElement<'P>(a, b, c, d)

/// A modulus of a different shape, so the general branches of the limb-shape shortcuts run
/// too: the BLS12-381 scalar field r (all four limbs non-zero, top limb 0x73ed… < 2^63).
[<Struct>]
type Bls12Scalar =
    interface IFieldParams with
        static member P0 = 0xffffffff00000001UL
        static member P1 = 0x53bda402fffe5bfeUL
        static member P2 = 0x3339d80809a1d805UL
        static member P3 = 0x73eda753299d7d48UL
        static member Inv = 0xfffffffeffffffffUL
        static member TwoAdicity = 32
        static member MultiplicativeGenerator = 7UL
        static member Name = "BLS12-381 Fr"

type private Bls12Arbs =
    static member Fr() = FsCheck.FSharp.Arb.fromGen fieldElement<Bls12Scalar>

let private configWithBls = { config with arbitrary = typeof<Bls12Arbs> :: config.arbitrary }

/// Raw limb values below p that stress carries: 0, 1, p-1, p-2, 2^64-1, all-ones limbs,
/// powers of two at limb boundaries, and values just under p in every limb.
let edgeRaw (p: BigInteger) =
    let one = BigInteger.One
    let w = one <<< 64
    let c = p - (one <<< 254) // p = 2^254 + c for both Pasta primes (any p > 2^254 works here)
    [ BigInteger.Zero; one; BigInteger 2; p - one; p - BigInteger 2; (p - one) / BigInteger 2; (p + one) / BigInteger 2
      w - one; w; (one <<< 128) - one; one <<< 128; (one <<< 192) - one; one <<< 192
      (one <<< 254) - one // limbs: all ones, all ones, all ones, 2^62 - 1
      one <<< 254
      (one <<< 254) + (c / w - one) * w + (w - one) // limb 0 all ones, just below p
      p - w; p - (one <<< 128); p - (one <<< 192); p - c ]
    |> List.filter (fun v -> v.Sign >= 0 && v < p)
    |> List.distinct

let private fastPaths<'P when 'P :> IFieldParams and 'P: struct> name =
    let p = FieldElement<'P>.Modulus
    let rInv = BigInteger.ModPow(BigInteger.ModPow(BigInteger 2, BigInteger 256, p), p - BigInteger 2, p)
    let edges = edgeRaw p |> List.map ofRaw<'P>
    testList (sprintf "%s fast paths" name) [
        test "mul equals the textbook reference and BigInteger on edge limbs" {
            Expect.isGreaterThanOrEqual edges.Length 15 "edge values below p"
            for a in edges do
                for b in edges do
                    let fast = a * b
                    Expect.equal fast (FieldElement<'P>.MulReference(a, b)) (sprintf "reference %O %O" (raw a) (raw b))
                    Expect.equal (raw fast) (raw a * raw b * rInv % p) (sprintf "BigInteger %O %O" (raw a) (raw b))
        }
        test "square equals mul by self on edge limbs" {
            for a in edges do
                Expect.equal (a.Square()) (a * a) (sprintf "square %O" (raw a))
                Expect.equal (a.Square()) (FieldElement<'P>.MulReference(a, a)) (sprintf "reference %O" (raw a))
        }
        test "add, sub and neg agree with BigInteger on edge limbs" {
            for a in edges do
                Expect.equal (raw (-a)) ((p - raw a) % p) (sprintf "neg %O" (raw a))
                for b in edges do
                    Expect.equal (raw (a + b)) ((raw a + raw b) % p) "add"
                    Expect.equal (raw (a - b)) (((raw a - raw b) % p + p) % p) "sub"
        }
        testPropertyWithConfig configWithBls "mul equals the reference" <| fun (a: FieldElement<'P>) (b: FieldElement<'P>) ->
            a * b = FieldElement<'P>.MulReference(a, b)
        testPropertyWithConfig configWithBls "square equals mul by self" <| fun (a: FieldElement<'P>) ->
            a.Square() = a * a
        testPropertyWithConfig configWithBls "inversion agrees with Fermat" <| fun (a: FieldElement<'P>) ->
            a.IsZero || (a.Invert() = a.InvertFermat() && a * a.Invert() = FieldElement<'P>.One)
        test "inversion agrees with Fermat on edge limbs" {
            for a in edges do
                if not a.IsZero then
                    Expect.equal (a.Invert()) (a.InvertFermat()) (sprintf "inverse of %O" (raw a))
        }
        test "safegcd maps zero to zero (no early exit inside)" {
            Expect.equal (FieldElement<'P>.Zero.InvertOrZero()) FieldElement<'P>.Zero "0"
            Expect.isTrue (FieldElement<'P>.Zero.TryInvert().IsNone) "TryInvert 0"
        }
        test "inverse of the inverse, and of -1" {
            let minusOne = -FieldElement<'P>.One
            Expect.equal (minusOne.Invert()) minusOne "(-1)^-1 = -1"
            for a in edges do
                if not a.IsZero then Expect.equal (a.Invert().Invert()) a "involution"
        }
        test "batch inversion of 4096 (with zeros) matches single inversions" {
            let rnd = Random 7
            let xs =
                Array.init 4096 (fun i ->
                    if i % 97 = 0 then FieldElement<'P>.Zero
                    else
                        let b = Array.zeroCreate<byte> 32
                        rnd.NextBytes b
                        FieldElement<'P>.OfBigInteger(BigInteger(ReadOnlySpan b, true, false)))
            let ys = Array.copy xs
            FieldElement<'P>.BatchInvert(Span ys)
            for i in 0 .. xs.Length - 1 do
                if xs[i].IsZero then Expect.isTrue ys[i].IsZero "zero stays zero"
                else Expect.equal ys[i] (xs[i].Invert()) (sprintf "element %d" i)
        }
    ]

[<Tests>]
let tests =
    testList "fields" [
        fastPaths<PallasBase> "Fp"
        fastPaths<VestaBase> "Fq"
        fastPaths<Bls12Scalar> "BLS12-381 Fr (general-shape modulus)"
    ]
