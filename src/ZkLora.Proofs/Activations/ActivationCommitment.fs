/// Hiding commitments to activation files, interoperable with the original Python zkLoRA:
/// CommitActivations(path) -> {"root":"0x…","nonce":"0x…"}, VerifyCommitment(path, json),
/// plus what the original lacks: openings of single positions, verified in O(log n).
///
/// Security note. The commitment is the BLAKE3 Merkle root of ActivationMerkle over the
/// depth-first values with a fresh 256-bit CSPRNG nonce salted into every leaf. Binding
/// rests on BLAKE3 collision resistance; hiding on the nonce staying secret. The JSON
/// returned by commit carries the nonce, so it is the *decommitment*: publish only the
/// root and keep the JSON until you want to open.
///
/// What an opening reveals (scheme "zklora-blake3-merkle-v1"): the position, its value, the
/// claimed count, the sibling path — and necessarily the nonce, because the original's leaf
/// is BLAKE3(value || nonce) with one nonce for all leaves (kept for root interoperability;
/// per-leaf salts would change every root). Consequences for whoever sees an opening:
///   - the level-0 sibling is the leaf of the neighbour (index xor 1); with the nonce, its
///     value can be found by trying candidates (a float32-derived activation has at most
///     2^32 candidates, quantized or small-integer data far fewer): treat the neighbour as
///     revealed too;
///   - higher siblings hash 2, 4, 8… values jointly: they fall only to data with very low
///     entropy (e.g. long runs of zeros), and the same goes for guessing the whole list
///     against the root;
///   - the commitment is therefore no longer hiding towards the opening's recipients. Open
///     positions of a commitment you are prepared to disclose, and commit afresh (new
///     nonce) for anything that must stay hidden.
/// What an opening proves: the value at that index under the root, and the tree height
/// (a 40-byte leaf input never collides with a 64-byte node input), hence the index. The
/// root does not encode the count (the original's format has no length), so the claimed
/// count is only checked for consistency along the path (path length = height, padding
/// siblings exactly where the count puts them); an opening of the last index n-1 with
/// count n does pin the count to exactly n.
///
/// Interoperability with the original (src/zklora/polynomial_commit.py): for every file of
/// numbers both compute the same root under the same nonce, and each verifies the other's
/// commitments. Deliberate differences, all on input the original mishandles: strings,
/// booleans and null inside input_data are rejected (numpy would coerce "1.5" to 1.5, true
/// to 1.0, null to NaN), as are NaN/Infinity tokens, numbers beyond the double range and a
/// repeated input_data member; a commitment must have exactly the members root and nonce,
/// each exactly 32 bytes (the original ignores other members and takes hex of any length);
/// the output JSON is compact where Python's json.dumps puts spaces after ':' and ','.
module ZkLora.Proofs.ActivationCommitment

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Threading
open ZkLora.Proofs
open ZkLora.Proofs.ActivationReader

/// Version tag of the opening format.
[<Literal>]
let OpeningScheme = "zklora-blake3-merkle-v1"

/// Largest opening or commitment JSON accepted (a 63-level opening is under 5 KiB).
[<Literal>]
let MaxJsonChars = 65536

/// A commitment and its decommitment key: the Merkle root and the nonce.
type Commitment = { Root: Bytes32; Nonce: Bytes32 }

/// Why an activation file could not be read.
type ActivationFileError =
    | FileNotFound of Path: string
    | FileUnreadable of Path: string * Reason: string
    | InvalidData of Path: string * Problem: ActivationDataError

/// One-line description of a file error, naming the file.
let describeFileError (error: ActivationFileError) : string =
    match error with
    | FileNotFound path -> sprintf "activation file '%s' does not exist" path
    | FileUnreadable(path, reason) -> sprintf "activation file '%s' cannot be read: %s" path reason
    | InvalidData(path, problem) -> sprintf "activation file '%s': %s" path (describe problem)

/// An opening: position `Index` of a list of `Count` values holds `Value`. `Siblings` is the
/// Merkle path bottom-up (zero bytes where the tree pads).
type Opening =
    { Count: int64
      Index: int64
      Value: float
      Nonce: Bytes32
      Siblings: Bytes32 list }

/// Why an opening could not be produced.
type OpenError =
    | FileError of ActivationFileError
    | MalformedCommitment
    | IndexOutOfRange of Index: int64 * Count: int64
    | CommitmentMismatch

