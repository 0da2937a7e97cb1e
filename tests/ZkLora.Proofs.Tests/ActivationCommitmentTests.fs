module ZkLora.Proofs.Tests.ActivationCommitmentTests

open System
open System.Globalization
open System.IO
open System.Text
open System.Threading
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Proofs
open ZkLora.Proofs.ActivationCommitment
open ZkLora.Proofs.ActivationReader
open ZkLora.Proofs.Tests.ActivationVectors

// ------------------------------------------------------------------ helpers

let private tempDir =
    lazy
        (let d = Path.Combine(Path.GetTempPath(), "zklora-activation-tests-" + Guid.NewGuid().ToString("N"))
         Directory.CreateDirectory d |> ignore
         d)

let private writeFile (text: string) =
    let path = Path.Combine(tempDir.Force(), Guid.NewGuid().ToString("N") + ".json")
    File.WriteAllText(path, text, UTF8Encoding(false))
    path

let private writeBytes (bytes: byte[]) =
    let path = Path.Combine(tempDir.Force(), Guid.NewGuid().ToString("N") + ".json")
    File.WriteAllBytes(path, bytes)
    path

let private hex32 (h: string) = (Bytes32.TryParseHex("0x" + h)).Value
let private none = CancellationToken.None

let private valuesJson (values: float[]) =
    let sb = StringBuilder("{\"input_data\": [")
    values |> Array.iteri (fun i v ->
        if i > 0 then sb.Append(", ") |> ignore
        sb.Append(v.ToString("R", CultureInfo.InvariantCulture)) |> ignore)
    sb.Append("]}").ToString()

/// Reads a file's values with the streaming reader.
let private readAll (path: string) =
    use s = File.OpenRead path
    let acc = ResizeArray<float>()
    read s acc.Add none |> Result.map (fun _ -> acc.ToArray())

let private readText (text: string) =
    use s = new MemoryStream(Encoding.UTF8.GetBytes text)
    let acc = ResizeArray<float>()
    read s acc.Add none |> Result.map (fun _ -> acc.ToArray())

let private expectOk msg r =
    match r with
    | Ok v -> v
    | Error e -> failtestf "%s: unexpected error %A" msg e

/// Straightforward level-by-level tree, written after the original Python's _merkle_root
/// (not the streaming builder): the leaf level is padded when odd, even a single leaf;
/// higher levels are padded when odd unless they are the root.
let private referenceLevels (nonce: Bytes32) (values: float[]) =
    let pad (level: Bytes32[]) = if level.Length % 2 = 1 then Array.append level [| Bytes32.Zero |] else level
    let levels = ResizeArray<Bytes32[]>()
    let mutable level = values |> Array.map (ActivationMerkle.leafHash nonce) |> pad
    levels.Add level
    while level.Length > 1 do
        let next = Array.init (level.Length / 2) (fun j -> ActivationMerkle.parentHash level[2 * j] level[2 * j + 1])
        level <- if next.Length = 1 then next else pad next
        levels.Add level
    levels

let private referenceRoot nonce (values: float[]) =
    if values.Length = 0 then Bytes32.Zero else (referenceLevels nonce values |> Seq.last)[0]

let private referencePath nonce (values: float[]) (index: int) =
    let lv = referenceLevels nonce values
    [ for k in 0 .. lv.Count - 2 -> lv[k][(index >>> k) ^^^ 1] ]

let private nonceA = hex32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
let private nonceB = hex32 "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"

/// Finite doubles: random bit patterns (all exponents, subnormals, both zeros), small
/// integers and hand-picked edge values.
let private finiteDouble: Gen<float> =
    let bits =
        Gen.four (Gen.choose (0, 65535))
        |> Gen.map (fun (a, b, c, d) ->
            BitConverter.Int64BitsToDouble(int64 ((uint64 a <<< 48) ||| (uint64 b <<< 32) ||| (uint64 c <<< 16) ||| uint64 d)))
        |> Gen.filter Double.IsFinite
    Gen.oneof
        [ bits
          Gen.choose (-1000, 1000) |> Gen.map float
          Gen.elements [ 0.0; -0.0; 5e-324; -5e-324; Double.MaxValue; Double.MinValue; 0.1; 1e22; 9007199254740994.0 ] ]

