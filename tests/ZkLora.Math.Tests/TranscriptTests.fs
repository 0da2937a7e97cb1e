module ZkLora.Math.Tests.TranscriptTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Math.Transcript
open ZkLora.Math.Tests.Generators

/// One absorb/squeeze step, so tests can build and perturb whole histories.
type private Step =
    | Bytes of string * byte[]
    | Scalar of string * Fp
    | Point of string * byte[]
    | Challenge of string

/// Runs the steps and returns every challenge squeezed.
let private run (domain: string) (steps: Step list) : Fp list =
    use t = Transcript.create domain
    [ for s in steps do
        match s with
        | Bytes (l, d) -> Transcript.absorbBytes t l d
        | Scalar (l, x) -> Transcript.absorbScalar t l x
        | Point (l, p) -> Transcript.absorbPoint t l p
        | Challenge l -> yield Transcript.squeezeChallenge t l ]

let private lastChallenge domain steps = run domain (steps @ [ Challenge "final" ]) |> List.last

let private bytesGen maxLen =
    gen {
        let! len = Gen.choose (0, maxLen)
        return! Gen.arrayOfLength len (Gen.choose (0, 255) |> Gen.map byte)
    }

let private labelGen = Gen.elements [ "a"; "b"; "commitment"; "eval"; ""; "λ" ]

let private stepGen =
    Gen.oneof [
        Gen.map2 (fun l d -> Bytes (l, d)) labelGen (bytesGen 70)
        Gen.map2 (fun l x -> Scalar (l, x)) labelGen fieldElement<PallasBase>
        Gen.map2 (fun l d -> Point (l, d)) labelGen (Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte))
        Gen.map Challenge labelGen
    ]

let private historyArb = Arb.fromGen (Gen.listOf stepGen |> Gen.map (List.truncate 12))

/// A different history: one step's label or data changed (how = 0, 1), or a step swapped
/// with the next one (how = 2; None when both are equal).
let private perturb (steps: Step list) (which: int) (how: int) : Step list option =
    let arr = List.toArray steps
    let i = which % arr.Length
    let replace s =
        let c = Array.copy arr
        c[i] <- s
        Some (Array.toList c)
    match how, arr[i] with
    | 0, Bytes (l, d) -> replace (Bytes (l + "'", d))
    | 0, Scalar (l, x) -> replace (Scalar (l + "'", x))
    | 0, Point (l, p) -> replace (Point (l + "'", p))
    | 0, Challenge l -> replace (Challenge (l + "'"))
    | 1, Bytes (l, d) -> replace (Bytes (l, Array.append d [| 0uy |]))
    | 1, Scalar (l, x) -> replace (Scalar (l, x + Fp.One))
    | 1, Point (l, p) -> replace (Point (l, Array.mapi (fun j b -> if j = 0 then b ^^^ 1uy else b) p))
    | 1, Challenge _ -> replace (Bytes ("x", [||]))
    | _ ->
        let j = (i + 1) % arr.Length
        if arr[i] = arr[j] then None
        else
            let c = Array.copy arr
            c[i] <- arr[j]
            c[j] <- arr[i]
            Some (Array.toList c)

// ---- known answers from tests/vectors/transcript.mjs (Node, @noble/hashes BLAKE3, BigInt) ----

let private vectors = lazy (JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "transcript.json"))))

let private knownAnswers =
    test "known answers (Node + @noble/hashes)" {
        let big (s: string) = BigInteger.Parse("0" + s.Substring 2, Globalization.NumberStyles.HexNumber)
        let root = vectors.Value.RootElement
        Expect.equal (root.GetProperty("version").GetString()) Transcript.Version "encoding version"
        let mutable checkedChallenges = 0
        for tv in root.GetProperty("transcripts").EnumerateArray() do
            use t = Transcript.create (tv.GetProperty("domain").GetString())
            for op in tv.GetProperty("ops").EnumerateArray() do
                let label = op.GetProperty("label").GetString()
                let str (name: string) = op.GetProperty(name).GetString()
                match str "op" with
                | "bytes" -> t.AbsorbBytes(label, ReadOnlySpan(Convert.FromHexString(str "data")))
                | "point" -> t.AbsorbPoint(label, ReadOnlySpan(Convert.FromHexString(str "data")))
                | "scalar" when str "field" = "Fp" -> t.AbsorbScalar(label, Fp.OfBigInteger(big (str "value")))
                | "scalar" -> t.AbsorbScalar(label, Fq.OfBigInteger(big (str "value")))
                | "challenge" when str "field" = "Fp" ->
                    Expect.equal ((t.SqueezeChallenge<PallasBase> label).ToBigInteger()) (big (str "value")) (sprintf "Fp challenge %s" label)
                    checkedChallenges <- checkedChallenges + 1
                | "challenge" ->
                    Expect.equal ((t.SqueezeChallenge<VestaBase> label).ToBigInteger()) (big (str "value")) (sprintf "Fq challenge %s" label)
                    checkedChallenges <- checkedChallenges + 1
                | "squeeze_bytes" ->
                    let out = Transcript.squeezeBytes t label (op.GetProperty("len").GetInt32())
                    Expect.equal (Convert.ToHexString(out).ToLowerInvariant()) (str "out") (sprintf "bytes %s" label)
                    checkedChallenges <- checkedChallenges + 1
                | other -> failtestf "unknown op %s" other
        Expect.equal checkedChallenges 9 "every squeeze of the vectors was checked"
    }

