module ZkLora.Math.Tests.CurveTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Tests.Generators

let private big (s: string) = BigInteger.Parse("0" + s.Substring 2, Globalization.NumberStyles.HexNumber)
let private load name = lazy (JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", name))))
/// tests/vectors/pasta_curves.py (Python big-integer affine arithmetic).
let private curveVectors = load "pasta_curves.json"
/// tests/vectors/hash_to_curve.mjs (Node, @noble/hashes BLAKE3, BigInt arithmetic).
let private h2cVectors = load "hash_to_curve.json"

/// A point k·G for a random scalar k, plus the identity, ±G and small multiples.
let private point<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> : Gen<Point<'B, 'S>> =
    let g = Point<'B, 'S>.Generator
    let edge = [ Point<'B, 'S>.Identity; g; -g; g.Double(); g + g.Double() ]
    Gen.frequency [ 1, Gen.elements edge; 6, fieldElement<'S> |> Gen.map (fun k -> g.MulVartime k) ]

type CurveArbs =
    static member Pallas() = Arb.fromGen point<PallasBase, VestaBase>
    static member Vesta() = Arb.fromGen point<VestaBase, PallasBase>
    static member Fp() = Arb.fromGen fieldElement<PallasBase>
    static member Fq() = Arb.fromGen fieldElement<VestaBase>

let private cfg = { config with arbitrary = [ typeof<CurveArbs> ]; maxTest = 100 }

/// Double-and-add with a BigInteger multiplier over the public group law: lets the tests
/// multiply by r itself, which the scalar field reduces to zero.
let private mulBig (p: Point<'B, 'S>) (k: BigInteger) =
    let mutable acc = Point<'B, 'S>.Identity
    for bit in (k.ToByteArray(true, true) |> Array.collect (fun b -> Array.init 8 (fun i -> (b >>> (7 - i)) &&& 1uy))) do
        acc <- acc.Double()
        if bit = 1uy then acc <- acc + p
    acc

let private affineOf (el: JsonElement) : (BigInteger * BigInteger) option =
    if el.ValueKind = JsonValueKind.Null then None
    else Some(big (el.GetProperty("x").GetString()), big (el.GetProperty("y").GetString()))

let private knownAnswers<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> (key: string) =
    let v () = curveVectors.Value.RootElement.GetProperty key
    let scalar (s: string) = FieldElement<'S>.OfBigInteger(big s)
    let g = Point<'B, 'S>.Generator
    testList (sprintf "%s known answers (Python)" key) [
        test "parameters" {
            Expect.equal FieldElement<'B>.Modulus (big (v().GetProperty("base_modulus").GetString())) "base modulus"
            Expect.equal Point<'B, 'S>.Order (big (v().GetProperty("order").GetString())) "order"
            Expect.equal (Affine<'B, 'S>.Generator.ToBigIntegers()) (affineOf (v().GetProperty "generator")) "generator"
        }
        test "scalar multiples of G, both algorithms, and their encodings" {
            for m in v().GetProperty("muls").EnumerateArray() do
                let k = scalar (m.GetProperty("k").GetString())
                let expected = affineOf (m.GetProperty "point")
                let ct = g * k
                Expect.equal (ct.ToAffine().ToBigIntegers()) expected "constant-time mul"
                Expect.equal ((g.MulVartime k).ToAffine().ToBigIntegers()) expected "wNAF mul"
                Expect.isTrue ct.IsOnCurve "on curve"
                let enc = m.GetProperty("compressed").GetString()
                Expect.equal (Convert.ToHexString(ct.ToAffine().ToBytes()).ToLowerInvariant()) enc "compressed encoding"
                match Affine<'B, 'S>.TryReadBytes(ReadOnlySpan(Convert.FromHexString enc)) with
                | Ok a -> Expect.equal (a.ToBigIntegers()) expected "decoding"
                | Error e -> failtestf "decoding a valid encoding failed: %s" e
        }
        test "sums, doublings, differences, mixed additions" {
            for s in v().GetProperty("sums").EnumerateArray() do
                let pa = g * scalar (s.GetProperty("a").GetString())
                let pb = g * scalar (s.GetProperty("b").GetString())
                Expect.equal ((pa + pb).ToAffine().ToBigIntegers()) (affineOf (s.GetProperty "sum")) "add"
                Expect.equal ((pa.AddAffine(pb.ToAffine())).ToAffine().ToBigIntegers()) (affineOf (s.GetProperty "sum")) "mixed add"
                Expect.equal (pa.Double().ToAffine().ToBigIntegers()) (affineOf (s.GetProperty "double_a")) "double"
                Expect.equal ((pa - pb).ToAffine().ToBigIntegers()) (affineOf (s.GetProperty "diff")) "sub"
        }
        test "strict decoding rejects each bad encoding with its reason" {
            for b in v().GetProperty("bad_encodings").EnumerateArray() do
                let bytes = Convert.FromHexString(b.GetProperty("hex").GetString())
                let reason = b.GetProperty("reason").GetString()
                let needle =
                    match reason with
                    | "not on curve" -> "not a square"
                    | "non-canonical" -> "non-canonical"
                    | _ -> "sign bit"
                match Affine<'B, 'S>.TryReadBytes(ReadOnlySpan bytes) with
                | Ok p -> failtestf "accepted a bad encoding (%s): %O" reason p
                | Error e -> Expect.stringContains e needle (sprintf "message for '%s'" reason)
        }
    ]

let private laws<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> name =
    let o = Point<'B, 'S>.Identity
    let g = Point<'B, 'S>.Generator
    testList (sprintf "%s group laws" name) [
        testPropertyWithConfig cfg "commutative, associative" <| fun (a: Point<'B, 'S>) b c ->
            (a + b).Equals(b + a) && ((a + b) + c).Equals(a + (b + c))
        testPropertyWithConfig cfg "identity, inverse, subtraction" <| fun (a: Point<'B, 'S>) (b: Point<'B, 'S>) ->
            (a + o).Equals a && (o + a).Equals a && (a + -a).IsIdentity && (a - b + b).Equals a
            && (a - a).IsIdentity && (-(-a)).Equals a
        testPropertyWithConfig cfg "double = add self; mixed add = add" <| fun (a: Point<'B, 'S>) (b: Point<'B, 'S>) ->
            a.Double().Equals(a + a) && (a.AddAffine(b.ToAffine())).Equals(a + b)
            && (a.AddAffine(a.ToAffine())).Equals(a.Double()) && (a.AddAffine((-a).ToAffine())).IsIdentity
        testPropertyWithConfig cfg "results stay on the curve" <| fun (a: Point<'B, 'S>) (b: Point<'B, 'S>) ->
            (a + b).IsOnCurve && a.Double().IsOnCurve && (a + b).ToAffine().IsOnCurve
        testPropertyWithConfig cfg "scalar multiplication distributes; both algorithms agree" <| fun (a: Point<'B, 'S>) (b: Point<'B, 'S>) (k: FieldElement<'S>) (l: FieldElement<'S>) ->
            (a * (k + l)).Equals(a * k + a * l) && ((a + b) * k).Equals(a * k + b * k)
            && (a * (k * l)).Equals((a * k) * l) && (a.MulVartime k).Equals(a * k)
        testPropertyWithConfig cfg "small scalars are repeated additions" <| fun (a: Point<'B, 'S>) (n: byte) ->
            let mutable acc = o
            for _ in 1 .. int n do acc <- acc + a
            (a * FieldElement<'S>.OfUInt64(uint64 n)).Equals acc && (a.MulVartime(FieldElement<'S>.OfUInt64(uint64 n))).Equals acc
        testPropertyWithConfig cfg "encode/decode round trip" <| fun (a: Point<'B, 'S>) ->
            let aff = a.ToAffine()
            match Affine<'B, 'S>.TryReadBytes(ReadOnlySpan(aff.ToBytes())) with
            | Ok back -> back.Equals aff && a.Equals back
            | Error _ -> false
        testPropertyWithConfig cfg "equality across representations" <| fun (a: Point<'B, 'S>) (b: Point<'B, 'S>) ->
            // a + b - b has different projective coordinates than a but is the same point
            let a' = a + b - b
            a'.Equals a && a'.Equals(a.ToAffine()) && (a'.ToAffine()).Equals(a.ToAffine())
            && (a'.GetHashCode() = a.GetHashCode()) && (a.Equals(a + g) |> not)
        testPropertyWithConfig cfg "batch normalisation equals one-by-one" <| fun (ps: Point<'B, 'S> list) ->
            let arr = List.toArray ps
            Array.forall2 (fun (p: Point<'B, 'S>) (q: Affine<'B, 'S>) -> p.ToAffine().Equals q) arr (Point<'B, 'S>.BatchNormalize arr)
        test "batch normalisation across parallel chunks" {
            let arr = Array.init 9000 (fun i -> if i % 1000 = 7 then o else g.MulVartime(FieldElement<'S>.OfUInt64(uint64 (i * 7919 + 1))))
            let aff = Point<'B, 'S>.BatchNormalize arr
            for i in 0 .. arr.Length - 1 do
                if not (arr[i].Equals aff[i]) then failtestf "entry %d differs" i
        }
        test "the group order: [r]G = O, [r-1]G = -G, and nothing smaller obvious" {
            let r = Point<'B, 'S>.Order
            Expect.isTrue (mulBig g r).IsIdentity "[r]G = O"
            Expect.isTrue ((mulBig g (r - BigInteger.One)).Equals(-g)) "[r-1]G = -G"
            Expect.isTrue ((g * -FieldElement<'S>.One).Equals(-g)) "G·(-1) = -G"
            Expect.isFalse (mulBig g ((r - BigInteger.One) / BigInteger 2)).IsIdentity "[(r-1)/2]G != O"
            let p = g.MulVartime(FieldElement<'S>.Random())
            Expect.isTrue (mulBig p r).IsIdentity "[r]P = O for a random P"
        }
        test "identity encodes as zeros and the affine identity behaves" {
            Expect.equal (o.ToAffine().ToBytes()) (Array.zeroCreate 32) "zeros"
            Expect.isTrue (o.ToAffine().IsIdentity) "affine identity"
            Expect.isTrue (o.IsOnCurve) "identity is on the curve"
            Expect.isTrue ((Point<'B, 'S>.OfAffine(Affine<'B, 'S>.Identity)).IsIdentity) "lift"
            Expect.isTrue (g.AddAffine(Affine<'B, 'S>.Identity)).IsOnCurve "P + O (affine)"
            Expect.isTrue ((g.AddAffine(Affine<'B, 'S>.Identity)).Equals g) "P + O = P (affine)"
            Expect.isTrue ((o.AddAffine(g.ToAffine())).Equals g) "O + P = P"
            Expect.isTrue ((o * FieldElement<'S>.Random()).IsIdentity) "k·O"
            Expect.isTrue ((g * FieldElement<'S>.Zero).IsIdentity) "0·G"
            Expect.isTrue ((g.MulVartime FieldElement<'S>.Zero).IsIdentity) "0·G (wNAF)"
            Expect.isTrue ((o.Double()).IsIdentity) "2·O"
        }
    ]

let private badInput<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> name =
    let dec (b: byte[]) = Affine<'B, 'S>.TryReadBytes(ReadOnlySpan b)
    testList (sprintf "%s rejects bad input" name) [
        test "wrong lengths" {
            for len in [ 0; 1; 31; 33; 64 ] do
                match dec (Array.zeroCreate len) with
                | Ok _ -> failtestf "accepted %d bytes" len
                | Error e -> Expect.stringContains e "32 bytes" "length message"
        }
        test "identity with the sign bit set" {
            let b = Array.zeroCreate<byte> 32
            b[31] <- 0x80uy
            match dec b with
            | Ok _ -> failtest "accepted"
            | Error e -> Expect.stringContains e "sign bit" "message"
        }
        test "x = p (non-canonical) and x = p + 1 with sign bit" {
            let le (v: BigInteger) = let b = v.ToByteArray(true, false) in Array.append b (Array.zeroCreate (32 - b.Length))
            let m = FieldElement<'B>.Modulus
            Expect.isError (dec (le m)) "p"
            let b = le (m + BigInteger.One)
            b[31] <- b[31] ||| 0x80uy
            match dec b with
            | Ok _ -> failtest "accepted"
            | Error e -> Expect.stringContains e "non-canonical" "message"
        }
        testPropertyWithConfig cfg "a random x decodes only if x^3 + 5 is a square, to a point on the curve" <| fun (x: FieldElement<'B>) (sign: bool) ->
            let b = x.ToBytes()
            if sign then b[31] <- b[31] ||| 0x80uy
            let isSquare = (x.Square() * x + FieldElement<'B>.OfUInt64 5UL).Sqrt().IsSome
            let parity (v: FieldElement<'B>) = v.ToBigInteger().IsEven |> not
            match dec b with
            | Ok p when x.IsZero -> not sign && p.IsIdentity // all zeros: the identity
            | Ok p -> isSquare && p.IsOnCurve && p.X.Equals x && parity p.Y = sign
            | Error _ -> not isSquare || (x.IsZero && sign)
        test "TryCreate checks the curve equation" {
            Expect.isError (Affine<'B, 'S>.TryCreate(FieldElement<'B>.One, FieldElement<'B>.One)) "(1, 1)"
            Expect.isOk (Affine<'B, 'S>.TryCreate(-FieldElement<'B>.One, FieldElement<'B>.OfUInt64 2UL)) "G"
            Expect.isOk (Affine<'B, 'S>.TryCreate(FieldElement<'B>.Zero, FieldElement<'B>.Zero)) "identity"
        }
        test "x = 0 is never on the curve (5 is a non-residue)" {
            Expect.isTrue (FieldElement<'B>.OfUInt64(5UL).Sqrt().IsNone) "5 non-residue"
        }
    ]

let private scalarRecoding =
    testList "scalar recodings" [
        testPropertyWithConfig cfg "signed windows recompose to k for every width" <| fun (k: FieldElement<VestaBase>) ->
            let struct (l0, l1, l2, l3) = k.CanonicalLimbs
            [ 1 .. 22 ] |> List.forall (fun c ->
                let half = 1 <<< (c - 1)
                let digits = [ for j in 0 .. Scalars.windowCount c - 1 -> Scalars.signedDigit l0 l1 l2 l3 j c ]
                let sum = digits |> List.mapi (fun j d -> BigInteger d <<< (j * c)) |> List.sum
                sum = k.ToBigInteger() && digits |> List.forall (fun d -> abs d <= half))
        testPropertyWithConfig cfg "wNAF recomposes, digits odd and spaced" <| fun (k: FieldElement<PallasBase>) ->
            [ 2 .. 7 ] |> List.forall (fun w ->
                let naf = Array.zeroCreate<sbyte> 258
                let top = Scalars.wnaf k.CanonicalLimbs w naf
                let sum = naf |> Array.mapi (fun i d -> BigInteger(int d) <<< i) |> Array.sum
                let nonZero = naf |> Array.indexed |> Array.filter (fun (_, d) -> d <> 0y) |> Array.map fst
                sum = k.ToBigInteger()
                && (if k.IsZero then top = -1 else top = Array.last nonZero)
                && nonZero |> Array.forall (fun i -> abs (int naf[i]) % 2 = 1 && abs (int naf[i]) < (1 <<< (w - 1)))
                && nonZero |> Array.pairwise |> Array.forall (fun (a, b) -> b - a >= w))
    ]

let private hashToCurve<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> (key: string) =
    testList (sprintf "%s hash-to-curve" key) [
        test "known answers (Node, @noble/hashes)" {
            for case in h2cVectors.Value.RootElement.GetProperty(key).EnumerateArray() do
                let domain = case.GetProperty("domain").GetString()
                for p in case.GetProperty("points").EnumerateArray() do
                    let i = p.GetProperty("index").GetUInt32()
                    let a = HashToCurve<'B, 'S>.Hash(domain, i)
                    Expect.equal (a.ToBigIntegers()) (Some(big (p.GetProperty("x").GetString()), big (p.GetProperty("y").GetString()))) (sprintf "%s[%d]" domain i)
        }
        test "batch generators equal single hashes, lie on the curve and are distinct" {
            let gens = HashToCurve<'B, 'S>.Generators("zklora/test/batch", 1500)
            for i in [ 0; 1; 2; 777; 1499 ] do
                Expect.equal gens[i] (HashToCurve<'B, 'S>.Hash("zklora/test/batch", uint32 i)) (sprintf "index %d" i)
            Expect.isTrue (gens |> Array.forall (fun a -> a.IsOnCurve && not a.IsIdentity)) "on curve"
            Expect.equal (gens |> Array.distinct |> Array.length) 1500 "distinct"
            Expect.equal (HashToCurve<'B, 'S>.Generators("x", 0)).Length 0 "empty"
            Expect.notEqual (HashToCurve<'B, 'S>.Hash("zklora/test/batch", 0u)) (HashToCurve<'B, 'S>.Hash("zklora/test/batcH", 0u)) "domain separation"
        }
        testPropertyWithConfig cfg "wide reduction (OfUniformBytes) equals BigInteger reduction" <| fun (a: FieldElement<'B>) (b: FieldElement<'B>) (top: byte) ->
            let bytes = Array.append (a.ToBytes()) (b.ToBytes())
            bytes[31] <- bytes[31] ||| (top &&& 0xC0uy) // exercise lo ≥ p
            bytes[63] <- bytes[63] ||| (top &&& 0xC0uy)
            FieldElement<'B>.OfUniformBytes(ReadOnlySpan bytes).ToBigInteger()
                = Numerics.BigInteger(ReadOnlySpan bytes, true, false) % FieldElement<'B>.Modulus
        testPropertyWithConfig cfg "table-driven sqrt agrees with Tonelli–Shanks" <| fun (x: FieldElement<'B>) ->
            let squareRoot =
                match FastSqrt<'B>.Sqrt(x * x) with
                | ValueSome r -> r.Equals x || r.Equals(-x)
                | ValueNone -> false
            squareRoot &&
            match FastSqrt<'B>.Sqrt x, x.Sqrt() with
            | ValueSome r, ValueSome _ -> (r * r).Equals x
            | ValueNone, ValueNone -> true
            | _ -> false
        test "table-driven sqrt on edge values" {
            for v in [ FieldElement<'B>.Zero; FieldElement<'B>.One; -FieldElement<'B>.One; FieldElement<'B>.Generator; FieldElement<'B>.RootOfUnity 32; FieldElement<'B>.RootOfUnity 31 ] do
                match FastSqrt<'B>.Sqrt v, v.Sqrt() with
                | ValueSome r, ValueSome _ -> Expect.equal (r * r) v (sprintf "sqrt(%O)" v)
                | ValueNone, ValueNone -> ()
                | a, b -> failtestf "disagree on %O: %A vs %A" v a b
        }
        test "all-ones wide input" {
            let bytes = Array.create 64 0xFFuy
            Expect.equal (FieldElement<'B>.OfUniformBytes(ReadOnlySpan bytes).ToBigInteger()) (((Numerics.BigInteger.One <<< 512) - Numerics.BigInteger.One) % FieldElement<'B>.Modulus) "2^512 - 1"
        }
    ]

/// (base, scalar) lists biased towards the MSM's corner cases.
let private msmInput<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> : Gen<(Affine<'B, 'S> * FieldElement<'S>)[]> =
    let baseGen =
        Gen.frequency [ 1, Gen.constant Affine<'B, 'S>.Identity
                        1, Gen.constant Affine<'B, 'S>.Generator
                        6, point<'B, 'S> |> Gen.map (fun p -> p.ToAffine()) ]
    let scalarGen =
        Gen.frequency [ 1, Gen.constant FieldElement<'S>.Zero
                        1, Gen.constant (-FieldElement<'S>.One)
                        1, Gen.choose (1, 40) |> Gen.map (uint64 >> FieldElement<'S>.OfUInt64)
                        6, fieldElement<'S> ]
    Gen.sized (fun size -> gen {
        let! n = Gen.choose ((if size >= 512 then 512 else 0), max 2 size)
        let! pairs = Gen.arrayOfLength n (Gen.zip baseGen scalarGen)
        // repeat some bases so buckets see P + P and P + (−P)
        let! repeat = Gen.elements [ false; true ]
        return if repeat && n > 2 then Array.append pairs [| fst pairs[0], snd pairs[1]; (-(fst pairs[0])), snd pairs[1]; pairs[0] |] else pairs })

let private msm<'B, 'S when 'B :> IFieldParams and 'B: struct and 'S :> IFieldParams and 'S: struct> name =
    let agree (pairs: (Affine<'B, 'S> * FieldElement<'S>)[]) =
        let bases, scalars = Array.unzip pairs
        Msm<'B, 'S>.Compute(bases, scalars).Equals(Msm<'B, 'S>.Naive(ReadOnlySpan bases, ReadOnlySpan scalars))
    testList (sprintf "%s MSM" name) [
        testPropertyWithConfig { cfg with maxTest = 60; endSize = 40 } "Pippenger equals the naive sum" <| fun () ->
            Prop.forAll (Arb.fromGen msmInput<'B, 'S>) agree
        test "n = 0, 1, 2 and a length mismatch" {
            Expect.isTrue (Msm<'B, 'S>.Compute(Array.empty, Array.empty)).IsIdentity "n = 0"
            let g = Affine<'B, 'S>.Generator
            let k = FieldElement<'S>.Random()
            Expect.isTrue (Msm<'B, 'S>.Compute([| g |], [| k |]).Equals(Point<'B, 'S>.Generator * k)) "n = 1"
            Expect.isTrue (agree [| g, k; (-g), k |]) "n = 2, cancelling"
            Expect.throwsT<ArgumentException> (fun () -> Msm<'B, 'S>.Compute([| g |], Array.empty) |> ignore) "mismatch"
        }
        test "larger, parallel sizes (odd n, wider windows)" {
            for n in [ 63; 64; 257; 1001; 4099 ] do
                let bases = HashToCurve<'B, 'S>.Generators("zklora/test/msm", n)
                let scalars = Array.init n (fun i -> if i % 97 = 0 then FieldElement<'S>.Zero elif i % 89 = 0 then -FieldElement<'S>.One else FieldElement<'S>.Random())
                bases[n / 2] <- Affine<'B, 'S>.Identity
                bases[n / 3] <- bases[n / 5]
                // same base and scalar twice (P + P in every bucket) and P against −P (cancels)
                bases[n - 1] <- bases[0]
                scalars[n - 1] <- scalars[0]
                bases[n - 2] <- -bases[1]
                scalars[n - 2] <- scalars[1]
                bases[n - 3] <- bases[2]
                scalars[n - 3] <- -scalars[2]
                bases[n - 4] <- bases[3]
                scalars[n - 4] <- scalars[3]
                bases[n - 5] <- bases[3]
                scalars[n - 5] <- scalars[3]
                let fast = Msm<'B, 'S>.Compute(bases, scalars)
                // small chunks: bucket values carried across chunks meet P, −P and P again
                let chunked = Msm<'B, 'S>.ComputeChunked(ReadOnlyMemory bases, ReadOnlyMemory scalars, 600)
                // the naive sum with the variable-time multiplication, to keep the test fast
                let mutable slow = Point<'B, 'S>.Identity
                for i in 0 .. n - 1 do slow <- slow + (Point<'B, 'S>.OfAffine bases[i]).MulVartime scalars[i]
                Expect.isTrue (fast.Equals slow) (sprintf "n = %d" n)
                Expect.isTrue (chunked.Equals slow) (sprintf "n = %d in chunks of 600" n)
        }
        testPropertyWithConfig { cfg with maxTest = 8; startSize = 520; endSize = 700 } "batch-affine path (n >= 512) equals the naive sum" <| fun () ->
            Prop.forAll (Arb.fromGen msmInput<'B, 'S>) (fun pairs ->
                let bases, scalars = Array.unzip pairs
                let mutable slow = Point<'B, 'S>.Identity
                for i in 0 .. bases.Length - 1 do slow <- slow + (Point<'B, 'S>.OfAffine bases[i]).MulVartime scalars[i]
                Msm<'B, 'S>.Compute(bases, scalars).Equals slow)
        test "scalars of every bit length use just enough windows" {
            let rng = Random 7
            let below (bits: int) =
                let b = Numerics.BigInteger.One <<< bits
                let bytes = Array.zeroCreate<byte> 40
                rng.NextBytes bytes
                bytes[39] <- 0uy
                FieldElement<'S>.OfBigInteger(Numerics.BigInteger(bytes) % b)
            for n in [ 40; 300; 700 ] do
                let bases = HashToCurve<'B, 'S>.Generators("zklora/test/msm", n)
                Expect.isTrue (Msm<'B, 'S>.Compute(bases, Array.create n FieldElement<'S>.Zero)).IsIdentity (sprintf "all zero, n = %d" n)
                for bits in [ 1; 2; 3; 5; 7; 8; 9; 11; 16; 31; 63; 64; 65; 100; 128; 129; 191; 192; 193; 254 ] do
                    // small magnitudes of both signs (r − |v| for negative values)
                    let scalars = Array.init n (fun i -> if i % 7 = 0 then FieldElement<'S>.Zero elif i % 3 = 0 then -(below bits) else below bits)
                    // the top bit set in one scalar (the recoding's last carry sits just above it)
                    scalars[n - 1] <- FieldElement<'S>.OfBigInteger((Numerics.BigInteger.One <<< bits) - Numerics.BigInteger.One)
                    scalars[n / 2] <- FieldElement<'S>.OfBigInteger(Numerics.BigInteger.One <<< (bits - 1))
                    scalars[n / 3] <- -scalars[n - 1]
                    let mutable slow = Point<'B, 'S>.Identity
                    for i in 0 .. n - 1 do slow <- slow + (Point<'B, 'S>.OfAffine bases[i]).MulVartime scalars[i]
                    Expect.isTrue (Msm<'B, 'S>.Compute(bases, scalars).Equals slow) (sprintf "n = %d, %d-bit scalars" n bits)
                    // plus a few full-width scalars (blinding rows): split into a small and a large MSM
                    let mixed = Array.copy scalars
                    for i in n - 8 .. n - 3 do mixed[i] <- FieldElement<'S>.Random()
                    mixed[1] <- -FieldElement<'S>.One
                    // (r − 1)/2 and (r + 1)/2: the largest kept and the smallest negated scalar
                    mixed[n / 4] <- FieldElement<'S>.OfBigInteger((FieldElement<'S>.Modulus - Numerics.BigInteger.One) / Numerics.BigInteger 2)
                    mixed[n / 5] <- FieldElement<'S>.OfBigInteger((FieldElement<'S>.Modulus + Numerics.BigInteger.One) / Numerics.BigInteger 2)
                    let mutable slowMixed = Point<'B, 'S>.Identity
                    for i in 0 .. n - 1 do slowMixed <- slowMixed + (Point<'B, 'S>.OfAffine bases[i]).MulVartime mixed[i]
                    Expect.isTrue (Msm<'B, 'S>.Compute(bases, mixed).Equals slowMixed) (sprintf "n = %d, %d-bit scalars and 7 full-width" n bits)
                    let chunked = Msm<'B, 'S>.ComputeChunked(ReadOnlyMemory bases, ReadOnlyMemory mixed, 64)
                    Expect.isTrue (chunked.Equals slowMixed) (sprintf "n = %d, mixed, chunks of 64" n)
        }
        test "scalars with few distinct values (grouped by value first)" {
            for n in [ 64; 100; 700 ] do
                let bases = HashToCurve<'B, 'S>.Generators("zklora/test/msm", n)
                let values = [| FieldElement<'S>.Random(); FieldElement<'S>.Random(); FieldElement<'S>.Zero; FieldElement<'S>.One |]
                values[3] <- -values[0]
                let scalars = Array.init n (fun i -> values[(i * 7 + i / 3) % values.Length])
                // a repeated base and a base against its negative under the same value, an identity
                bases[5] <- bases[1]
                scalars[5] <- scalars[1]
                bases[6] <- -bases[2]
                scalars[6] <- scalars[2]
                bases[7] <- Affine<'B, 'S>.Identity
                let mutable slow = Point<'B, 'S>.Identity
                for i in 0 .. n - 1 do slow <- slow + (Point<'B, 'S>.OfAffine bases[i]).MulVartime scalars[i]
                Expect.isTrue (Msm<'B, 'S>.Compute(bases, scalars).Equals slow) (sprintf "n = %d" n)
                let chunked = Msm<'B, 'S>.ComputeChunked(ReadOnlyMemory bases, ReadOnlyMemory scalars, 16)
                Expect.isTrue (chunked.Equals slow) (sprintf "n = %d, chunks of 16" n)
                // every base of one value cancelling: that group's sum is the identity
                let pairs = Array.init n (fun i -> if i % 2 = 0 then bases[i] else -bases[i - 1])
                let same = Array.create n values[0]
                Expect.isTrue (Msm<'B, 'S>.Compute(pairs, same)).IsIdentity (sprintf "n = %d, cancelling" n)
        }
        test "memory slices" {
            let bases = HashToCurve<'B, 'S>.Generators("zklora/test/msm", 100)
            let scalars = Array.init 100 (fun _ -> FieldElement<'S>.Random())
            let fast = Msm<'B, 'S>.Compute(ReadOnlyMemory(bases, 10, 50), ReadOnlyMemory(scalars, 10, 50))
            Expect.isTrue (fast.Equals(Msm<'B, 'S>.Naive(ReadOnlySpan(bases, 10, 50), ReadOnlySpan(scalars, 10, 50)))) "slice"
        }
    ]

[<Tests>]
let tests =
    testList "curves" [
        knownAnswers<PallasBase, VestaBase> "pallas"
        knownAnswers<VestaBase, PallasBase> "vesta"
        laws<PallasBase, VestaBase> "Pallas"
        laws<VestaBase, PallasBase> "Vesta"
        badInput<PallasBase, VestaBase> "Pallas"
        badInput<VestaBase, PallasBase> "Vesta"
        scalarRecoding
        hashToCurve<PallasBase, VestaBase> "pallas"
        hashToCurve<VestaBase, PallasBase> "vesta"
        msm<PallasBase, VestaBase> "Pallas"
        msm<VestaBase, PallasBase> "Vesta"
        test "module API (names used by later issues)" {
            let k = Fq.random ()
            let p = Pallas.mul Pallas.generator k
            Expect.isTrue (Pallas.equal (Pallas.add p (Pallas.neg p)) Pallas.identity) "Pallas add/neg/identity"
            Expect.isTrue (Pallas.equal (Pallas.double p) (Pallas.add p p)) "Pallas double"
            Expect.isTrue (Pallas.equal (Pallas.sub p p) Pallas.identity) "Pallas sub"
            Expect.isTrue (Pallas.ofBytes (Pallas.toBytes p) |> Result.map (Pallas.equal p) = Ok true) "Pallas bytes"
            Expect.isError (Pallas.ofBytes null) "null bytes"
            let x, y = (Pallas.toBigIntegers Pallas.generator).Value
            Expect.equal x (Fp.modulus - BigInteger.One) "Pallas G.x = p - 1"
            Expect.equal y (BigInteger 2) "Pallas G.y = 2"
            Expect.isOk (Pallas.ofBigIntegers x y) "ofBigIntegers"
            let gs = Pallas.generators "zklora/api" 4
            let ks = Array.init 4 (fun _ -> Fq.random ())
            Expect.isTrue (Pallas.equal (Pallas.msm gs ks) (Pallas.msmNaive gs ks)) "Pallas msm"
            Expect.equal gs[2] (Pallas.hashToCurve "zklora/api" 2u) "Pallas hashToCurve"
            let v = Vesta.mul Vesta.generator (Fp.random ())
            Expect.isTrue (Vesta.isOnCurve v && Vesta.equal (Vesta.mulVartime Vesta.generator (Fp.ofUInt64 2UL)) (Vesta.double Vesta.generator)) "Vesta"
            Expect.equal (Vesta.order, Pallas.order) (Fp.modulus, Fq.modulus) "orders cross over"
            Expect.equal (Vesta.batchNormalize [| v; Vesta.identity |]) [| Vesta.toAffine v; VestaAffine.Identity |] "Vesta batchNormalize"
        }
    ]