let private valuesArb = Arb.fromGen (Gen.arrayOf finiteDouble)
let private config = { FsCheckConfig.defaultConfig with maxTest = 200 }

let private mutateByte (b: Bytes32) (i: int) =
    let a = b.ToArray()
    a[i % 32] <- a[i % 32] ^^^ 0x01uy
    Bytes32.FromSpan(ReadOnlySpan<byte> a)

// ------------------------------------------------------------------ known answers

[<Tests>]
let knownAnswers =
    testList "activation commitment known answers (independent BLAKE3)" [
        for v in vectors do
            test $"root of '{v.Name}'" {
                let path = writeFile v.Json
                let c = commitFileWithNonce (hex32 v.Nonce) path none |> expectOk v.Name
                Expect.equal (c.Root.ToHex()) ("0x" + v.Root) "root"
                Expect.equal (c.Nonce.ToHex()) ("0x" + v.Nonce) "nonce kept"
            }
            test $"values of '{v.Name}' parse like Python's float()" {
                let values = readAll (writeFile v.Json) |> expectOk v.Name
                Expect.equal (int64 values.Length) v.Count "count"
                match v.ValueBits with
                | Some bits ->
                    let ours = values |> Array.map (fun x -> (BitConverter.DoubleToInt64Bits x).ToString("x16"))
                    Expect.sequenceEqual ours bits "IEEE bits"
                | None -> ()
                Expect.equal ((commitValues (hex32 v.Nonce) values).ToHex()) ("0x" + v.Root) "in-memory root"
            }
            test $"verify '{v.Name}' against its vector commitment" {
                let json = sprintf "{\"root\":\"0x%s\",\"nonce\":\"0x%s\"}" v.Root v.Nonce
                Expect.equal (verifyFile (writeFile v.Json) json none) (Ok true) "verifies"
                let upper = sprintf "{\"nonce\":\"0X%s\",\"root\":\"0X%s\"}" (v.Nonce.ToUpperInvariant()) (v.Root.ToUpperInvariant())
                Expect.equal (verifyFile (writeFile v.Json) upper none) (Ok true) "0X prefix, upper case, other order"
            }
            for (index, siblings) in v.Openings do
                test $"opening {index} of '{v.Name}'" {
                    let commitment = sprintf "{\"root\":\"0x%s\",\"nonce\":\"0x%s\"}" v.Root v.Nonce
                    let o = openFile (writeFile v.Json) commitment index none |> expectOk "open"
                    Expect.equal o.Count v.Count "count"
                    Expect.sequenceEqual (o.Siblings |> List.map (fun s -> s.ToHex())) (siblings |> Array.map ((+) "0x")) "siblings"
                    match v.ValueBits with
                    | Some bits -> Expect.equal ((BitConverter.DoubleToInt64Bits o.Value).ToString("x16")) bits[int index] "value"
                    | None -> ()
                    Expect.equal (verifyOpeningJson ("0x" + v.Root) (openingToJson o)) (Ok()) "opening verifies"
                }
        test "empty list commits to 32 zero bytes, a single value to its leaf padded once" {
            Expect.equal (commitValues nonceA [||]) Bytes32.Zero "empty"
            Expect.equal (commitValues nonceA [| 2.5 |]) (ActivationMerkle.parentHash (ActivationMerkle.leafHash nonceA 2.5) Bytes32.Zero) "single"
        }
    ]

// ------------------------------------------------------------------ tree shape and streaming