[<Tests>]
let tests =
    testList "transcript" [
        knownAnswers
        testPropertyWithConfig config "deterministic: same history, same challenges" <| Prop.forAll historyArb (fun steps ->
            lastChallenge "d" steps = lastChallenge "d" steps)
        testPropertyWithConfig config "any change of label, data or order changes the next challenge" <| Prop.forAll (Arb.fromGen (Gen.zip3 (historyArb.Generator |> Gen.filter (not << List.isEmpty)) (Gen.choose (0, 100)) (Gen.choose (0, 2)))) (fun (steps, which, how) ->
            match perturb steps which how with
            | None -> true
            | Some other -> other = steps || lastChallenge "d" other <> lastChallenge "d" steps)
        testPropertyWithConfig config "the domain separates transcripts" <| Prop.forAll historyArb (fun steps ->
            lastChallenge "protocol-A" steps <> lastChallenge "protocol-B" steps)
        test "successive squeezes differ; all later challenges change" {
            let cs = run "d" [ Challenge "c"; Challenge "c"; Challenge "c" ]
            Expect.equal (List.distinct cs |> List.length) 3 "ratchet"
            let a = run "d" [ Bytes ("m", [| 1uy |]); Challenge "x"; Scalar ("s", Fp.One); Challenge "y"; Challenge "z" ]
            let b = run "d" [ Bytes ("m", [| 2uy |]); Challenge "x"; Scalar ("s", Fp.One); Challenge "y"; Challenge "z" ]
            List.iter2 (fun (x: Fp) y -> Expect.notEqual x y "every later challenge differs") a b
        }
        test "kinds of value are separated: same 32 bytes as scalar, point or bytes" {
            let x = Fp.OfUInt64 42UL
            let enc = x.ToBytes()
            let viaScalar = lastChallenge "d" [ Scalar ("v", x) ]
            let viaPoint = lastChallenge "d" [ Point ("v", enc) ]
            let viaBytes = lastChallenge "d" [ Bytes ("v", enc) ]
            Expect.equal (List.distinct [ viaScalar; viaPoint; viaBytes ] |> List.length) 3 "tags separate kinds"
        }
        test "boundaries are unambiguous: (ab, c) ≠ (a, bc) in labels and data" {
            let c1 = lastChallenge "d" [ Bytes ("ab", [| 1uy |]) ]
            let c2 = lastChallenge "d" [ Bytes ("a", Array.append "b"B [| 1uy |]) ]
            Expect.notEqual c1 c2 "label/data boundary"
            let c3 = lastChallenge "d" [ Bytes ("a", [| 1uy; 2uy |]); Bytes ("a", [||]) ]
            let c4 = lastChallenge "d" [ Bytes ("a", [| 1uy |]); Bytes ("a", [| 2uy |]) ]
            Expect.notEqual c3 c4 "record boundary"
        }
        test "Fp and Fq challenges and byte squeezes of different lengths are separated" {
            use t1 = Transcript.create "d"
            use t2 = Transcript.create "d"
            let p = Transcript.squeezeChallenge t1 "c"
            let q = Transcript.squeezeChallengeFq t2 "c"
            Expect.notEqual (p.ToBytes()) (q.ToBytes()) "field kind is absorbed"
            use t3 = Transcript.create "d"
            use t4 = Transcript.create "d"
            let short = Transcript.squeezeBytes t3 "n" 32
            let long = Transcript.squeezeBytes t4 "n" 64
            Expect.notEqual short long[0..31] "length is absorbed (no XOF prefix relation)"
        }
        test "bad input is rejected" {
            use t = Transcript.create "d"
            Expect.throwsT<ArgumentException> (fun () -> Transcript.absorbPoint t "p" (Array.zeroCreate 31)) "point length"
            Expect.throwsT<ArgumentException> (fun () -> Transcript.absorbPoint t "p" (Array.zeroCreate 33)) "point length"
            Expect.throwsT<ArgumentNullException> (fun () -> Transcript.absorbBytes t null [||]) "null label"
            Expect.throwsT<ArgumentNullException> (fun () -> Transcript.create null |> ignore) "null domain"
            let t2 = Transcript.create "d"
            (t2 :> IDisposable).Dispose()
            Expect.throwsT<ObjectDisposedException> (fun () -> Transcript.squeezeChallenge t2 "c" |> ignore) "disposed"
        }
    ]
