module ZkLora.Proofs.Tests.AdapterCommitmentTests

open System
open System.IO
open System.Numerics
open System.Text.Json
open Expecto
open FsCheck
open FsCheck.FSharp
open ZkLora.Math
open ZkLora.Proofs
open ZkLora.Proofs.FixedPoint
open ZkLora.Proofs.AdapterCommitment
open ZkLora.Proofs.Tests.ProofsKat

let private vectors = load "adapter_commitment.json"

let private matrix (e: JsonElement) = [| for r in e.EnumerateArray() -> strings r |> Array.map dec |]

let knownAnswers =
    testList "adapter commitment known answers (Python)" [
        test "message and commitment" {
            let cases = vectors.Value.GetProperty("cases")
            Expect.isGreaterThan (cases.GetArrayLength()) 10 "case count"
            for c in cases.EnumerateArray() do
                let sh = [| for v in c.GetProperty("shape").EnumerateArray() -> v.GetInt32() |]
                let cf = [| for v in c.GetProperty("config").EnumerateArray() -> v.GetInt32() |]
                let shape = { InDim = sh[0]; Rank = sh[1]; OutDim = sh[2] }
                let cfg = { ScaleBits = cf[0]; ValueBits = cf[1]; IntermediateBits = cf[2] }
                let s = { Num = dec (c.GetProperty("num").GetString()); Den = dec (c.GetProperty("den").GetString()) }
                let salt = expectOk (ofHex (c.GetProperty("salt").GetString())) "salt"
                let a, b = matrix (c.GetProperty "A"), matrix (c.GetProperty "B")
                let label = sprintf "%A %A" shape cfg
                let msg = expectOk (message shape cfg s salt a b) label
                Expect.equal (msg |> Array.map toHex) (strings (c.GetProperty "message")) (label + " message")
                let cm = expectOk (commit shape cfg s salt a b) label
                Expect.equal (toHex cm) (c.GetProperty("commitment").GetString()) (label + " commitment")
        }
        test "domain tag encoding" {
            Expect.equal ((tagElement domainTag).ToBigInteger()) (BigInteger(Text.Encoding.ASCII.GetBytes "zklora.adapter.v1", isUnsigned = true, isBigEndian = true)) "tag"
            Expect.equal (weightsPerElement defaultConfig) 3 "3 weights of 63 bits per element"
        }
    ]

let private genPacking =
    gen {
        let! vb = Gen.choose (2, 250)
        let cfg = { ScaleBits = 0; ValueBits = vb; IntermediateBits = 250 }
        let! n = Gen.choose (0, 20)
        let! ws = Gen.arrayOfLength n (genBounded (valueBound cfg))
        return cfg, ws
    }

let properties =
    testList "adapter commitment properties" [
        testPropertyWithConfig config "unpack (pack w) = w; every element < 2^250" (
            Prop.forAll (Arb.fromGen genPacking) (fun (cfg, ws) ->
                match packWeights cfg ws with
                | Error _ -> false
                | Ok packed ->
                    packed |> Array.forall (fun e -> e.ToBigInteger() < (BigInteger.One <<< 250))
                    && packed.Length = (ws.Length + weightsPerElement cfg - 1) / weightsPerElement cfg
                    && unpackWeights cfg ws.Length packed = Ok ws))
        testPropertyWithConfig config "packing is injective: changing one weight changes the packed message" (
            Prop.forAll (Arb.fromGen (Gen.zip genPacking (Gen.choose (0, 1000)))) (fun ((cfg, ws), seed) ->
                ws.Length = 0 ||
                    let i = seed % ws.Length
                    let vb = valueBound cfg
                    let ws2 = Array.copy ws
                    ws2[i] <- if ws[i] = vb then ws[i] - BigInteger.One else ws[i] + BigInteger.One
                    packWeights cfg ws <> packWeights cfg ws2))
        testPropertyWithConfig config "toHex / ofHex round trip" (
            Prop.forAll (Arb.fromGen (Gen.arrayOfLength 32 (Gen.choose (0, 255) |> Gen.map byte))) (fun bytes ->
                let v = Fp.OfBigInteger(BigInteger(ReadOnlySpan bytes, isUnsigned = true))
                let h = toHex v
                h.Length = 66 && ofHex h = Ok v))
        test "different salts give different commitments; same inputs are deterministic" {
            let shape = { InDim = 2; Rank = 1; OutDim = 2 }
            let a, b = [| [| BigInteger 5; BigInteger -7 |] |], [| [| BigInteger 1 |]; [| BigInteger 2 |] |]
            let s = { Num = BigInteger.One; Den = BigInteger.One }
            let s1, s2 = newSalt (), newSalt ()
            Expect.notEqual s1 s2 "fresh salts differ"
            let c1 = expectOk (commit shape defaultConfig s s1 a b) "c1"
            Expect.equal (commit shape defaultConfig s s1 a b) (Ok c1) "deterministic"
            Expect.notEqual (commit shape defaultConfig s s2 a b) (Ok c1) "salt changes the commitment"
        }
        test "salt file round trip, owner-only permissions, no overwrite" {
            let dir = Directory.CreateTempSubdirectory("zklora-salt-")
            try
                let name = expectOk (saltFileName "h.0.attn.c_attn") "name"
                Expect.equal name "h.0.attn.c_attn.zklora.salt.json" "file name"
                let path = Path.Combine(dir.FullName, name)
                let salt = newSalt ()
                expectOk (writeSaltFile path salt) "write"
                Expect.equal (readSaltFile path) (Ok salt) "read back"
                Expect.equal (File.ReadAllText path) (sprintf "{\"salt\":\"%s\"}" (toHex salt)) "canonical content"
                if not (OperatingSystem.IsWindows()) then
                    Expect.equal (File.GetUnixFileMode path) (UnixFileMode.UserRead ||| UnixFileMode.UserWrite) "0600"
                expectError (writeSaltFile path (newSalt ())) "already exists" "no overwrite"
                Expect.equal (readSaltFile path) (Ok salt) "original kept"
            finally
                dir.Delete true
        }
    ]

