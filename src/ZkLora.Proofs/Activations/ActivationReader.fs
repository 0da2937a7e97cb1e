/// Streaming reader for activation files: a JSON object whose `input_data` member is a
/// number or arbitrarily nested lists of numbers. Values come out depth-first, one at a
/// time, parsed exactly as Python's json + float() would (the original zkLoRA reads the
/// file with json.load), without ever holding the document in memory: a Utf8JsonReader
/// walks a buffer that is refilled from the stream.
///
/// Number semantics (bit-exact with Python):
///   - a JSON number with a fraction or exponent is float(text): correctly rounded;
///   - a JSON integer is float(int(text)): also correctly rounded (round-half-even beyond
///     2^53), except that the integer "-0" is +0.0 (Python's int has no negative zero),
///     while "-0.0" and "-0e0" stay -0.0;
///   - values beyond the double range are rejected (Python would give inf for "1e400"
///     and raise OverflowError for a 400-digit integer; activations are never infinite).
/// Strings, booleans, null and objects inside `input_data` are rejected with the position.
/// Other top-level members are skipped. A second `input_data` member is rejected (Python
/// would silently keep the last one; an ambiguous file is refused here).
module ZkLora.Proofs.ActivationReader

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Threading

/// Why an activation file's content is unusable. Offsets are in bytes from the start of
/// the file; lines and columns count from 1.
type ActivationDataError =
    | MalformedJson of Line: int64 * Column: int64 * Reason: string
    | TopLevelNotObject of Found: string
    | MissingInputData
    | DuplicateInputData of ByteOffset: int64
    | NotANumber of Location: string * ByteOffset: int64 * Found: string
    | NumberOutOfRange of Location: string * ByteOffset: int64 * Text: string
    | NestingTooDeep of Location: string * MaxDepth: int

/// One-line description of a data error.
let describe (error: ActivationDataError) : string =
    match error with
    | MalformedJson(line, col, reason) -> sprintf "invalid JSON at line %d, column %d: %s" line col reason
    | TopLevelNotObject found -> sprintf "the top level must be a JSON object with an \"input_data\" member, found %s" found
    | MissingInputData -> "the JSON object has no \"input_data\" member"
    | DuplicateInputData offset -> sprintf "\"input_data\" appears more than once (second at byte %d)" offset
    | NotANumber(loc, offset, found) -> sprintf "%s (byte %d) must be a number or a list, found %s" loc offset found
    | NumberOutOfRange(loc, offset, text) ->
        let shown = if text.Length > 40 then text.Substring(0, 40) + "…" else text
        sprintf "%s (byte %d) = %s is outside the range of a double" loc offset shown
    | NestingTooDeep(loc, max) -> sprintf "%s: lists nested deeper than %d levels" loc max

/// Deepest list nesting accepted inside input_data (Python's json gives up near 1000).
[<Literal>]
let MaxListDepth = 256

[<Literal>]
let private InitialBufferSize = 1048576

// phases of the token walk
[<Literal>]
let private ExpectRoot = 0
[<Literal>]
let private ExpectMember = 1
[<Literal>]
let private InInput = 2
[<Literal>]
let private SkipStart = 3
[<Literal>]
let private Skipping = 4
[<Literal>]
let private Finished = 5

let private inputDataName = "input_data"B
let private fractionOrExponent = ".eE"B
let private utf8Bom = [| 0xEFuy; 0xBBuy; 0xBFuy |]

let private tokenName (t: JsonTokenType) =
    match t with
    | JsonTokenType.String -> "a string"
    | JsonTokenType.True | JsonTokenType.False -> "a boolean"
    | JsonTokenType.Null -> "null"
    | JsonTokenType.StartObject -> "an object"
    | JsonTokenType.StartArray -> "a list"
    | JsonTokenType.Number -> "a number"
    | other -> string other

let private location (indices: int64[]) (depth: int) =
    let sb = Text.StringBuilder("input_data")
    for d in 0 .. depth - 1 do
        sb.Append('[').Append(indices[d]).Append(']') |> ignore
    sb.ToString()

/// Parses one JSON number token exactly as Python's json.loads followed by float().
/// None when the value does not fit in a double.
let parseNumber (token: ReadOnlySpan<byte>) : float voption =
    let v = Double.Parse(token, NumberStyles.Float, CultureInfo.InvariantCulture)
    if Double.IsInfinity v then ValueNone
    elif v = 0.0 && token.IndexOfAny(ReadOnlySpan<byte> fractionOrExponent) < 0 then ValueSome 0.0 // int "-0" -> +0.0
    else ValueSome v

