module ZkLora.Math.Tests.FieldTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open Expecto
open ZkLora.Math
open ZkLora.Math.Tests.Generators

let private big (s: string) = BigInteger.Parse("0" + s.Substring 2, Globalization.NumberStyles.HexNumber)

/// Known answers from tests/vectors/pasta_fields.py (Python big integers, not this code).
let private vectors = lazy (JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "pasta_fields.json"))))

let private knownAnswers<'P when 'P :> IFieldParams and 'P: struct> (key: string) =
    let f = FieldElement<'P>.OfBigInteger
    testList (sprintf "%s known answers (Python)" key) [
        test "modulus" {
            let v = vectors.Value.RootElement.GetProperty(key)
            Expect.equal FieldElement<'P>.Modulus (big (v.GetProperty("modulus").GetString())) "modulus"
        }
        test "add sub mul neg square inv pow" {
            let v = vectors.Value.RootElement.GetProperty(key)
            for op in v.GetProperty("ops").EnumerateArray() do
                let get (name: string) = big (op.GetProperty(name).GetString())
                let a, b = f (get "a"), f (get "b")
                Expect.equal ((a + b).ToBigInteger()) (get "add") "add"
                Expect.equal ((a - b).ToBigInteger()) (get "sub") "sub"
                Expect.equal ((a * b).ToBigInteger()) (get "mul") "mul"
                Expect.equal ((-a).ToBigInteger()) (get "neg") "neg"
                Expect.equal (a.Square().ToBigInteger()) (get "square") "square"
                Expect.equal ((a.Pow(get "e")).ToBigInteger()) (get "pow") "pow"
                match op.GetProperty("inv").ValueKind with
                | JsonValueKind.Null -> Expect.isTrue (a.TryInvert().IsNone) "zero has no inverse"
                | _ -> Expect.equal (a.Invert().ToBigInteger()) (get "inv") "inv"
                let isSquare = op.GetProperty("is_square").GetBoolean()
                match a.Sqrt() with
                | ValueSome r -> Expect.isTrue isSquare "sqrt found for a square only"; Expect.equal (r * r) a "sqrt squares back"
                | ValueNone -> Expect.isFalse isSquare "sqrt missing only for non-residues"
                Expect.equal (Convert.ToHexString(a.ToBytes()).ToLowerInvariant()) (op.GetProperty("bytes_le").GetString()) "encoding"
        }
        test "roots of unity" {
            let v = vectors.Value.RootElement.GetProperty(key)
            Expect.equal ((FieldElement<'P>.RootOfUnity 32).ToBigInteger()) (big (v.GetProperty("root_of_unity_2_32").GetString())) "2^32"
            Expect.equal ((FieldElement<'P>.RootOfUnity 10).ToBigInteger()) (big (v.GetProperty("root_of_unity_2_10").GetString())) "2^10"
            Expect.equal (big (v.GetProperty("mont_inv").GetString())) (BigInteger 'P.Inv) "Montgomery constant"
        }
        test "wide reduction" {
            let v = vectors.Value.RootElement.GetProperty(key)
            for w in v.GetProperty("wide_reduce").EnumerateArray() do
                let bytes = Convert.FromHexString(w.GetProperty("bytes_le").GetString())
                Expect.equal ((FieldElement<'P>.OfUniformBytes(ReadOnlySpan bytes)).ToBigInteger()) (big (w.GetProperty("value").GetString())) "wide"
        }
    ]

let private laws<'P when 'P :> IFieldParams and 'P: struct> name =
    let one = FieldElement<'P>.One
    let zero = FieldElement<'P>.Zero
    testList (sprintf "%s laws" name) [
        testPropertyWithConfig config "add commutative, associative" <| fun (a: FieldElement<'P>) b c ->
            a + b = b + a && (a + b) + c = a + (b + c)
        testPropertyWithConfig config "mul commutative, associative" <| fun (a: FieldElement<'P>) b c ->
            a * b = b * a && (a * b) * c = a * (b * c)
        testPropertyWithConfig config "distributive" <| fun (a: FieldElement<'P>) b c ->
            a * (b + c) = a * b + a * c
        testPropertyWithConfig config "identities and inverses" <| fun (a: FieldElement<'P>) ->
            a + zero = a && a * one = a && a + (-a) = zero && a - a = zero
            && (a.IsZero || a * a.Invert() = one)
        testPropertyWithConfig config "agrees with BigInteger" <| fun (a: FieldElement<'P>) (b: FieldElement<'P>) ->
            let m = FieldElement<'P>.Modulus
            let x, y = a.ToBigInteger(), b.ToBigInteger()
            (a * b).ToBigInteger() = (x * y) % m && (a + b).ToBigInteger() = (x + y) % m
            && (a - b).ToBigInteger() = ((x - y) % m + m) % m
        testPropertyWithConfig config "encode/decode round trip" <| fun (a: FieldElement<'P>) ->
            FieldElement<'P>.TryReadBytes(ReadOnlySpan(a.ToBytes())) = Ok a
        testPropertyWithConfig config "BigInteger round trip, negatives reduce" <| fun (a: FieldElement<'P>) ->
            let x = a.ToBigInteger()
            FieldElement<'P>.OfBigInteger x = a && FieldElement<'P>.OfBigInteger(x - FieldElement<'P>.Modulus) = a
        testPropertyWithConfig config "sqrt of a square" <| fun (a: FieldElement<'P>) ->
            match (a * a).Sqrt() with
            | ValueSome r -> r = a || r = -a
            | ValueNone -> false
        testPropertyWithConfig config "int64 conversion" <| fun (v: int64) ->
            FieldElement<'P>.OfInt64 v = FieldElement<'P>.OfBigInteger(BigInteger v)
        testPropertyWithConfig config "batch inversion matches single inversions" <| fun (xs: FieldElement<'P> list) ->
            let arr = List.toArray xs
            FieldElement<'P>.BatchInvert(Span arr)
            Array.forall2 (fun (x: FieldElement<'P>) (y: FieldElement<'P>) -> if x.IsZero then y.IsZero else x * y = one) (List.toArray xs) arr
        test "generator is a non-residue and root of unity has exact order" {
            Expect.isTrue (FieldElement<'P>.Generator.Sqrt().IsNone) "5 is a non-residue"
            let w = FieldElement<'P>.RootOfUnity 32
            Expect.equal (w.Pow(1UL <<< 32)) one "w^(2^32) = 1"
            Expect.notEqual (w.Pow(1UL <<< 31)) one "w^(2^31) != 1"
        }
        test "random elements differ and are reduced" {
            let xs = Array.init 64 (fun _ -> FieldElement<'P>.Random())
            Expect.equal (xs |> Array.distinct |> Array.length) 64 "64 CSPRNG draws are distinct"
            for x in xs do Expect.isLessThan (x.ToBigInteger()) FieldElement<'P>.Modulus "reduced"
        }
    ]

let private badInput<'P when 'P :> IFieldParams and 'P: struct> name =
    let m = FieldElement<'P>.Modulus
    let le (v: BigInteger) = let b = v.ToByteArray(true, false) in Array.append b (Array.zeroCreate (32 - b.Length))
    testList (sprintf "%s rejects bad encodings" name) [
        test "modulus itself is non-canonical" {
            Expect.isError (FieldElement<'P>.TryReadBytes(ReadOnlySpan(le m))) "p"
        }
        test "p + 1 and 2^256 - 1 are non-canonical" {
            Expect.isError (FieldElement<'P>.TryReadBytes(ReadOnlySpan(le (m + BigInteger.One)))) "p+1"
            Expect.isError (FieldElement<'P>.TryReadBytes(ReadOnlySpan(Array.create 32 0xFFuy))) "all ones"
        }
        test "p - 1 is canonical" {
            Expect.isOk (FieldElement<'P>.TryReadBytes(ReadOnlySpan(le (m - BigInteger.One)))) "p-1"
        }
        test "wrong lengths" {
            Expect.isError (FieldElement<'P>.TryReadBytes(ReadOnlySpan(Array.zeroCreate 31))) "31"
            Expect.isError (FieldElement<'P>.TryReadBytes(ReadOnlySpan(Array.zeroCreate 33))) "33"
            Expect.isError (FieldElement<'P>.TryReadBytes(ReadOnlySpan<byte>.Empty)) "0"
        }
        test "inverting zero throws a clear error" {
            Expect.throwsT<DivideByZeroException> (fun () -> FieldElement<'P>.Zero.Invert() |> ignore) "zero"
        }
    ]

[<Tests>]
let tests =
    testList "fields" [
        knownAnswers<PallasBase> "fp"
        knownAnswers<VestaBase> "fq"
        laws<PallasBase> "Fp"
        laws<VestaBase> "Fq"
        badInput<PallasBase> "Fp"
        badInput<VestaBase> "Fq"
        test "module API (Fp/Fq functions named in the issue)" {
            let a = Fp.ofBigInteger (BigInteger 12345)
            Expect.equal (Fp.toBigInteger (Fp.mul a (Fp.inv a))) BigInteger.One "Fp.inv"
            Expect.equal (Fp.sqrt (Fp.mul a a) |> Option.map (fun r -> Fp.mul r r)) (Some (Fp.mul a a)) "Fp.sqrt"
            Expect.equal (Fp.ofBytes (Fp.toBytes a)) (Ok a) "Fp.ofBytes"
            Expect.equal (Fq.toBigInteger (Fq.pow (Fq.ofUInt64 3UL) (BigInteger 5))) (BigInteger 243) "Fq.pow"
            Expect.isNone (Fq.sqrt Fq.generator) "Fq.sqrt non-residue"
            Expect.equal (Fq.sub Fq.zero Fq.one |> Fq.toBigInteger) (Fq.modulus - BigInteger.One) "Fq.sub"
        }
    ]
