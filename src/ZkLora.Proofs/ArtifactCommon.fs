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
/// The projection backend (docs/projection-protocol.md): commit-once Pedersen vector
/// commitments to the weights on Vesta, a one-time adapter range proof, per-call proofs by
/// random projections and bit-decomposed range checks (Bulletproofs-style, transparent).
let projectionBackend = "zklora-dotnet-projection-pedersen-vesta-v1"
/// The adapter commitment scheme of the projection backend: C_W = Σ w_i·G_i + r_W·h on Vesta
/// with the hashed generators of `PedersenVector` (w = A row-major ‖ B row-major), written as
/// "0x" + the 32-byte compressed point in lowercase hex.
let projectionScheme = "pedersen-vesta-hashed-generators-v1"
/// Schema of the adapter-proof file written next to a projection manifest.
let adapterProofsSchema = "zklora.adapter-proofs.v2"
/// Schema of a projection statement (one or more calls of one module in one session).
let projectionStatementSchema = "zklora.projection-statement.v1"
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

/// A projection-backend adapter commitment as text: "0x" + the 32-byte compressed Vesta point
/// in lowercase hex (64 digits).
let pointToHex (p: VestaAffine) : string = "0x" + Convert.ToHexStringLower(p.ToBytes())

/// Strict inverse of `pointToHex`: exactly "0x" + 64 lowercase hex digits encoding a valid
/// compressed Vesta point other than the identity.
let pointOfHex (s: string) : Result<VestaAffine, string> =
    let isHex (c: char) = Char.IsAsciiDigit c || (c >= 'a' && c <= 'f')
    if isNull s || s.Length <> 66 || not (s.StartsWith "0x") || not (s.Substring 2 |> Seq.forall isHex) then
        Error "a Pedersen commitment must be written as 0x followed by exactly 64 lowercase hex digits"
    else
        match VestaAffine.TryReadBytes(ReadOnlySpan(Convert.FromHexString(s.Substring 2))) with
        | Error e -> Error e
        | Ok p when p.IsIdentity -> Error "a Pedersen commitment must not be the identity point"
        | Ok p -> Ok p

/// The proof backends this build knows, each with its one adapter commitment scheme.
type ProofBackend =
    /// PLONKish circuit over the Vesta IPA, Poseidon adapter commitment (`backend`, `AdapterCommitment.scheme`).
    | Plonk
    /// Commit-once Pedersen weights and per-call projection proofs (`projectionBackend`, `projectionScheme`).
    | Projection

/// The backend id and the commitment scheme id of a backend.
let backendIds (b: ProofBackend) =
    match b with
    | Plonk -> backend, AdapterCommitment.scheme
    | Projection -> projectionBackend, projectionScheme

/// The backend of a (backend id, scheme id) pair; only the known pairs are accepted.
let backendOfIds (backendId: string) (schemeId: string) : Result<ProofBackend, string> =
    match [ Plonk; Projection ] |> List.tryFind (fun b -> backendIds b = (backendId, schemeId)) with
    | Some b -> Ok b
    | None ->
        let known = [ Plonk; Projection ] |> List.map (fun b -> let x, y = backendIds b in sprintf "(%s, %s)" x y)
        Error(sprintf "unknown backend/commitment scheme pair (%s, %s); known pairs: %s" backendId schemeId (String.Join(", ", known)))

/// An adapter commitment of either backend.
type AdapterCommitmentValue =
    /// The Poseidon commitment of docs/design.md §3.5 (PLONK backend).
    | PoseidonCommitment of Fp
    /// The Pedersen vector commitment C_W of docs/projection-protocol.md §3 (projection backend).
    | PedersenCommitment of VestaAffine

/// The backend a commitment belongs to.
let backendOfCommitment (c: AdapterCommitmentValue) =
    match c with
    | PoseidonCommitment _ -> Plonk
    | PedersenCommitment _ -> Projection

/// `{scheme, value}` of either kind.
let anyCommitmentToJson (c: AdapterCommitmentValue) =
    match c with
    | PoseidonCommitment f -> commitmentToJson f
    | PedersenCommitment p -> JObject [ "scheme", JString projectionScheme; "value", JString(pointToHex p) ]

/// Reads `{scheme, value}` whose scheme must be that of `expected`.
let anyCommitmentOfJson (path: string) (expected: ProofBackend) (v: JValue) : Result<AdapterCommitmentValue, string> =
    match expected with
    | Plonk -> commitmentOfJson path v |> Result.map PoseidonCommitment
    | Projection ->
        result {
            let! f = JsonRead.exactObject path [ "scheme"; "value" ] v
            do! JsonRead.knownId (path + ".scheme") "commitment scheme" projectionScheme f["scheme"]
            let! hex = JsonRead.str (path + ".value") f["value"]
            return! pointOfHex hex |> Result.map PedersenCommitment |> Result.mapError (fun e -> path + ".value: " + e)
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
