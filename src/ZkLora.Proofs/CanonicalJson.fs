/// Canonical JSON for zkLoRA artifacts (docs/design.md §4.1) and strict reading helpers.
///
/// Canonical form (byte-identical to Python's
/// `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)` on the same value):
/// - object keys sorted by Unicode code point (= UTF-8 byte order), no duplicates;
/// - no whitespace anywhere;
/// - ASCII only: `"` and `\` escaped as \" and \\; \b \f \n \r \t by their short escapes;
///   every other character outside 0x20–0x7E (other controls, DEL, non-ASCII) as \uXXXX
///   with lowercase hex, characters beyond the BMP as a UTF-16 surrogate pair; lone
///   surrogates are rejected;
/// - numbers are integers only, in plain decimal (no exponent, no fraction, no leading
///   zeros, no "+", "-0" never written), of any size. Artifacts contain no floats, booleans
///   or nulls: the value type cannot express them and the reader rejects them.
///
/// Digests are lowercase hex SHA-256 of the canonical UTF-8 bytes.
namespace ZkLora.Proofs

open System
open System.Globalization
open System.Numerics
open System.Security.Cryptography
open System.Text
open System.Text.Json

/// A JSON value restricted to what zkLoRA artifacts use.
type JValue =
    | JString of string
    | JInt of BigInteger
    | JArray of JValue list
    | JObject of (string * JValue) list

