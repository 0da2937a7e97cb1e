/// Versioned ids and the JSON pieces shared by manifests, transcripts, statements and proof
/// metadata (docs/design.md §4). Readers are strict: exact field sets, exact types, known ids only.
module ZkLora.Proofs.ArtifactCommon

open System
open System.IO
open System.Numerics
open System.Text
open ZkLora.Math
open ZkLora.Proofs.FixedPoint

/// The proof system / circuit family of this implementation (Halo2-style PLONKish over
/// Pasta with the IPA commitment). Verifiers reject other backends.
let backend = "zklora-dotnet-halo2-ipa-pasta-v1"
let manifestSchema = "zklora.manifest.v1"
let transcriptSchema = "zklora.transcript.v1"
let statementSchema = "zklora.statement.v1"
let metaSchema = "zklora.meta.v1"

/// Largest artifact file read (bytes).
let maxArtifactBytes = 1L <<< 30

/// Most integers one transcript entry or statement may hold per matrix (x or delta).
let maxValuesPerMatrix = 1L <<< 26

/// Longest circuit id accepted.
let maxCircuitIdLength = 256

let fixedPointToJson (c: FixedPointConfig) =
    JObject [ "scale_bits", JInt(BigInteger c.ScaleBits)
              "value_bits", JInt(BigInteger c.ValueBits)
              "intermediate_bits", JInt(BigInteger c.IntermediateBits) ]

let fixedPointOfJson (path: string) (v: JValue) : Result<FixedPointConfig, string> =
    result {
        let! f = JsonRead.exactObject path [ "scale_bits"; "value_bits"; "intermediate_bits" ] v
        let! sb = JsonRead.intIn (path + ".scale_bits") 0 maxIntermediateBits f["scale_bits"]
        let! vb = JsonRead.intIn (path + ".value_bits") 0 maxIntermediateBits f["value_bits"]
        let! ib = JsonRead.intIn (path + ".intermediate_bits") 0 maxIntermediateBits f["intermediate_bits"]
        return! validateConfig { ScaleBits = sb; ValueBits = vb; IntermediateBits = ib } |> Result.mapError (fun e -> path + ": " + e)
    }

let private bound250 = BigInteger.One <<< 250

/// Checks a scaling read from JSON: den > 0, reduced, |num|, den < 2^250 (what the
/// commitment can absorb injectively).
let checkScaling (path: string) (num: BigInteger) (den: BigInteger) : Result<Scaling, string> =
    if BigInteger.Abs num >= bound250 || den >= bound250 then Error(sprintf "%s: scaling %O/%O is too large (limit 2^250)" path num den)
    else validateScaling { Num = num; Den = den } |> Result.mapError (fun e -> path + ": " + e)

let scalingToJson (s: Scaling) = JObject [ "num", JInt s.Num; "den", JInt s.Den ]

let scalingOfJson (path: string) (v: JValue) : Result<Scaling, string> =
    result {
        let! f = JsonRead.exactObject path [ "num"; "den" ] v
        let! num = JsonRead.integer (path + ".num") f["num"]
        let! den = JsonRead.integer (path + ".den") f["den"]
        return! checkScaling path num den
    }

let commitmentToJson (c: Fp) =
    JObject [ "scheme", JString AdapterCommitment.scheme; "value", JString(AdapterCommitment.toHex c) ]

let commitmentOfJson (path: string) (v: JValue) : Result<Fp, string> =
    result {
        let! f = JsonRead.exactObject path [ "scheme"; "value" ] v
        do! JsonRead.knownId (path + ".scheme") "commitment scheme" AdapterCommitment.scheme f["scheme"]
        let! hex = JsonRead.str (path + ".value") f["value"]
        return! AdapterCommitment.ofHex hex |> Result.mapError (fun e -> path + ".value: " + e)
    }

let stringOfJson (path: string) (validate: string -> Result<string, string>) (v: JValue) : Result<string, string> =
    JsonRead.str path v |> Result.bind (fun s -> validate s |> Result.mapError (fun e -> path + ": " + e))

/// 64 lowercase hex digits (a SHA-256 digest).
let validateDigestHex (s: string) : Result<string, string> =
    if not (isNull s) && s.Length = 64 && s |> Seq.forall (fun c -> Char.IsAsciiDigit c || (c >= 'a' && c <= 'f')) then Ok s
    else Error "digest must be exactly 64 lowercase hex digits (SHA-256)"

/// A circuit id: 1–256 printable ASCII characters without space, '"' or '\'.
let validateCircuitId (s: string) : Result<string, string> =
    if String.IsNullOrEmpty s then Error "circuit id must not be empty"
    elif s.Length > maxCircuitIdLength then Error(sprintf "circuit id is longer than %d characters" maxCircuitIdLength)
    elif s |> Seq.exists (fun c -> c <= ' ' || c > '~' || c = '"' || c = '\\') then
        Error "circuit id may only contain printable ASCII without spaces, quotes or backslashes"
    else Ok s

let shapeToJson (dims: int64[]) = JArray [ for d in dims -> JInt(BigInteger d) ]