/// Reads `stream` to the end, calling `onValue` for every input_data number in depth-first
/// order. Returns the number of values or the first problem found. I/O errors propagate
/// as exceptions; cancellation is checked between buffer refills.
let read (stream: Stream) (onValue: float -> unit) (cancellation: CancellationToken) : Result<int64, ActivationDataError> =
    let mutable buffer = Array.zeroCreate<byte> InitialBufferSize
    let mutable dataLength = 0
    let mutable consumedBefore = 0L // bytes of the stream dropped from the buffer so far
    let mutable isFinal = false
    let mutable state = JsonReaderState(JsonReaderOptions(MaxDepth = 4 * MaxListDepth))
    let mutable phase = ExpectRoot
    let mutable seenInput = false
    let mutable depth = 0 // open lists inside input_data
    let indices = Array.zeroCreate<int64> MaxListDepth // element index at each open list
    let mutable skipDepth = 0
    let mutable count = 0L
    let mutable error: ActivationDataError voption = ValueNone
    let mutable firstRead = true

    try
        while error.IsNone && not isFinal do
            cancellation.ThrowIfCancellationRequested()
            if dataLength = buffer.Length then
                // one token longer than the whole buffer: grow it
                let bigger = Array.zeroCreate<byte> (buffer.Length * 2)
                Buffer.BlockCopy(buffer, 0, bigger, 0, dataLength)
                buffer <- bigger
            let n = stream.Read(buffer, dataLength, buffer.Length - dataLength)
            dataLength <- dataLength + n
            isFinal <- (n = 0)
            let mutable start = 0
            if firstRead && (dataLength >= 3 || isFinal) then
                firstRead <- false
                if ReadOnlySpan<byte>(buffer, 0, dataLength).StartsWith(ReadOnlySpan<byte> utf8Bom) then start <- 3
            if not firstRead then
                let mutable reader = Utf8JsonReader(ReadOnlySpan<byte>(buffer, start, dataLength - start), isFinal, state)
                while error.IsNone && reader.Read() do
                    let token = reader.TokenType
                    match phase with
                    | InInput ->
                        match token with
                        | JsonTokenType.Number ->
                            match parseNumber reader.ValueSpan with
                            | ValueSome v ->
                                onValue v
                                count <- count + 1L
                                // next element of the enclosing list, or the end of input_data
                                if depth = 0 then phase <- ExpectMember else indices[depth - 1] <- indices[depth - 1] + 1L
                            | ValueNone ->
                                let text = Text.Encoding.UTF8.GetString reader.ValueSpan
                                let offset = consumedBefore + int64 start + reader.TokenStartIndex
                                error <- ValueSome(NumberOutOfRange(location indices depth, offset, text))
                        | JsonTokenType.StartArray ->
                            if depth = MaxListDepth then
                                error <- ValueSome(NestingTooDeep(location indices depth, MaxListDepth))
                            else
                                indices[depth] <- 0L
                                depth <- depth + 1
                        | JsonTokenType.EndArray ->
                            depth <- depth - 1
                            if depth = 0 then phase <- ExpectMember else indices[depth - 1] <- indices[depth - 1] + 1L
                        | other ->
                            let offset = consumedBefore + int64 start + reader.TokenStartIndex
                            error <- ValueSome(NotANumber(location indices depth, offset, tokenName other))
                    | ExpectMember ->
                        match token with
                        | JsonTokenType.PropertyName ->
                            if reader.ValueTextEquals(ReadOnlySpan<byte> inputDataName) then
                                if seenInput then
                                    error <- ValueSome(DuplicateInputData(consumedBefore + int64 start + reader.TokenStartIndex))
                                else
                                    seenInput <- true
                                    depth <- 0
                                    phase <- InInput
                            else
                                phase <- SkipStart
                        | _ -> phase <- Finished // EndObject of the top level
                    | SkipStart ->
                        match token with
                        | JsonTokenType.StartArray | JsonTokenType.StartObject ->
                            skipDepth <- reader.CurrentDepth
                            phase <- Skipping
                        | _ -> phase <- ExpectMember
                    | Skipping ->
                        match token with
                        | JsonTokenType.EndArray | JsonTokenType.EndObject when reader.CurrentDepth = skipDepth ->
                            phase <- ExpectMember
                        | _ -> ()
                    | ExpectRoot ->
                        if token = JsonTokenType.StartObject then phase <- ExpectMember
                        else error <- ValueSome(TopLevelNotObject(tokenName token))
                    | _ -> invalidOp "ActivationReader: token after the end of the document"
                let used = start + int reader.BytesConsumed
                state <- reader.CurrentState
                Buffer.BlockCopy(buffer, used, buffer, 0, dataLength - used)
                dataLength <- dataLength - used
                consumedBefore <- consumedBefore + int64 used
        match error with
        | ValueSome e -> Error e
        | ValueNone when not seenInput -> Error MissingInputData
        | ValueNone -> Ok count
    with :? JsonException as e ->
        // the reader's message ends with its own 0-based position; report 1-based instead
        let msg = e.Message
        let cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal)
        let reason = (if cut > 0 then msg.Substring(0, cut) else msg).TrimEnd('.', ' ')
        let line = if e.LineNumber.HasValue then e.LineNumber.Value + 1L else 0L
        let col = if e.BytePositionInLine.HasValue then e.BytePositionInLine.Value + 1L else 0L
        Error(MalformedJson(line, col, reason))