[<Tests>]
let treeTests =
    testList "activation Merkle tree" [
        testPropertyWithConfig config "streaming builder agrees with the level-by-level definition" <|
            Prop.forAll valuesArb (fun values -> commitValues nonceA values = referenceRoot nonceA values)

        test "block boundaries (2^16 values per parallel block) agree with the definition" {
            let rng = Random(7)
            for n in [ 65535; 65536; 65537; 65536 + 40001; 2 * 65536 + 3 ] do
                let values = Array.init n (fun _ -> rng.NextDouble() * 100.0 - 50.0)
                Expect.equal (commitValues nonceB values) (referenceRoot nonceB values) $"root n={n}"
                for index in [ 0; 1; 65535; 65536; 65537; 100000; n - 2; n - 1; n / 2 ] |> List.filter (fun i -> i < n) |> List.distinct do
                    let o = (openValues nonceB values (int64 index)).Value
                    Expect.equal o.Siblings (referencePath nonceB values index) $"path n={n} i={index}"
                    Expect.equal o.Value values[index] "value"
        }

        test "height and level lengths follow the padding rule" {
            for (n, h) in [ 0L, 0; 1L, 1; 2L, 1; 3L, 2; 4L, 2; 5L, 3; 8L, 3; 9L, 4; 65536L, 16; 65537L, 17 ] do
                Expect.equal (ActivationMerkle.height n) h $"height {n}"
            Expect.equal (ActivationMerkle.levelLength 5L 1) 3L "ceil(5/2)"
            Expect.equal (ActivationMerkle.levelLength 5L 2) 2L "ceil(5/4)"
            Expect.equal (ActivationMerkle.levelLength 5L 3) 1L "ceil(5/8)"
        }

        test "streams across reader buffer refills, with a 3 MB member to skip" {
            let rng = Random(11)
            let values = Array.init 120_000 (fun i -> if i % 3 = 0 then float (rng.Next(-100000, 100000)) else rng.NextDouble() * 1e-3)
            let big = String('x', 3_000_000)
            let text = "{\"pad\": \"" + big + "\", " + (valuesJson values).Substring(1)
            let path = writeFile text
            let c = commitFileWithNonce nonceA path none |> expectOk "commit"
            Expect.equal c.Root (referenceRoot nonceA values) "root over the streamed file"
        }

        test "a number token longer than the read buffer" {
            // 0.000…0001 with 1.5 million zeros: underflows to +0.0 in Python's float()
            let text = "{\"input_data\": [1, 0." + String('0', 1_500_000) + "1, 2]}"
            Expect.equal (readText text) (Ok [| 1.0; 0.0; 2.0 |]) "values"
        }

        test "UTF-8 byte order mark is accepted" {
            let bytes = Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (Encoding.UTF8.GetBytes "{\"input_data\": [1, 2]}")
            Expect.equal (readAll (writeBytes bytes)) (Ok [| 1.0; 2.0 |]) "values"
        }

        test "members other than input_data are skipped, including nested input_data keys" {
            let text = "{\"meta\": {\"input_data\": [9, 9], \"l\": [[{\"a\": 1}]]}, \"input_data\": [[1], 2], \"t\": [true, null]}"
            Expect.equal (readText text) (Ok [| 1.0; 2.0 |]) "values"
        }

        test "cancellation stops a commit" {
            use cts = new CancellationTokenSource()
            cts.Cancel()
            Expect.throwsT<OperationCanceledException> (fun () -> commitFile (writeFile "{\"input_data\": [1]}") cts.Token |> ignore) "cancelled"
        }

        test "fresh commitments use fresh nonces" {
            let path = writeFile "{\"input_data\": [1, 2, 3]}"
            let a = commitFile path none |> expectOk "a"
            let b = commitFile path none |> expectOk "b"
            Expect.notEqual a.Nonce b.Nonce "nonce differs"
            Expect.notEqual a.Root b.Root "root differs"
            Expect.equal (verifyFile path (commitmentToJson a) none) (Ok true) "a verifies"
            Expect.equal (verifyFile path (commitmentToJson b) none) (Ok true) "b verifies"
        }
    ]

// ------------------------------------------------------------------ tampering and malformed input