[<RequireQualifiedAccess>]
module CanonicalJson =

    /// Deepest nesting the reader accepts (artifacts nest at most ~5 levels).
    let maxDepth = 64

    /// Longest integer literal accepted (artifact integers are below 2^256 ≈ 78 digits);
    /// the limit keeps hostile input from making BigInteger parsing quadratic.
    let maxIntegerDigits = 100

    let private hexDigits = "0123456789abcdef"

    let private writeString (sb: StringBuilder) (s: string) : Result<unit, string> =
        sb.Append '"' |> ignore
        let mutable err = None
        let mutable i = 0
        while err.IsNone && i < s.Length do
            let c = s[i]
            match c with
            | '"' -> sb.Append "\\\"" |> ignore
            | '\\' -> sb.Append "\\\\" |> ignore
            | '\n' -> sb.Append "\\n" |> ignore
            | '\r' -> sb.Append "\\r" |> ignore
            | '\t' -> sb.Append "\\t" |> ignore
            | '\b' -> sb.Append "\\b" |> ignore
            | '\f' -> sb.Append "\\f" |> ignore
            | c when c >= ' ' && c <= '~' -> sb.Append c |> ignore
            | c ->
                if Char.IsHighSurrogate c && not (i + 1 < s.Length && Char.IsLowSurrogate s[i + 1]) then
                    err <- Some(sprintf "string contains a lone high surrogate at index %d" i)
                elif Char.IsLowSurrogate c && not (i > 0 && Char.IsHighSurrogate s[i - 1]) then
                    err <- Some(sprintf "string contains a lone low surrogate at index %d" i)
                else
                    let v = int c
                    sb.Append("\\u").Append(hexDigits[(v >>> 12) &&& 15]).Append(hexDigits[(v >>> 8) &&& 15])
                      .Append(hexDigits[(v >>> 4) &&& 15]).Append(hexDigits[v &&& 15]) |> ignore
            i <- i + 1
        sb.Append '"' |> ignore
        match err with
        | Some e -> Error e
        | None -> Ok()

    /// Code-point order of two valid strings (UTF-16 ordinal order differs from it only
    /// for supplementary characters versus U+E000–U+FFFF).
    let compareKeys (a: string) (b: string) =
        let mutable ea = a.EnumerateRunes()
        let mutable eb = b.EnumerateRunes()
        let mutable result = 0
        let mutable go = true
        while go do
            let ha = ea.MoveNext()
            let hb = eb.MoveNext()
            if not ha && not hb then go <- false
            elif not ha then result <- -1; go <- false
            elif not hb then result <- 1; go <- false
            else
                let c = compare ea.Current.Value eb.Current.Value
                if c <> 0 then result <- c; go <- false
        result

    let rec private writeValue (sb: StringBuilder) (depth: int) (v: JValue) : Result<unit, string> =
        if depth > maxDepth then Error "JSON value nests too deeply"
        else
            match v with
            | JString s -> writeString sb s
            | JInt i -> sb.Append(i.ToString("D", CultureInfo.InvariantCulture)) |> ignore; Ok()
            | JArray items ->
                sb.Append '[' |> ignore
                let mutable r = Ok()
                items |> List.iteri (fun i item ->
                    if Result.isOk r then
                        if i > 0 then sb.Append ',' |> ignore
                        r <- writeValue sb (depth + 1) item)
                if Result.isOk r then sb.Append ']' |> ignore
                r
            | JObject fields ->
                let sorted = fields |> List.sortWith (fun (a, _) (b, _) -> compareKeys a b)
                let duplicate = sorted |> List.pairwise |> List.tryFind (fun ((a, _), (b, _)) -> a = b)
                match duplicate with
                | Some((k, _), _) -> Error(sprintf "duplicate object key '%s'" k)
                | None ->
                    sb.Append '{' |> ignore
                    let mutable r = Ok()
                    sorted |> List.iteri (fun i (k, item) ->
                        if Result.isOk r then
                            if i > 0 then sb.Append ',' |> ignore
                            r <- writeString sb k
                            if Result.isOk r then
                                sb.Append ':' |> ignore
                                r <- writeValue sb (depth + 1) item)
                    if Result.isOk r then sb.Append '}' |> ignore
                    r

    /// The canonical text (pure ASCII) of a value; errors for duplicate keys, lone
    /// surrogates or excessive nesting.
    let toCanonicalString (v: JValue) : Result<string, string> =
        let sb = StringBuilder()
        writeValue sb 0 v |> Result.map (fun () -> sb.ToString())

    /// The canonical bytes (ASCII = UTF-8) of a value.
    let toCanonicalBytes (v: JValue) : Result<byte[], string> =
        toCanonicalString v |> Result.map Encoding.ASCII.GetBytes

    /// Lowercase hex SHA-256 of some bytes.
    let sha256Hex (bytes: ReadOnlySpan<byte>) : string =
        Convert.ToHexString(SHA256.HashData bytes).ToLowerInvariant()

    /// Lowercase hex SHA-256 of the canonical JSON of a value.
    let digest (v: JValue) : Result<string, string> =
        toCanonicalBytes v |> Result.map (fun b -> sha256Hex (ReadOnlySpan b))

    let private isIntegerLiteral (s: string) =
        let body = if s.StartsWith "-" then s.Substring 1 else s
        body.Length > 0 && body |> Seq.forall Char.IsAsciiDigit && (body = "0" || body[0] <> '0')

    let rec private ofElement (path: string) (depth: int) (e: JsonElement) : Result<JValue, string> =
        match e.ValueKind with
        | JsonValueKind.String ->
            try Ok(JString(e.GetString()))
            with :? InvalidOperationException -> Error(sprintf "%s: string is not valid Unicode" path)
        | JsonValueKind.Number ->
            let raw = e.GetRawText()
            if not (isIntegerLiteral raw) then
                Error(sprintf "%s: number %s is not an integer (zkLoRA artifacts contain integers only)" path raw)
            elif raw.TrimStart('-').Length > maxIntegerDigits then
                Error(sprintf "%s: integer has more than %d digits" path maxIntegerDigits)
            else Ok(JInt(BigInteger.Parse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)))
        | JsonValueKind.Array ->
            if depth >= maxDepth then Error(sprintf "%s: nesting deeper than %d" path maxDepth)
            else
                e.EnumerateArray() |> List.ofSeq
                |> traverse (fun i item -> ofElement (sprintf "%s[%d]" path i) (depth + 1) item)
                |> Result.map JArray
        | JsonValueKind.Object ->
            if depth >= maxDepth then Error(sprintf "%s: nesting deeper than %d" path maxDepth)
            else
                let props = e.EnumerateObject() |> List.ofSeq
                let seen = Collections.Generic.HashSet<string>(StringComparer.Ordinal)
                match props |> List.tryFind (fun p -> not (seen.Add p.Name)) with
                | Some p -> Error(sprintf "%s: duplicate key '%s'" path p.Name)
                | None ->
                    props
                    |> traverse (fun _ p -> ofElement (sprintf "%s.%s" path p.Name) (depth + 1) p.Value |> Result.map (fun v -> p.Name, v))
                    |> Result.map JObject
        | JsonValueKind.True | JsonValueKind.False -> Error(sprintf "%s: booleans are not used in zkLoRA artifacts" path)
        | JsonValueKind.Null -> Error(sprintf "%s: null is not used in zkLoRA artifacts" path)
        | k -> Error(sprintf "%s: unexpected JSON value kind %O" path k)

    let private options =
        JsonDocumentOptions(AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = maxDepth + 1)

    /// Parses UTF-8 JSON text (any key order and whitespace) into a value; rejects invalid
    /// JSON, invalid UTF-8, duplicate keys, non-integer numbers, booleans and null.
    let parseBytes (utf8: ReadOnlyMemory<byte>) : Result<JValue, string> =
        try
            use doc = JsonDocument.Parse(utf8, options)
            ofElement "$" 0 doc.RootElement
        with
        | :? JsonException as ex -> Error(sprintf "invalid JSON: %s" ex.Message)
        | :? ArgumentException as ex -> Error(sprintf "invalid JSON: %s" ex.Message)

    /// Parses JSON text.
    let parse (text: string) : Result<JValue, string> =
        if isNull text then Error "JSON text is null"
        else
            try parseBytes (ReadOnlyMemory(UTF8Encoding(false, true).GetBytes text))
            with :? EncoderFallbackException -> Error "JSON text is not valid Unicode"