/// One-line description of an open error.
let describeOpenError (error: OpenError) : string =
    match error with
    | FileError e -> describeFileError e
    | MalformedCommitment -> "the commitment is not {\"root\":\"0x<64 hex>\",\"nonce\":\"0x<64 hex>\"}"
    | IndexOutOfRange(index, count) -> sprintf "index %d is out of range: the file holds %d values" index count
    | CommitmentMismatch -> "the activation file does not match the commitment (root differs under its nonce)"

/// Why an opening was rejected.
type OpeningRejection =
    | MalformedOpening of Reason: string
    | MalformedRoot
    | PathRejected of Failure: ActivationMerkle.PathFailure

/// One-line description of a rejection.
let describeRejection (rejection: OpeningRejection) : string =
    match rejection with
    | MalformedOpening reason -> sprintf "malformed opening: %s" reason
    | MalformedRoot -> "the root must be 64 hex digits, optionally prefixed by 0x"
    | PathRejected failure ->
        match failure with
        | ActivationMerkle.IndexNotBelowCount(i, n) -> sprintf "index %d is not below the count %d" i n
        | ActivationMerkle.WrongPathLength(expected, actual) ->
            sprintf "a list of this count needs %d siblings, the opening has %d" expected actual
        | ActivationMerkle.PaddingSiblingNotZero level ->
            sprintf "the sibling at level %d must be the zero padding for this count" level
        | ActivationMerkle.RealSiblingIsZero level ->
            sprintf "the sibling at level %d is all zeros where the tree has a real node" level
        | ActivationMerkle.RootMismatch -> "the path does not lead to the root"

// ---------------------------------------------------------------- JSON formats

let private tryParseJson (text: string) (maxDepth: int) : JsonDocument option =
    if isNull text || text.Length > MaxJsonChars then
        None
    else
        try Some(JsonDocument.Parse(text, JsonDocumentOptions(MaxDepth = maxDepth)))
        with :? JsonException -> None

/// Members of a JSON object as (name, value), or an error naming a duplicate/unknown one.
let private strictMembers (allowed: string list) (obj: JsonElement) : Result<Map<string, JsonElement>, string> =
    let mutable acc = Ok Map.empty
    for p in obj.EnumerateObject() do
        match acc with
        | Ok m when m.ContainsKey p.Name -> acc <- Error(sprintf "member \"%s\" appears twice" p.Name)
        | Ok _ when not (List.contains p.Name allowed) -> acc <- Error(sprintf "unknown member \"%s\"" p.Name)
        | Ok m -> acc <- Ok(m.Add(p.Name, p.Value))
        | Error _ -> ()
    match acc with
    | Ok m ->
        match allowed |> List.tryFind (fun k -> not (m.ContainsKey k)) with
        | Some missing -> Error(sprintf "missing member \"%s\"" missing)
        | None -> Ok m
    | e -> e

let private hexMember (name: string) (e: JsonElement) : Result<Bytes32, string> =
    let parsed = if e.ValueKind = JsonValueKind.String then Bytes32.TryParseHex(e.GetString()) else None
    match parsed with
    | Some b -> Ok b
    | None -> Error(sprintf "\"%s\" must be a string of 64 hex digits (\"0x\" prefix optional)" name)

/// Commitment JSON: {"root":"0x…","nonce":"0x…"} (compact, lower-case hex).
let commitmentToJson (c: Commitment) : string =
    sprintf "{\"root\":\"%s\",\"nonce\":\"%s\"}" (c.Root.ToHex()) (c.Nonce.ToHex())

/// Parses commitment JSON strictly: an object with exactly "root" and "nonce", each 64 hex
/// digits with an optional "0x"/"0X" prefix. None for anything else (never throws).
let tryParseCommitment (text: string) : Commitment option =
    match tryParseJson text 4 with
    | None -> None
    | Some doc ->
        use doc = doc
        if doc.RootElement.ValueKind <> JsonValueKind.Object then None
        else
            match strictMembers [ "root"; "nonce" ] doc.RootElement with
            | Error _ -> None
            | Ok m ->
                match hexMember "root" m["root"], hexMember "nonce" m["nonce"] with
                | Ok root, Ok nonce -> Some { Root = root; Nonce = nonce }
                | _ -> None