[<Tests>]
let tamperTests =
    let path = lazy (writeFile "{\"input_data\": [[1.5, -2], [3, 4, 5]]}")
    let commitment = lazy (commitFileWithNonce nonceA (path.Force()) none |> expectOk "commit")
    testList "activation commitment tampering and bad input" [
        test "a changed value is detected" {
            let other = writeFile "{\"input_data\": [[1.5, -2], [3, 4, 5.000000000000001]]}"
            Expect.equal (verifyFile other (commitmentToJson commitment.Value) none) (Ok false) "changed value"
        }
        test "a swapped order is detected" {
            let other = writeFile "{\"input_data\": [[-2, 1.5], [3, 4, 5]]}"
            Expect.equal (verifyFile other (commitmentToJson commitment.Value) none) (Ok false) "swapped"
        }
        test "a regrouping with the same depth-first order is the same commitment" {
            let other = writeFile "{\"input_data\": [1.5, [[-2, 3]], 4, [5]]}"
            Expect.equal (verifyFile other (commitmentToJson commitment.Value) none) (Ok true) "flattened order is what counts"
        }
        test "an extra or missing value is detected" {
            let extra = writeFile "{\"input_data\": [[1.5, -2], [3, 4, 5, 0]]}"
            let missing = writeFile "{\"input_data\": [[1.5, -2], [3, 4]]}"
            Expect.equal (verifyFile extra (commitmentToJson commitment.Value) none) (Ok false) "extra"
            Expect.equal (verifyFile missing (commitmentToJson commitment.Value) none) (Ok false) "missing"
        }
        test "a changed nonce or root is detected" {
            let c = commitment.Value
            for i in [ 0; 17; 31 ] do
                Expect.equal (verifyFile (path.Force()) (commitmentToJson { c with Nonce = mutateByte c.Nonce i }) none) (Ok false) "nonce"
                Expect.equal (verifyFile (path.Force()) (commitmentToJson { c with Root = mutateByte c.Root i }) none) (Ok false) "root"
        }
        test "malformed commitments are false, never errors" {
            let r = commitment.Value.Root.ToHex().Substring 2
            let n = commitment.Value.Nonce.ToHex().Substring 2
            let bad =
                [ null; ""; "not json"; "[]"; "{}"; "\"x\""
                  sprintf "{\"root\":\"1x%s\",\"nonce\":\"0x%s\"}" r n // bad prefix
                  sprintf "{\"root\":\"x%s\",\"nonce\":\"0x%s\"}" r n // bad prefix
                  sprintf "{\"root\":\"0x0x%s\",\"nonce\":\"0x%s\"}" (r.Substring 2) n // doubled prefix
                  sprintf "{\"root\":\"0x%s\",\"nonce\":\"0x%s\"}" r (n.Substring 32) // 16-byte nonce
                  sprintf "{\"root\":\" 0x%s\",\"nonce\":\"0x%s\"}" r n // white space
                  sprintf "{\"root\":\"0x%s\",\"nonce\":\"0x%s\"}" (r.Substring 2) n // 62 digits
                  sprintf "{\"root\":\"0x%s00\",\"nonce\":\"0x%s\"}" r n // 66 digits
                  sprintf "{\"root\":\"0x%sg\",\"nonce\":\"0x%s\"}" (r.Substring 1) n // non-hex
                  sprintf "{\"root\":\"0x%s\"}" r // no nonce
                  sprintf "{\"root\":\"0x%s\",\"nonce\":\"0x%s\",\"x\":1}" r n // extra member
                  sprintf "{\"root\":\"0x%s\",\"root\":\"0x%s\",\"nonce\":\"0x%s\"}" r r n // duplicate
                  sprintf "{\"root\":1,\"nonce\":\"0x%s\"}" n
                  sprintf "{\"root\":\"0x%s\",\"nonce\":\"0x%s\"} trailing" r n ]
            for b in bad do
                Expect.equal (verifyFile (path.Force()) b none) (Ok false) $"commitment {b}"
        }
        test "the 0x prefix is optional, as in the original" {
            let c = commitment.Value
            let r = c.Root.ToHex().Substring 2
            let n = c.Nonce.ToHex().Substring 2
            let json = sprintf "{\"root\": \"%s\", \"nonce\": \"%s\"}" r n // also Python's json.dumps spacing
            Expect.equal (verifyFile (path.Force()) json none) (Ok true) "no prefix"
        }
        test "missing file is a clear error" {
            let missing = Path.Combine(tempDir.Force(), "nope.json")
            Expect.equal (commitFile missing none) (Error(FileNotFound missing)) "commit"
            Expect.equal (verifyFile missing (commitmentToJson commitment.Value) none) (Error(FileNotFound missing)) "verify"
            Expect.equal (verifyFile missing "garbage" none) (Error(FileNotFound missing)) "missing file wins over bad commitment"
            Expect.stringContains (describeFileError (FileNotFound missing)) "does not exist" "message"
        }
        test "a directory is not a readable file" {
            match commitFile (tempDir.Force()) none with
            | Error(FileUnreadable _) | Error(FileNotFound _) -> ()
            | other -> failtestf "expected an error, got %A" other
        }
        test "malformed activation files name the problem and its position" {
            let cases: (string * (ActivationDataError -> bool)) list =
                [ "", (function MalformedJson _ -> true | _ -> false)
                  "{\"input_data\": [1, 2,]}", (function MalformedJson(1L, _, _) -> true | _ -> false)
                  "{\"input_data\": [1, 2]} x", (function MalformedJson _ -> true | _ -> false)
                  "{\"input_data\": [1, 2]", (function MalformedJson _ -> true | _ -> false)
                  "{\"input_data\": [1,\n 2,\n NaN]}", (function MalformedJson(3L, _, _) -> true | _ -> false)
                  "{\"input_data\": [Infinity]}", (function MalformedJson _ -> true | _ -> false)
                  "[1, 2]", (function TopLevelNotObject "a list" -> true | _ -> false)
                  "3", (function TopLevelNotObject "a number" -> true | _ -> false)
                  "{\"inputs\": [1]}", (function MissingInputData -> true | _ -> false)
                  "{\"input_data\": [1], \"input_data\": [2]}", (function DuplicateInputData 20L -> true | _ -> false)
                  "{\"input_data\": [[1, 2], [\"3\"]]}", (function NotANumber("input_data[1][0]", 25L, "a string") -> true | _ -> false)
                  "{\"input_data\": [1, true]}", (function NotANumber("input_data[1]", 19L, "a boolean") -> true | _ -> false)
                  "{\"input_data\": [null]}", (function NotANumber("input_data[0]", 16L, "null") -> true | _ -> false)
                  "{\"input_data\": [{\"a\": 1}]}", (function NotANumber("input_data[0]", 16L, "an object") -> true | _ -> false)
                  "{\"input_data\": \"1.5\"}", (function NotANumber("input_data", 15L, "a string") -> true | _ -> false)
                  "{\"input_data\": [1e400]}", (function NumberOutOfRange("input_data[0]", 16L, "1e400") -> true | _ -> false)
                  "{\"input_data\": [1, -" + String('9', 400) + "]}", (function NumberOutOfRange("input_data[1]", 19L, _) -> true | _ -> false)
                  "{\"input_data\": " + String('[', 300) + String(']', 300) + "}", (function NestingTooDeep(_, 256) -> true | _ -> false) ]
            for (text, expected) in cases do
                let path = writeFile text
                match commitFile path none with
                | Error(InvalidData(p, problem)) ->
                    Expect.equal p path "path"
                    Expect.isTrue (expected problem) $"{text.Substring(0, min 40 text.Length)} -> {problem}"
                    Expect.stringContains (describeFileError (InvalidData(p, problem))) path "message names the file"
                | other -> failtestf "%s: expected InvalidData, got %A" text other
        }
        test "error messages say where" {
            Expect.equal (describe (NotANumber("input_data[1][0]", 26L, "a string")))
                "input_data[1][0] (byte 26) must be a number or a list, found a string" "not a number"
            Expect.stringContains (describe (MalformedJson(3L, 2L, "x"))) "line 3, column 2" "json"
        }
    ]