/// Strict accessors used by the artifact readers: every error names the JSON path.
module internal JsonRead =

    /// The fields of an object that must have exactly `keys` (missing and unknown keys are errors).
    let exactObject (path: string) (keys: string list) (v: JValue) : Result<Map<string, JValue>, string> =
        match v with
        | JObject fields ->
            let present = fields |> List.map fst |> Set.ofList
            let expected = Set.ofList keys
            match keys |> List.tryFind (fun k -> not (present.Contains k)) with
            | Some k -> Error(sprintf "%s: missing field '%s'" path k)
            | None ->
                match fields |> List.map fst |> List.tryFind (fun k -> not (expected.Contains k)) with
                | Some k -> Error(sprintf "%s: unknown field '%s'" path k)
                | None -> Ok(Map.ofList fields)
        | _ -> Error(sprintf "%s: expected an object" path)

    let field (path: string) (m: Map<string, JValue>) (k: string) = path + "." + k, m[k]

    let str (path: string) (v: JValue) : Result<string, string> =
        match v with
        | JString s -> Ok s
        | _ -> Error(sprintf "%s: expected a string" path)

    let integer (path: string) (v: JValue) : Result<BigInteger, string> =
        match v with
        | JInt i -> Ok i
        | _ -> Error(sprintf "%s: expected an integer" path)

    /// An integer in [lo, hi] as int64.
    let int64In (path: string) (lo: int64) (hi: int64) (v: JValue) : Result<int64, string> =
        match v with
        | JInt i when i >= BigInteger lo && i <= BigInteger hi -> Ok(int64 i)
        | JInt i -> Error(sprintf "%s: %O is outside the allowed range [%d, %d]" path i lo hi)
        | _ -> Error(sprintf "%s: expected an integer" path)

    /// An integer in [lo, hi] as int.
    let intIn (path: string) (lo: int) (hi: int) (v: JValue) : Result<int, string> =
        int64In path (int64 lo) (int64 hi) v |> Result.map int

    let list (path: string) (v: JValue) : Result<JValue list, string> =
        match v with
        | JArray items -> Ok items
        | _ -> Error(sprintf "%s: expected an array" path)

    /// A string that must equal one known id (schema versions, backends, schemes).
    let knownId (path: string) (what: string) (expected: string) (v: JValue) : Result<unit, string> =
        match v with
        | JString s when s = expected -> Ok()
        | JString s -> Error(sprintf "%s: unknown %s '%s' (this build knows '%s')" path what s expected)
        | _ -> Error(sprintf "%s: expected a string" path)