/// Opening JSON (compact, members in this order):
/// {"scheme":"zklora-blake3-merkle-v1","count":N,"index":I,"value":V,"nonce":"0x…","siblings":["0x…",…]}
/// V is the shortest text that round-trips to the same double ("-0" for -0.0).
let openingToJson (o: Opening) : string =
    use ms = new MemoryStream()
    (use w = new Utf8JsonWriter(ms)
     w.WriteStartObject()
     w.WriteString("scheme", OpeningScheme)
     w.WriteNumber("count", o.Count)
     w.WriteNumber("index", o.Index)
     w.WritePropertyName("value")
     w.WriteRawValue(o.Value.ToString("R", CultureInfo.InvariantCulture))
     w.WriteString("nonce", o.Nonce.ToHex())
     w.WriteStartArray("siblings")
     for s in o.Siblings do w.WriteStringValue(s.ToHex())
     w.WriteEndArray()
     w.WriteEndObject())
    Text.Encoding.UTF8.GetString(ms.ToArray())

let private nonNegativeInteger (name: string) (e: JsonElement) : Result<int64, string> =
    let raw = if e.ValueKind = JsonValueKind.Number then e.GetRawText() else ""
    let mutable v = 0L
    if raw.Length > 0 && raw |> Seq.forall Char.IsAsciiDigit && e.TryGetInt64(&v) then Ok v
    else Error(sprintf "\"%s\" must be a non-negative integer" name)

let private check (condition: bool) (message: string) : Result<unit, string> =
    if condition then Ok() else Error message

let private schemeMember (e: JsonElement) : Result<unit, string> =
    check (e.ValueKind = JsonValueKind.String && e.GetString() = OpeningScheme)
        (sprintf "\"scheme\" must be \"%s\"" OpeningScheme)

let private valueMember (e: JsonElement) : Result<float, string> =
    let value =
        if e.ValueKind <> JsonValueKind.Number then Double.NaN
        else Double.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture)
    if Double.IsFinite value then Ok value else Error "\"value\" must be a finite JSON number"

let private siblingsMember (e: JsonElement) : Result<Bytes32 list, string> =
    if e.ValueKind <> JsonValueKind.Array || e.GetArrayLength() > 64 then
        Error "\"siblings\" must be a list of at most 64 hashes"
    else
        let folder acc s =
            match acc, hexMember "siblings[]" s with
            | Ok xs, Ok b -> Ok(b :: xs)
            | Error e, _
            | _, Error e -> Error e
        e.EnumerateArray() |> Seq.fold folder (Ok []) |> Result.map List.rev

/// Parses opening JSON strictly: exactly the six members, each once, of the right type;
/// the scheme must be this version's. The value text is read as an IEEE double exactly
/// (here "-0" is -0.0: it is this format's own rendering, not a Python integer).
let parseOpening (text: string) : Result<Opening, string> =
    match tryParseJson text 4 with
    | None when not (isNull text) && text.Length > MaxJsonChars -> Error(sprintf "longer than %d characters" MaxJsonChars)
    | None -> Error "not valid JSON"
    | Some doc ->
        use doc = doc
        result {
            do! check (doc.RootElement.ValueKind = JsonValueKind.Object) "not a JSON object"
            let! m = strictMembers [ "scheme"; "count"; "index"; "value"; "nonce"; "siblings" ] doc.RootElement
            do! schemeMember m["scheme"]
            let! count = nonNegativeInteger "count" m["count"]
            let! index = nonNegativeInteger "index" m["index"]
            let! value = valueMember m["value"]
            let! nonce = hexMember "nonce" m["nonce"]
            let! siblings = siblingsMember m["siblings"]
            return { Count = count; Index = index; Value = value; Nonce = nonce; Siblings = siblings }
        }

// ---------------------------------------------------------------- commit / verify / open

let private checkFinite (values: float[]) =
    for v in values do
        if not (Double.IsFinite v) then invalidArg "values" "activation values must be finite"

/// Root of the commitment to an in-memory list of finite values under `nonce`.
let commitValues (nonce: Bytes32) (values: float[]) : Bytes32 =
    checkFinite values
    (ActivationMerkle.build nonce values -1L).Root

