module ZkLora.Math.Tests.PolyTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Poly
open ZkLora.Math.Tests.Generators

type private D = EvaluationDomain<PallasBase>

// ---- independent O(n^2) references (plain sums of powers, no FFT) ----

let private naiveEval (coeffs: Fp[]) (x: Fp) =
    let mutable acc = Fp.Zero
    let mutable xp = Fp.One
    for c in coeffs do
        acc <- acc + c * xp
        xp <- xp * x
    acc

let private naiveDft (coeffs: Fp[]) (n: int) (omega: Fp) (shift: Fp) =
    Array.init n (fun i -> naiveEval coeffs (shift * omega.Pow(uint64 i)))

/// l_i(x) = Π_{j≠i} (x − ω^j)/(ω^i − ω^j), the textbook product form.
let private naiveLagrange (n: int) (omega: Fp) (i: int) (x: Fp) =
    let wi = omega.Pow(uint64 i)
    let mutable num = Fp.One
    let mutable den = Fp.One
    for j in 0 .. n - 1 do
        if j <> i then
            let wj = omega.Pow(uint64 j)
            num <- num * (x - wj)
            den <- den * (wi - wj)
    num * den.Invert()

// Domains are cached per (k, e): twiddle tables are the expensive part.
let private domains = Collections.Concurrent.ConcurrentDictionary<struct (int * int), D>()
let private domain k e = domains.GetOrAdd(struct (k, e), fun (struct (k, e)) -> D.Create(k, e))

let private randomArray n = Array.init n (fun _ -> Fp.Random())
let private arraysEqual (a: Fp[]) (b: Fp[]) = a.Length = b.Length && Array.forall2 (fun (x: Fp) y -> x.Equals y) a b
let private coeffPoly (xs: Fp[]) : Polynomial<PallasBase, Coeff> = Polynomial.ofArray xs
let private lagrangePoly (xs: Fp[]) : Polynomial<PallasBase, LagrangeCoeff> = Polynomial.ofArray xs

/// (k, values of length 2^k) with k in [lo, hi].
let private sized lo hi =
    gen {
        let! k = Gen.choose (lo, hi)
        let! xs = Gen.arrayOfLength (1 <<< k) fieldElement<PallasBase>
        return k, xs
    } |> Arb.fromGen

let private fieldArb = Arb.fromGen fieldElement<PallasBase>
let private coeffsArb maxLen =
    gen {
        let! len = Gen.choose (0, maxLen)
        return! Gen.arrayOfLength len fieldElement<PallasBase>
    } |> Arb.fromGen

