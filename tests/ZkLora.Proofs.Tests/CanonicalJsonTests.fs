module ZkLora.Proofs.Tests.CanonicalJsonTests

open System
open System.Numerics
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Proofs
open ZkLora.Proofs.Tests.ProofsKat

let private vectors = load "canonical_json.json"

let knownAnswers =
    testList "canonical JSON known answers (Python json)" [
        test "values: parse any layout, write canonical, digest" {
            for c in vectors.Value.GetProperty("values").EnumerateArray() do
                let name = c.GetProperty("name").GetString()
                let v = expectOk (CanonicalJson.parse (c.GetProperty("input").GetString())) name
                Expect.equal (expectOk (CanonicalJson.toCanonicalString v) name) (c.GetProperty("canonical").GetString()) name
                Expect.equal (expectOk (CanonicalJson.digest v) name) (c.GetProperty("sha256").GetString()) name
                // the canonical text is a fixed point
                let again = expectOk (CanonicalJson.parse (c.GetProperty("canonical").GetString())) name
                Expect.equal (CanonicalJson.toCanonicalString again) (Ok(c.GetProperty("canonical").GetString())) name
        }
    ]

/// Random JSON values of the artifact subset, with string content that stresses escaping.
let private genJson =
    let chars = Gen.elements [ 'a'; 'Z'; '0'; ' '; '"'; '\\'; '/'; '\n'; '\t'; '\u0000'; '\u001f'; '\u007f'; 'é'; '€'; '\ue000'; '\ufeff' ]
    let genString =
        Gen.frequency [ 5, Gen.choose (0, 6) |> Gen.bind (fun n -> Gen.arrayOfLength n chars) |> Gen.map String
                        1, Gen.constant "😀x" ]
    let genInt =
        Gen.frequency [ 3, Gen.choose (-1000, 1000) |> Gen.map BigInteger
                        1, Gen.choose (0, 300) |> Gen.map (fun k -> (BigInteger.One <<< k) - BigInteger 7) ]
    let rec go depth =
        if depth = 0 then Gen.oneof [ genString |> Gen.map JString; genInt |> Gen.map JInt ]
        else
            Gen.frequency [
                2, go 0
                1, Gen.choose (0, 4) |> Gen.bind (fun n -> Gen.listOfLength n (go (depth - 1))) |> Gen.map JArray
                1, Gen.choose (0, 4) |> Gen.bind (fun n -> Gen.listOfLength n (Gen.zip genString (go (depth - 1))))
                   |> Gen.map (fun kvs -> JObject(List.distinctBy fst kvs)) ]
    go 4

let rec private sortKeys (v: JValue) =
    match v with
    | JObject fields -> JObject(fields |> List.map (fun (k, x) -> k, sortKeys x) |> List.sortWith (fun (a, _) (b, _) -> CanonicalJson.compareKeys a b))
    | JArray items -> JArray(List.map sortKeys items)
    | other -> other

let rec private shuffleKeys (rnd: Random) (v: JValue) =
    match v with
    | JObject fields -> JObject(fields |> List.map (fun (k, x) -> k, shuffleKeys rnd x) |> List.sortBy (fun _ -> rnd.Next()))
    | JArray items -> JArray(List.map (shuffleKeys rnd) items)
    | other -> other