/// Opening of position `index` of an in-memory list under `nonce`; None when out of range.
let openValues (nonce: Bytes32) (values: float[]) (index: int64) : Opening option =
    checkFinite values
    if index < 0L || index >= int64 values.Length then None
    else
        match (ActivationMerkle.build nonce values index).Opened with
        | Some(value, path) -> Some { Count = int64 values.Length; Index = index; Value = value; Nonce = nonce; Siblings = path }
        | None -> None

/// Streams the file through the tree builder (opening `target` when >= 0).
let private buildFromFile (path: string) (nonce: Bytes32) (target: int64) (ct: CancellationToken)
    : Result<ActivationMerkle.TreeResult, ActivationFileError> =
    try
        use stream =
            new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan)
        let feeder = ActivationMerkle.PipelinedFeeder(ActivationMerkle.TreeBuilder(nonce, target))
        let mutable finished = false
        try
            match read stream feeder.Add ct with
            | Ok _ ->
                let result = feeder.Finish()
                finished <- true
                Ok result
            | Error e -> Error(InvalidData(path, e))
        finally
            if not finished then feeder.Drain()
    with
    | :? FileNotFoundException
    | :? DirectoryNotFoundException -> Error(FileNotFound path)
    | :? UnauthorizedAccessException as e -> Error(FileUnreadable(path, e.Message))
    | :? IOException as e -> Error(FileUnreadable(path, e.Message))
    | :? ArgumentException as e when not (e :? ArgumentNullException) -> Error(FileUnreadable(path, e.Message))

/// Commits to the file's values under a caller-chosen nonce. Only for known-answer tests and
/// interop checks: a real commitment needs a fresh CSPRNG nonce (commitFile).
let commitFileWithNonce (nonce: Bytes32) (path: string) (ct: CancellationToken) : Result<Commitment, ActivationFileError> =
    buildFromFile path nonce -1L ct |> Result.map (fun t -> { Root = t.Root; Nonce = nonce })

/// Commits to the file's values under a fresh 32-byte CSPRNG nonce.
let commitFile (path: string) (ct: CancellationToken) : Result<Commitment, ActivationFileError> =
    commitFileWithNonce (Bytes32.Random()) path ct

/// True when the file's values hash to the commitment's root under its nonce. Malformed
/// commitment text gives Ok false; an unreadable or malformed file is an Error (the file is
/// checked first, so a missing file is reported even with a bad commitment).
let verifyFile (path: string) (commitmentJson: string) (ct: CancellationToken) : Result<bool, ActivationFileError> =
    if not (isNull path) && not (File.Exists path || Directory.Exists path) then
        Error(FileNotFound path)
    else
        match tryParseCommitment commitmentJson with
        | None -> Ok false
        | Some c -> buildFromFile path c.Nonce -1L ct |> Result.map (fun t -> t.Root.Equals c.Root)

/// Opens position `index` of the file under the commitment (which must match the file).
let openFile (path: string) (commitmentJson: string) (index: int64) (ct: CancellationToken) : Result<Opening, OpenError> =
    match tryParseCommitment commitmentJson with
    | None -> Error MalformedCommitment
    | Some c ->
        match buildFromFile path c.Nonce (max index -1L) ct with
        | Error e -> Error(FileError e)
        | Ok t when not (t.Root.Equals c.Root) -> Error CommitmentMismatch
        | Ok t ->
            match t.Opened with
            | Some(value, path) when index >= 0L ->
                Ok { Count = t.Count; Index = index; Value = value; Nonce = c.Nonce; Siblings = path }
            | _ -> Error(IndexOutOfRange(index, t.Count))

/// Checks an opening against a trusted root in O(log n).
let verifyOpening (root: Bytes32) (opening: Opening) : Result<unit, ActivationMerkle.PathFailure> =
    ActivationMerkle.verifyPath root opening.Nonce opening.Count opening.Index opening.Value opening.Siblings

/// Parses and checks opening JSON against root text (64 hex digits, "0x" prefix optional).
let verifyOpeningJson (rootHex: string) (openingJson: string) : Result<unit, OpeningRejection> =
    match Bytes32.TryParseHex rootHex with
    | None -> Error MalformedRoot
    | Some root ->
        match parseOpening openingJson with
        | Error reason -> Error(MalformedOpening reason)
        | Ok opening -> verifyOpening root opening |> Result.mapError PathRejected