let private ffts =
    testList "FFT" [
        testPropertyWithConfig config "iFFT ∘ FFT = id, sizes 2^0 .. 2^12" <| Prop.forAll (sized 0 12) (fun (k, xs) ->
            let d = domain k 0
            let a = Array.copy xs
            d.FftInPlace a
            d.IFftInPlace a
            arraysEqual a xs)
        testPropertyWithConfig config "FFT agrees with naive evaluation at ω^i (n ≤ 64)" <| Prop.forAll (sized 0 6) (fun (k, xs) ->
            let d = domain k 0
            let a = Array.copy xs
            d.FftInPlace a
            arraysEqual a (naiveDft xs (1 <<< k) d.Omega Fp.One))
        testPropertyWithConfig config "coset FFT agrees with naive evaluation at g·ω^i, and inverts" <| Prop.forAll (sized 0 6) (fun (k, xs) ->
            let d = domain k 0
            let a = Array.copy xs
            d.CosetFftInPlace a
            let ok = arraysEqual a (naiveDft xs (1 <<< k) d.Omega (Fp.OfUInt64 5UL))
            d.CosetIFftInPlace a
            ok && arraysEqual a xs)
        testPropertyWithConfig config "extended coset evaluation agrees with naive evaluation at g·ω_ext^i" <| Prop.forAll (Arb.fromGen (gen {
                let! k = Gen.choose (0, 4)
                let! e = Gen.choose (0, 3)
                let! len = Gen.choose (0, 1 <<< (k + e))
                let! xs = Gen.arrayOfLength len fieldElement<PallasBase>
                return k, e, xs })) (fun (k, e, xs) ->
            let d = domain k e
            let ext = d.CoeffToExtended(coeffPoly xs)
            let expected = naiveDft xs (1 <<< (k + e)) d.ExtendedOmega d.CosetGenerator
            let back = d.ExtendedToCoeff ext
            arraysEqual (ext.ToArray()) expected
            && (Coefficients.truncate xs.Length back |> Result.map (fun p -> arraysEqual (p.ToArray()) xs) = Ok true))
        test "2^16: round trip, spot checks against Horner (parallel paths)" {
            let d = domain 16 0
            let xs = randomArray (1 <<< 16)
            let a = Array.copy xs
            d.FftInPlace a
            for i in [ 0; 1; 12345; (1 <<< 15) + 7; (1 <<< 16) - 1 ] do
                Expect.equal a[i] (Coefficients.evaluate (coeffPoly xs) (d.OmegaPow i)) (sprintf "evaluation %d" i)
            d.IFftInPlace a
            Expect.isTrue (arraysEqual a xs) "iFFT ∘ FFT = id at 2^16"
        }
        test "2^13 .. 2^17: fused large stages, round trip and spot checks against Horner" {
            for k in 13 .. 17 do
                let d = domain k 0
                let xs = randomArray (1 <<< k)
                let a = Array.copy xs
                d.FftInPlace a
                for i in [ 0; 3; (1 <<< k) - 1; Random.Shared.Next(1 <<< k) ] do
                    Expect.equal a[i] (Coefficients.evaluate (coeffPoly xs) (d.OmegaPow i)) (sprintf "2^%d evaluation %d" k i)
                d.IFftInPlace a
                Expect.isTrue (arraysEqual a xs) (sprintf "iFFT ∘ FFT = id at 2^%d" k)
        }
        test "2^14 extended by 2^2: coset round trip and spot checks" {
            let d = domain 14 2
            let xs = randomArray (3 <<< 14)
            let ext = d.CoeffToExtended(coeffPoly xs)
            for i in [ 0; 1; 40000; (1 <<< 16) - 1 ] do
                let x = d.CosetGenerator * d.ExtendedOmegaPow i
                Expect.equal ext[i] (Coefficients.evaluate (coeffPoly xs) x) (sprintf "evaluation %d" i)
            let back = d.ExtendedToCoeff ext
            Expect.equal (Coefficients.truncate xs.Length back |> Result.map (fun p -> arraysEqual (p.ToArray()) xs)) (Ok true) "round trip"
        }
        testPropertyWithConfig config "Lagrange ↔ coefficients round trip" <| Prop.forAll (sized 0 10) (fun (k, xs) ->
            let d = domain k 1
            let c = d.LagrangeToCoeff(lagrangePoly xs)
            Polynomial.equals (d.CoeffToLagrange c) (lagrangePoly xs)
            && Polynomial.equals (d.LagrangeToExtended(lagrangePoly xs)) (d.CoeffToExtended c))
        test "wrong lengths are rejected" {
            let d = domain 3 1
            Expect.throwsT<ArgumentException> (fun () -> d.FftInPlace(randomArray 4)) "FFT length"
            Expect.throwsT<ArgumentException> (fun () -> d.ExtendedCosetFftInPlace(randomArray 8)) "extended length"
            Expect.throwsT<ArgumentException> (fun () -> d.CoeffToLagrange(coeffPoly (randomArray 9)) |> ignore) "too many coefficients"
            Expect.throwsT<ArgumentException> (fun () -> d.LagrangeToCoeff(lagrangePoly (randomArray 7)) |> ignore) "Lagrange length"
        }
    ]