/// A tensor shape: non-empty, every dimension ≥ 1, total size ≤ maxValuesPerMatrix.
let shapeOfJson (path: string) (v: JValue) : Result<int64[], string> =
    result {
        let! items = JsonRead.list path v
        if items.IsEmpty then return! Error(sprintf "%s: shape must have at least one dimension" path)
        else
            let! dims = items |> traverse (fun i d -> JsonRead.int64In (sprintf "%s[%d]" path i) 1L maxValuesPerMatrix d)
            let total = dims |> List.fold (fun acc d -> if acc > maxValuesPerMatrix then acc else acc * d) 1L
            if total > maxValuesPerMatrix then
                return! Error(sprintf "%s: shape %A holds more than %d values" path dims maxValuesPerMatrix)
            else return Array.ofList dims
    }

/// rows = product of all but the last dimension; cols = the last dimension.
let rowsAndCols (shape: int64[]) = (shape |> Array.take (shape.Length - 1) |> Array.fold (*) 1L), shape[shape.Length - 1]

let matrixToJson (m: BigInteger[][]) = JArray [ for row in m -> JArray [ for v in row -> JInt v ] ]

/// A rows × cols matrix of integers with |v| ≤ bound.
let matrixOfJson (path: string) (rows: int64) (cols: int64) (bound: BigInteger) (v: JValue) : Result<BigInteger[][], string> =
    result {
        let! items = JsonRead.list path v
        if int64 items.Length <> rows then
            return! Error(sprintf "%s: expected %d rows (from the shape), got %d" path rows items.Length)
        else
            let! matrix =
                items
                |> traverse (fun r row ->
                    let rpath = sprintf "%s[%d]" path r
                    result {
                        let! values = JsonRead.list rpath row
                        if int64 values.Length <> cols then
                            return! Error(sprintf "%s: expected %d values (from the shape), got %d" rpath cols values.Length)
                        else
                            let! ints =
                                values |> traverse (fun c x ->
                                    match x with
                                    | JInt i when BigInteger.Abs i <= bound -> Ok i
                                    | JInt i -> Error(sprintf "%s[%d]: %O is outside the value bound ±%O" rpath c i bound)
                                    | _ -> Error(sprintf "%s[%d]: expected an integer" rpath c))
                            return Array.ofList ints
                    })
            return Array.ofList matrix
    }

/// Runs a reader over a file's bytes: only a regular file is read (no symbolic link, FIFO or
/// device), at most `maxArtifactBytes` whatever its metadata claims (`SafeFile.readBytes`).
let readFile (what: string) (parse: ReadOnlyMemory<byte> -> Result<'T, string>) (path: string) : Result<'T, string> =
    SafeFile.readBytes what maxArtifactBytes path
    |> Result.bind (fun bytes ->
        // A hostile file within the size cap can still be too much to parse: an error, not a crash.
        try parse (ReadOnlyMemory bytes) |> Result.mapError (fun e -> sprintf "%s file %s: %s" what path e)
        with
        | :? OutOfMemoryException -> Error(sprintf "%s file %s: not enough memory to parse it" what path)
        | :? InsufficientExecutionStackException -> Error(sprintf "%s file %s: nested too deeply" what path))

/// Writes canonical JSON text (ASCII) to a file, replacing it.
let writeFile (what: string) (path: string) (text: Result<string, string>) : Result<unit, string> =
    match text with
    | Error e -> Error(sprintf "cannot write %s: %s" what e)
    | Ok t ->
        try
            File.WriteAllBytes(path, Encoding.ASCII.GetBytes t)
            Ok()
        with
        | :? IOException as ex -> Error(sprintf "cannot write %s file %s: %s" what path ex.Message)
        | :? UnauthorizedAccessException as ex -> Error(sprintf "cannot write %s file %s: %s" what path ex.Message)
        | :? ArgumentException as ex -> Error(sprintf "invalid %s file path %s: %s" what path ex.Message)

/// Writes bytes as a new file atomically: to a temporary name next to it (`<path>.partial-<random>`,
/// which no reader takes for an artifact), flushed to disk, then renamed into place. An existing
/// file is never replaced: then the temporary file is removed and an error is returned.
let writeNewFileAtomic (what: string) (path: string) (bytes: byte[]) : Result<unit, string> =
    let tmp = sprintf "%s.partial-%s" path (Guid.NewGuid().ToString("N"))
    try
        try
            do
                use s = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1)
                s.Write(bytes, 0, bytes.Length)
                s.Flush(true)
            if File.Exists path then Error(sprintf "%s file %s already exists; artifacts are never overwritten" what path)
            else
                File.Move(tmp, path, false)
                Ok()
        with
        | :? IOException as ex when File.Exists path -> Error(sprintf "%s file %s already exists; artifacts are never overwritten (%s)" what path ex.Message)
        | :? IOException as ex -> Error(sprintf "cannot write %s file %s: %s" what path ex.Message)
        | :? UnauthorizedAccessException as ex -> Error(sprintf "cannot write %s file %s: %s" what path ex.Message)
        | :? ArgumentException as ex -> Error(sprintf "invalid %s file path %s: %s" what path ex.Message)
    finally
        try if File.Exists tmp then File.Delete tmp with _ -> ()