let properties =
    testList "canonical JSON properties" [
        testPropertyWithConfig config "parse (canonical v) = v with sorted keys; output is pure ASCII" (
            Prop.forAll (Arb.fromGen genJson) (fun v ->
                match CanonicalJson.toCanonicalString v with
                | Error _ -> false
                | Ok text -> text |> Seq.forall (fun c -> c >= ' ' && c <= '~') && CanonicalJson.parse text = Ok(sortKeys v)))
        testPropertyWithConfig config "byte-stable regardless of key order and whitespace" (
            Prop.forAll (Arb.fromGen (Gen.zip genJson (Gen.choose (0, 10000)))) (fun (v, seed) ->
                let shuffled = shuffleKeys (Random seed) v
                let pretty = Json.Nodes.JsonNode.Parse(Result.defaultValue "" (CanonicalJson.toCanonicalString shuffled)).ToJsonString(Json.JsonSerializerOptions(WriteIndented = true))
                let reparsed = CanonicalJson.parse pretty
                match reparsed with
                | Ok r -> CanonicalJson.toCanonicalBytes r = CanonicalJson.toCanonicalBytes v && CanonicalJson.digest r = CanonicalJson.digest v
                | Error _ -> false))
        test "code point order differs from UTF-16 order for supplementary characters" {
            Expect.isLessThan (CanonicalJson.compareKeys "\ue000" "😀") 0 "U+E000 < U+1F600"
            Expect.isLessThan (String.CompareOrdinal("😀", "\ue000")) 0 "but UTF-16 order is the other way"
        }
    ]

let private parseError (text: string) (fragment: string) = expectError (CanonicalJson.parse text) fragment text

let negatives =
    testList "canonical JSON rejects" [
        test "fractions" { parseError """{"a":1.5}""" "not an integer" }
        test "exponents" { parseError """{"a":1e3}""" "not an integer" }
        test "negative zero with fraction" { parseError """[-0.0]""" "not an integer" }
        test "booleans" { parseError """{"a":true}""" "booleans" }
        test "null" { parseError """{"a":null}""" "null" }
        test "duplicate keys" { parseError """{"a":1,"a":2}""" "duplicate key 'a'" }
        test "nested duplicate keys name the path" { parseError """{"x":[{"k":1,"k":1}]}""" "$.x[0]" }
        test "invalid JSON" { parseError """{"a":}""" "invalid JSON" }
        test "trailing commas" { parseError """[1,2,]""" "invalid JSON" }
        test "comments" { parseError """[1 /* c */]""" "invalid JSON" }
        test "trailing garbage" { parseError """[1] x""" "invalid JSON" }
        test "empty input" { parseError "" "invalid JSON" }
        test "excessive nesting" { parseError (String('[', 200) + String(']', 200)) "invalid JSON" }
        test "huge integer literals" { parseError ("[" + String('9', 101) + "]") "more than 100 digits" }
        test "lone surrogate escape" { parseError "[\"\\ud800\"]" "not valid Unicode" }
        test "invalid UTF-8 bytes" {
            expectError (CanonicalJson.parseBytes (ReadOnlyMemory [| byte '"'; 0xFFuy; byte '"' |])) "not valid" "0xFF in a string"
            expectError (CanonicalJson.parseBytes (ReadOnlyMemory [| byte '['; 0xC3uy; byte ']' |])) "invalid JSON" "0xC3 outside a string"
        }
        test "null text" { expectError (CanonicalJson.parse null) "null" "null" }
        test "writer: duplicate keys" { expectError (CanonicalJson.toCanonicalString (JObject [ "a", JInt BigInteger.One; "a", JInt BigInteger.One ])) "duplicate" "dup" }
        test "writer: lone surrogates" {
            // (built from chars: the F# compiler replaces lone surrogates in literals by U+FFFD)
            expectError (CanonicalJson.toCanonicalString (JString(String [| char 0xD800; 'x' |]))) "lone high surrogate" "high"
            expectError (CanonicalJson.toCanonicalString (JString(String [| 'x'; char 0xDC00 |]))) "lone low surrogate" "low"
            expectError (CanonicalJson.toCanonicalString (JObject [ String [| char 0xD800 |], JInt BigInteger.One ])) "lone high surrogate" "key"
        }
        test "writer: excessive nesting" {
            let deep = List.fold (fun v _ -> JArray [ v ]) (JInt BigInteger.Zero) [ 1..100 ]
            expectError (CanonicalJson.toCanonicalString deep) "nests too deeply" "deep"
        }
    ]

[<Tests>]
let tests = testList "CanonicalJson" [ knownAnswers; properties; negatives ]