let private domainTests =
    testList "evaluation domain" [
        test "parameters" {
            let d = domain 5 2
            Expect.equal (d.N, d.ExtendedN, d.ExtendedK) (32, 128, 7) "sizes"
            Expect.equal (d.Omega.Pow 32UL) Fp.One "ω^n = 1"
            Expect.notEqual (d.Omega.Pow 16UL) Fp.One "ω primitive"
            Expect.equal (d.ExtendedOmega.Pow 4UL) d.Omega "ω_ext^(2^e) = ω"
            Expect.equal (d.Omega * d.OmegaInv) Fp.One "ω⁻¹"
            Expect.equal (d.ExtendedOmega * d.ExtendedOmegaInv) Fp.One "ω_ext⁻¹"
            Expect.equal (d.NInv * Fp.OfUInt64 32UL) Fp.One "n⁻¹"
            Expect.equal (d.ExtendedNInv * Fp.OfUInt64 128UL) Fp.One "N_ext⁻¹"
            Expect.equal d.CosetGenerator (Fp.OfUInt64 5UL) "g = 5"
            Expect.equal (d.OmegaPow -1) d.OmegaInv "negative rotation"
            Expect.equal (d.OmegaPow 33) d.Omega "wraps"
            for i in 0 .. 31 do Expect.equal (d.OmegaPow i) (d.Omega.Pow(uint64 i)) "table lookup"
        }
        test "vanishing values on the coset, and their inverses" {
            let d = domain 4 3
            Expect.equal d.VanishingOnCoset.Length 8 "2^e values"
            for i in 0 .. d.ExtendedN - 1 do
                let x = d.CosetGenerator * d.ExtendedOmegaPow i
                Expect.equal (d.VanishingAt x) d.VanishingOnCoset[i % 8] "Z_H(g ω_ext^i)"
                Expect.isFalse (d.VanishingAt x).IsZero "non-zero on the coset"
            for i in 0 .. 7 do Expect.equal (d.VanishingOnCoset[i] * d.VanishingOnCosetInv[i]) Fp.One "inverse"
        }
        test "creation errors and extension sizes" {
            Expect.isError (D.TryCreate(-1, 0)) "negative k"
            Expect.isError (D.TryCreate(3, -1)) "negative e"
            Expect.isError (D.TryCreate(31, 0)) "beyond the array limit"
            Expect.isError (D.TryCreate(20, 12)) "k + e too large"
            Expect.isOk (D.TryCreate(0, 0)) "trivial domain"
            Expect.throwsT<ArgumentException> (fun () -> D.Create(33, 0) |> ignore) "Create throws"
            Expect.equal (List.map D.ExtensionFor [ 1; 2; 3; 4; 5; 9 ]) [ 0; 0; 1; 2; 2; 3 ] "ExtensionFor"
        }
        testPropertyWithConfig config "division by Z_H on the coset gives the exact quotient of q·Z_H" <| Prop.forAll (Arb.fromGen (gen {
                let! k = Gen.choose (0, 5)
                let! e = Gen.choose (1, 3)
                let! len = Gen.choose (1, ((1 <<< e) - 1) <<< k)
                let! q = Gen.arrayOfLength len fieldElement<PallasBase>
                let! c = fieldElement<PallasBase> |> Gen.filter (fun c -> not c.IsZero)
                return k, e, q, c })) (fun (k, e, q, c) ->
            let d = domain k e
            let p = Coefficients.mulByVanishing d.N (coeffPoly q)
            let quotient = d.ExtendedToCoeff(d.DivideByVanishing(d.CoeffToExtended p))
            let exact = Coefficients.truncate q.Length quotient |> Result.map (fun r -> arraysEqual (r.ToArray()) q)
            // p + c is not divisible: the interpolated "quotient" must have a high coefficient
            let bad = Polynomial.add p (coeffPoly [| c |])
            let badQuotient = d.ExtendedToCoeff(d.DivideByVanishing(d.CoeffToExtended bad))
            exact = Ok true && Result.isError (Coefficients.truncate q.Length badQuotient))
        testPropertyWithConfig config "Lagrange basis at x: sums to 1, matches the product formula" <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 5)) fieldElement<PallasBase>)) (fun (k, x) ->
            let d = domain k 0
            let n = d.N
            let rows = Array.init n id
            let l = d.LagrangeBasisAt(x, rows)
            let sum = Array.fold (+) Fp.Zero l
            let wrapped = d.LagrangeBasisAt(x, [| -1; n; 0 |])
            sum = Fp.One
            && Array.forall (fun i -> l[i] = naiveLagrange n d.Omega i x) rows
            && wrapped[0] = l[n - 1] && wrapped[1] = l[0] && wrapped[2] = l[0])
        test "Lagrange basis inside H is the indicator" {
            let d = domain 3 0
            let l = d.LagrangeBasisAt(d.OmegaPow 5, [| 0; 5; -3; 7 |])
            Expect.equal l [| Fp.Zero; Fp.One; Fp.One; Fp.Zero |] "l_i(ω^5) = [i = 5]"
        }
        testPropertyWithConfig config "barycentric evaluation equals coefficient evaluation" <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 10) |> Gen.bind (fun k -> Gen.arrayOfLength (1 <<< k) fieldElement<PallasBase>)) fieldElement<PallasBase>)) (fun (xs, x) ->
            let d = domain (Numerics.BitOperations.Log2(uint32 xs.Length)) 0
            let v = lagrangePoly xs
            let c = d.LagrangeToCoeff v
            d.EvaluateLagrange(v, x) = Coefficients.evaluate c x
            && d.EvaluateLagrange(v, d.OmegaPow(xs.Length - 1)) = xs[xs.Length - 1])
        test "barycentric evaluation at 2^15 (parallel chunks)" {
            let d = domain 15 0
            let v = lagrangePoly (randomArray (1 <<< 15))
            let x = Fp.Random()
            Expect.equal (d.EvaluateLagrange(v, x)) (Coefficients.evaluate (d.LagrangeToCoeff v) x) "barycentric"
        }
        testPropertyWithConfig config "rotation: shifted evaluations are p(ω^r X), on H and on the extended coset" <| Prop.forAll (Arb.fromGen (gen {
                let! k = Gen.choose (0, 5)
                let! e = Gen.choose (0, 2)
                let! r = Gen.choose (-40, 40)
                let! xs = Gen.arrayOfLength (1 <<< k) fieldElement<PallasBase>
                return k, e, r, xs })) (fun (k, e, r, xs) ->
            let d = domain k e
            let v = lagrangePoly xs
            let c = d.LagrangeToCoeff v
            // coefficients of p(ω^r X): a_j ω^(rj)
            let wr = d.OmegaPow r
            let rotatedCoeffs = coeffPoly (c.ToArray() |> Array.mapi (fun j a -> a * wr.Pow(uint64 j)))
            let rotated = d.RotateLagrange(v, r)
            Polynomial.equals rotated (d.CoeffToLagrange rotatedCoeffs)
            && Array.forall (fun i -> rotated[i] = xs[((i + r) % xs.Length + xs.Length) % xs.Length]) [| 0 .. xs.Length - 1 |]
            && Polynomial.equals (d.RotateExtended(d.CoeffToExtended c, r)) (d.CoeffToExtended rotatedCoeffs)
            && d.Rotate(Fp.One, r) = wr)
    ]