// ------------------------------------------------------------------ openings

let private openingsOf (values: float[]) =
    [ for i in 0 .. values.Length - 1 -> (openValues nonceA values (int64 i)).Value ]

[<Tests>]
let openingTests =
    testList "activation openings" [
        test "every index of sizes 1..70 opens and verifies, with the reference path" {
            for n in 1 .. 70 do
                let values = Array.init n (fun i -> float (i * i) - 3.5)
                let root = commitValues nonceA values
                for o in openingsOf values do
                    Expect.equal (verifyOpening root o) (Ok()) $"n={n} i={o.Index}"
                    Expect.equal o.Siblings (referencePath nonceA values (int o.Index)) "path"
                    Expect.equal (List.length o.Siblings) (ActivationMerkle.height (int64 n)) "length = height"
        }

        testPropertyWithConfig { config with maxTest = 60 } "openings of every index round-trip through JSON and verify" <|
            Prop.forAll valuesArb (fun values ->
                let root = commitValues nonceA values
                openingsOf values
                |> List.forall (fun o ->
                    let json = openingToJson o
                    match parseOpening json with
                    | Ok back ->
                        BitConverter.DoubleToInt64Bits back.Value = BitConverter.DoubleToInt64Bits o.Value
                        && back = { o with Value = back.Value }
                        && verifyOpeningJson (root.ToHex()) json = Ok()
                    | Error _ -> false))

        testPropertyWithConfig config "tampered openings are rejected" <|
            Prop.forAll (Arb.fromGen (Gen.zip (Gen.arrayOf finiteDouble |> Gen.filter (fun a -> a.Length >= 2)) (Gen.choose (0, 1 <<< 20))))
                (fun (values, seed) ->
                    let n = values.Length
                    let root = commitValues nonceA values
                    let o = (openValues nonceA values (int64 (seed % n))).Value
                    let rejected o' = verifyOpening root o' |> Result.isError
                    let otherIndex = (o.Index + 1L + int64 (seed % (n - 1))) % int64 n
                    let k = seed % o.Siblings.Length
                    let altered = o.Siblings |> List.mapi (fun j s -> if j = k then mutateByte s seed else s)
                    // the neighbouring double (one ulp away), staying finite
                    let up = Math.BitIncrement o.Value
                    let otherValue = if Double.IsFinite up then up else Math.BitDecrement o.Value
                    // moving the claim to another index is only a lie if that index holds another value
                    let sameValueThere = BitConverter.DoubleToInt64Bits values[int otherIndex] = BitConverter.DoubleToInt64Bits o.Value
                    (sameValueThere || rejected { o with Index = otherIndex })
                    && rejected { o with Value = otherValue }
                    && rejected { o with Siblings = altered }
                    && rejected { o with Nonce = mutateByte o.Nonce seed }
                    && verifyOpening (mutateByte root seed) o = Error ActivationMerkle.RootMismatch
                    && rejected { o with Siblings = List.tail o.Siblings }
                    && rejected { o with Siblings = o.Siblings @ [ Bytes32.Zero ] }
                    && rejected { o with Index = int64 n + int64 seed; Count = int64 n })

        test "-0.0 and +0.0 open differently" {
            let values = [| -0.0; 0.0 |]
            let root = commitValues nonceA values
            let o0 = (openValues nonceA values 0L).Value
            Expect.equal (BitConverter.DoubleToInt64Bits o0.Value) Int64.MinValue "-0.0 kept"
            Expect.stringContains (openingToJson o0) "\"value\":-0," "written as -0"
            Expect.equal (verifyOpening root { o0 with Value = 0.0 }) (Error ActivationMerkle.RootMismatch) "+0.0 rejected"
        }

        test "a claimed count is accepted exactly when the path looks the same under it" {
            // The root does not encode the count, so the check is structural: same height and
            // the same padding pattern along this path. Opening the last index pins the count.
            for n in 1 .. 40 do
                let values = Array.init n float
                let root = commitValues nonceA values
                for o in openingsOf values do
                    for c in 1L .. 80L do
                        let h = ActivationMerkle.height c
                        let samePattern =
                            h = ActivationMerkle.height (int64 n) && o.Index < c
                            && List.forall (fun k ->
                                let s = (o.Index >>> k) ^^^ 1L
                                (s >= ActivationMerkle.levelLength c k) = (s >= ActivationMerkle.levelLength (int64 n) k)) [ 0 .. h - 1 ]
                        let accepted = verifyOpening root { o with Count = c } = Ok()
                        Expect.equal accepted samePattern $"n={n} i={o.Index} claimed count {c}"
                        if o.Index = int64 n - 1L && c <> int64 n then
                            Expect.isFalse accepted $"last index pins the count: n={n} c={c}"
        }

        test "specific rejection reasons" {
            let values = Array.init 5 float
            let root = commitValues nonceA values
            let o = (openValues nonceA values 4L).Value
            Expect.equal (verifyOpening root { o with Index = 5L }) (Error(ActivationMerkle.IndexNotBelowCount(5L, 5L))) "index = count"
            Expect.equal (verifyOpening root { o with Index = -1L }) (Error(ActivationMerkle.IndexNotBelowCount(-1L, 5L))) "negative"
            Expect.equal (verifyOpening root { o with Count = 9L }) (Error(ActivationMerkle.WrongPathLength(4, 3))) "height 4"
            // index 4 of 5: level 0 sibling (5) is padding
            Expect.equal (verifyOpening root { o with Siblings = nonceB :: List.tail o.Siblings }) (Error(ActivationMerkle.PaddingSiblingNotZero 0)) "padding"
            let o1 = (openValues nonceA values 1L).Value
            Expect.equal (verifyOpening root { o1 with Siblings = Bytes32.Zero :: List.tail o1.Siblings }) (Error(ActivationMerkle.RealSiblingIsZero 0)) "real"
            Expect.equal (verifyOpening root { o1 with Index = 0L }) (Error ActivationMerkle.RootMismatch) "wrong index"
        }

        test "opening a file checks the commitment and the index" {
            let path = writeFile "{\"input_data\": [[1, 2], [3]]}"
            let c = commitFileWithNonce nonceA path none |> expectOk "commit"
            let json = commitmentToJson c
            Expect.equal (openFile path json 3L none) (Error(IndexOutOfRange(3L, 3L))) "index = count"
            Expect.equal (openFile path json -1L none) (Error(IndexOutOfRange(-1L, 3L))) "negative"
            Expect.equal (openFile path "{}" 0L none) (Error MalformedCommitment) "bad commitment"
            Expect.equal (openFile path (commitmentToJson { c with Nonce = nonceB }) 0L none) (Error CommitmentMismatch) "other nonce"
            let other = writeFile "{\"input_data\": [[1, 2], [4]]}"
            Expect.equal (openFile other json 0L none) (Error CommitmentMismatch) "other file"
            let missing = Path.Combine(tempDir.Force(), "missing.json")
            Expect.equal (openFile missing json 0L none) (Error(FileError(FileNotFound missing))) "missing"
            let o = openFile path json 2L none |> expectOk "open"
            Expect.equal o.Value 3.0 "value"
            Expect.equal (verifyOpeningJson (c.Root.ToHex()) (openingToJson o)) (Ok()) "verifies"
        }

        test "opening JSON is strict" {
            let values = [| 1.0; 2.0; 3.0 |]
            let root = commitValues nonceA values
            let good = openingToJson (openValues nonceA values 1L).Value
            Expect.equal (verifyOpeningJson (root.ToHex()) good) (Ok()) "good"
            let edit (f: string -> string) = f good
            let sib = (openValues nonceA values 1L).Value.Siblings.Head.ToHex()
            let bad =
                [ "not json"; "[]"; "null"; "{}"
                  edit (fun s -> s.Replace("zklora-blake3-merkle-v1", "zklora-blake3-merkle-v2"))
                  edit (fun s -> s.Replace("\"count\":3", "\"count\":\"3\""))
                  edit (fun s -> s.Replace("\"count\":3", "\"count\":3.0"))
                  edit (fun s -> s.Replace("\"count\":3", "\"count\":3e0"))
                  edit (fun s -> s.Replace("\"index\":1", "\"index\":-1"))
                  edit (fun s -> s.Replace("\"value\":2", "\"value\":\"2\""))
                  edit (fun s -> s.Replace("\"value\":2", "\"value\":1e400"))
                  edit (fun s -> s.Replace(",\"index\":1", ""))
                  edit (fun s -> s.Replace("{", "{\"index\":1,"))
                  edit (fun s -> s.Replace("{", "{\"root\":\"" + root.ToHex() + "\","))
                  edit (fun s -> s.Replace(sib, sib.Substring(0, 64)))
                  edit (fun s -> s.Replace(sib, "0y" + sib.Substring 2))
                  edit (fun s -> s.Replace("\"siblings\":[", "\"siblings\":[1,"))
                  edit (fun s -> s.Replace("\"siblings\":[", "\"siblings\":[" + String.replicate 65 ("\"" + sib + "\",")))
                  good + "}"
                  "{" + String(' ', MaxJsonChars) + "}" ]
            for b in bad do
                match verifyOpeningJson (root.ToHex()) b with
                | Error(MalformedOpening _) -> ()
                | other -> failtestf "accepted or misclassified %s: %A" (b.Substring(0, min 120 b.Length)) other
            Expect.equal (verifyOpeningJson "0x1234" good) (Error MalformedRoot) "bad root"
            Expect.equal (verifyOpeningJson (root.ToHex().ToUpperInvariant().Replace("0X", "0X")) good) (Ok()) "0X root"
            Expect.equal (verifyOpeningJson ("0x" + String('0', 64)) good) (Error(PathRejected ActivationMerkle.RootMismatch)) "wrong root"
        }
    ]