let private shape = { InDim = 2; Rank = 1; OutDim = 2 }
let private okA = [| [| BigInteger 1; BigInteger 2 |] |]
let private okB = [| [| BigInteger 3 |]; [| BigInteger 4 |] |]
let private one = { Num = BigInteger.One; Den = BigInteger.One }

let negatives =
    testList "adapter commitment rejects" [
        test "zero or huge dims" {
            expectError (commit { shape with Rank = 0 } defaultConfig one Fp.One okA okB) "rank" "rank 0"
            expectError (commit { shape with InDim = maxDim + 1 } defaultConfig one Fp.One okA okB) "in_dim" "huge"
        }
        test "A shape mismatch" { expectError (commit shape defaultConfig one Fp.One [| [| BigInteger.One |] |] okB) "A row 0" "A cols" }
        test "B shape mismatch" { expectError (commit shape defaultConfig one Fp.One okA [| [| BigInteger.One |] |]) "B must have 2 rows" "B rows" }
        test "ragged B" { expectError (commit shape defaultConfig one Fp.One okA [| [| BigInteger.One |]; [||] |]) "B row 1" "ragged" }
        test "weight out of bounds" {
            let big = valueBound defaultConfig + BigInteger.One
            expectError (commit shape defaultConfig one Fp.One [| [| big; BigInteger.One |] |] okB) "weight 0" "A bound"
            expectError (packWeights defaultConfig [| -big |]) "outside" "negative bound"
        }
        test "bad config" { expectError (commit shape { defaultConfig with IntermediateBits = 300 } one Fp.One okA okB) "intermediate_bits" "cfg" }
        test "unreduced or non-positive scaling" {
            expectError (commit shape defaultConfig { Num = BigInteger 2; Den = BigInteger 2 } Fp.One okA okB) "not reduced" "2/2"
            expectError (commit shape defaultConfig { Num = BigInteger.One; Den = BigInteger.Zero } Fp.One okA okB) "> 0" "1/0"
        }
        test "scaling too large for injective encoding" {
            expectError (commit shape defaultConfig { Num = BigInteger.One <<< 250; Den = BigInteger.One } Fp.One okA okB) "2^250" "num"
            expectError (commit shape defaultConfig { Num = BigInteger.One; Den = (BigInteger.One <<< 250) + BigInteger.One } Fp.One okA okB) "2^250" "den"
        }
        test "unpack rejects invalid packings" {
            let cfg = { ScaleBits = 0; ValueBits = 8; IntermediateBits = 8 }
            expectError (unpackWeights cfg 2 [| Fp.OfUInt64 255UL |]) "exceeds" "digit 255 > 2*127"
            expectError (unpackWeights cfg 1 [| Fp.OfUInt64 (1UL <<< 9) |]) "bits above" "extra bits"
            expectError (unpackWeights cfg 40 [| Fp.One |]) "need" "count"
        }
        test "ofHex: wrong forms" {
            expectError (ofHex "0x1") "64" "short"
            expectError (ofHex ("0X" + String('0', 64))) "64" "0X"
            expectError (ofHex ("0x" + String('A', 64))) "lowercase" "uppercase"
            expectError (ofHex (String('0', 66))) "0x" "no prefix"
            expectError (ofHex null) "0x" "null"
            expectError (ofHex ("0x" + Fp.Modulus.ToString("x64"))) "non-canonical" "p itself"
            expectError (ofHex ("0x" + String('f', 64))) "non-canonical" "2^256-1"
        }
        test "salt files: strict reading" {
            let dir = Directory.CreateTempSubdirectory("zklora-salt-")
            try
                let write name (text: string) =
                    let p = Path.Combine(dir.FullName, name)
                    File.WriteAllText(p, text)
                    p
                let h = toHex Fp.One
                expectError (readSaltFile (Path.Combine(dir.FullName, "missing.json"))) "does not exist" "missing"
                expectError (readSaltFile (write "extra.json" (sprintf "{\"salt\":\"%s\",\"module\":\"x\"}" h))) "unknown field 'module'" "extra"
                expectError (readSaltFile (write "nosalt.json" "{}")) "missing field 'salt'" "missing field"
                expectError (readSaltFile (write "num.json" "{\"salt\":1}")) "expected a string" "type"
                expectError (readSaltFile (write "badhex.json" "{\"salt\":\"0x12\"}")) "64" "hex"
                expectError (readSaltFile (write "notjson.json" "salt=0x1")) "invalid JSON" "not json"
                expectError (readSaltFile (write "big.json" (String(' ', 2000) + "{}"))) "larger than" "size"
                expectError (parseSaltJson "[]") "expected an object" "array"
                expectError (saltFileName "../x") "module name" "path"
            finally
                dir.Delete true
        }
    ]

[<Tests>]
let tests = testList "AdapterCommitment" [ knownAnswers; properties; negatives ]