let private polynomialTests =
    testList "polynomial arithmetic" [
        testPropertyWithConfig config "synthetic division: p = q·(X − a) + p(a)" <| Prop.forAll (Arb.fromGen (Gen.zip (coeffsArb 40).Generator fieldElement<PallasBase>)) (fun (xs, a) ->
            let p = coeffPoly xs
            let struct (q, r) = Coefficients.divideByLinear p a
            let rebuilt = Polynomial.add (Coefficients.mul q (coeffPoly [| -a; Fp.One |])) (coeffPoly [| r |])
            let same = Coefficients.truncate (max 1 xs.Length) rebuilt |> Result.map (fun t -> arraysEqual (t.ToArray()) (if xs.Length = 0 then [| Fp.Zero |] else xs))
            r = naiveEval xs a && q.Length = max 0 (xs.Length - 1) && same = Ok true)
        test "division of p − p(a) by (X − a) is exact; a wrong claimed value is caught" {
            let xs = randomArray 33
            let a = Fp.Random()
            let pa = naiveEval xs a
            let shifted = Polynomial.sub (coeffPoly xs) (coeffPoly [| pa |])
            let struct (_, r) = Coefficients.divideByLinear shifted a
            Expect.isTrue r.IsZero "remainder of p − p(a) is zero"
            let wrong = Polynomial.sub (coeffPoly xs) (coeffPoly [| pa + Fp.One |])
            let struct (_, r2) = Coefficients.divideByLinear wrong a
            Expect.isFalse r2.IsZero "a wrong evaluation leaves a remainder"
        }
        testPropertyWithConfig config "add, sub, scale, neg, addScaled agree with evaluation" <| Prop.forAll (Arb.fromGen (gen {
                let! a = (coeffsArb 20).Generator
                let! b = (coeffsArb 20).Generator
                let! c = fieldElement<PallasBase>
                let! x = fieldElement<PallasBase>
                return a, b, c, x })) (fun (a, b, c, x) ->
            let pa, pb = coeffPoly a, coeffPoly b
            let ea, eb = naiveEval a x, naiveEval b x
            Coefficients.evaluate (Polynomial.add pa pb) x = ea + eb
            && Coefficients.evaluate (Polynomial.sub pa pb) x = ea - eb
            && Coefficients.evaluate (Polynomial.scale c pa) x = c * ea
            && Coefficients.evaluate (Polynomial.neg pa) x = -ea
            && Coefficients.evaluate (Polynomial.addScaled pa c pb) x = ea + c * eb)
        testPropertyWithConfig config "FFT product equals schoolbook product" <| Prop.forAll (Arb.fromGen (Gen.zip (coeffsArb 120).Generator (coeffsArb 120).Generator)) (fun (a, b) ->
            Polynomial.equals (Coefficients.mul (coeffPoly a) (coeffPoly b)) (Coefficients.mulNaive (coeffPoly a) (coeffPoly b)))
        testPropertyWithConfig config "mulByVanishing equals multiplication by X^n − 1" <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (1, 20)) (coeffsArb 20).Generator)) (fun (n, a) ->
            let zh = coeffPoly (Array.init (n + 1) (fun i -> if i = 0 then -Fp.One elif i = n then Fp.One else Fp.Zero))
            let expected = Coefficients.mulNaive (coeffPoly a) zh
            let actual = Coefficients.mulByVanishing n (coeffPoly a)
            if a.Length = 0 then Coefficients.degree actual = -1 else Polynomial.equals actual expected)
        test "Horner at 2^15 (parallel chunks) and batch evaluation" {
            let xs = randomArray ((1 <<< 15) + 3)
            let ys = randomArray 5
            let x = Fp.Random()
            Expect.equal (Coefficients.evaluate (coeffPoly xs) x) (naiveEval xs x) "parallel Horner"
            Expect.equal (Coefficients.evaluateMany [| coeffPoly xs; coeffPoly ys; coeffPoly [||] |] x) [| naiveEval xs x; naiveEval ys x; Fp.Zero |] "batch"
        }
        test "degree, truncate, chunks" {
            let z = Fp.Zero
            let p = coeffPoly [| Fp.One; z; Fp.OfUInt64 3UL; z; z |]
            Expect.equal (Coefficients.degree p) 2 "degree"
            Expect.equal (Coefficients.degree (coeffPoly [| z; z |])) -1 "zero polynomial"
            Expect.isOk (Coefficients.truncate 3 p) "zeros dropped"
            Expect.isError (Coefficients.truncate 2 p) "non-zero coefficient dropped"
            Expect.equal ((Coefficients.truncate 7 p |> Result.map (fun q -> q.Length))) (Ok 7) "padding"
            let parts = Coefficients.chunks 2 p
            Expect.equal (parts |> Array.map (fun q -> q.ToArray())) [| [| Fp.One; z |]; [| Fp.OfUInt64 3UL; z |]; [| z; z |] |] "chunks"
        }
        test "pointwise products and length checks" {
            let a = lagrangePoly (randomArray 8)
            let b = lagrangePoly (randomArray 8)
            let prod = Polynomial.mulPointwise a b
            for i in 0 .. 7 do Expect.equal prod[i] (a[i] * b[i]) "pointwise"
            Expect.throwsT<ArgumentException> (fun () -> Polynomial.add a (lagrangePoly (randomArray 4)) |> ignore) "evaluation lengths must match"
            Expect.throwsT<ArgumentException> (fun () -> Polynomial.mulPointwise (coeffPoly [| Fp.One |]) (coeffPoly [| Fp.One |]) |> ignore) "no pointwise coefficient product"
            Expect.equal (Polynomial.add (coeffPoly [| Fp.One |]) (coeffPoly [| Fp.One; Fp.One |])).Length 2 "coefficients pad"
        }
        test "polynomials are immutable from outside" {
            let xs = randomArray 4
            let p = coeffPoly xs
            xs[0] <- Fp.Zero
            let copy = p.ToArray()
            copy[1] <- Fp.Zero
            Expect.isFalse (p[0].IsZero && p[1].IsZero) "constructor and ToArray copy"
        }
    ]

// ---- known answers from tests/vectors/pasta_fft.py (Python big integers) ----

let private vectors = lazy (JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "pasta_fft.json"))))

let private knownAnswers<'P when 'P :> IFieldParams and 'P: struct> (key: string) =
    let big (s: string) = BigInteger.Parse("0" + s.Substring 2, Globalization.NumberStyles.HexNumber)
    let el (j: JsonElement) = FieldElement<'P>.OfBigInteger(big (j.GetString()))
    let arr (j: JsonElement) = [| for x in j.EnumerateArray() -> el x |]
    let root () = vectors.Value.RootElement.GetProperty key
    let same (a: FieldElement<'P>[]) (b: FieldElement<'P>[]) = Expect.sequenceEqual a b
    testList (sprintf "%s FFT known answers (Python)" key) [
        test "FFT, coset FFT, inverse FFT" {
            for v in (root ()).GetProperty("ffts").EnumerateArray() do
                let k = v.GetProperty("k").GetInt32()
                let d = EvaluationDomain<'P>.Create(k, 0)
                Expect.equal d.Omega (el (v.GetProperty "omega")) "ω"
                let coeffs = arr (v.GetProperty "coeffs")
                let a = Array.copy coeffs
                d.FftInPlace a
                same a (arr (v.GetProperty "evals")) (sprintf "FFT 2^%d" k)
                let b = Array.copy coeffs
                d.CosetFftInPlace b
                same b (arr (v.GetProperty "coset_evals")) (sprintf "coset FFT 2^%d" k)
                let c = arr (v.GetProperty "values")
                d.IFftInPlace c
                same c (arr (v.GetProperty "interpolant")) (sprintf "iFFT 2^%d" k)
        }
        test "extended coset evaluation and vanishing values" {
            for v in (root ()).GetProperty("extended").EnumerateArray() do
                let k, e = v.GetProperty("k").GetInt32(), v.GetProperty("e").GetInt32()
                let d = EvaluationDomain<'P>.Create(k, e)
                Expect.equal d.ExtendedOmega (el (v.GetProperty "omega_ext")) "ω_ext"
                let p : Polynomial<'P, Coeff> = Polynomial.ofArray (arr (v.GetProperty "coeffs"))
                same ((d.CoeffToExtended p).ToArray()) (arr (v.GetProperty "ext_evals")) (sprintf "extended 2^%d·2^%d" k e)
                same (d.VanishingOnCoset.ToArray()) (arr (v.GetProperty "vanishing_on_coset")) "Z_H on the coset"
        }
        test "Lagrange basis, barycentric evaluation, Z_H(x)" {
            for v in (root ()).GetProperty("lagrange").EnumerateArray() do
                let k = v.GetProperty("k").GetInt32()
                let d = EvaluationDomain<'P>.Create(k, 0)
                let x = el (v.GetProperty "x")
                let rows = [| for r in v.GetProperty("rows").EnumerateArray() -> r.GetInt32() |]
                same (d.LagrangeBasisAt(x, rows)) (arr (v.GetProperty "basis")) "l_i(x)"
                let values : Polynomial<'P, LagrangeCoeff> = Polynomial.ofArray (arr (v.GetProperty "values"))
                Expect.equal (d.EvaluateLagrange(values, x)) (el (v.GetProperty "value_at_x")) "barycentric"
                Expect.equal (d.VanishingAt x) (el (v.GetProperty "vanishing_at_x")) "Z_H(x)"
        }
        test "division by (X − a)" {
            for v in (root ()).GetProperty("division").EnumerateArray() do
                let p : Polynomial<'P, Coeff> = Polynomial.ofArray (arr (v.GetProperty "coeffs"))
                let struct (q, r) = Coefficients.divideByLinear p (el (v.GetProperty "a"))
                same (q.ToArray()) (arr (v.GetProperty "quotient")) "quotient"
                Expect.equal r (el (v.GetProperty "remainder")) "remainder"
        }
    ]

[<Tests>]
let tests =
    testList "poly" [
        ffts
        domainTests
        polynomialTests
        knownAnswers<PallasBase> "fp"
        knownAnswers<VestaBase> "fq"
    ]
