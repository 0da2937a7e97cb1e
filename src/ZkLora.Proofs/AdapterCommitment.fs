/// The hiding adapter commitment (docs/design.md §3.5): Poseidon P128Pow5T3 over Pasta Fp, in halo2's
/// ConstantLength domain, over
///
///   [ tag, in_dim, rank, out_dim, scale_bits, value_bits, intermediate_bits,
///     scaling_num, scaling_den, salt, w_0, w_1, …, w_{n−1} ]
///
/// - tag = the ASCII bytes of "zklora.adapter.v1" read as one big-endian unsigned integer
///   (17 bytes < 2^136 < p, so it is a field element as is);
/// - dims and bit counts are non-negative small integers, as field elements;
/// - scaling_num is signed: v ≥ 0 maps to v, v < 0 to p − |v|; |num| and den must be
///   below 2^250, so the map is injective (the two ranges [0, 2^250) and (p − 2^250, p)
///   are disjoint because p > 2^254); den > 0 and the fraction is reduced;
/// - salt = a secret, uniformly random field element (see `newSalt`);
/// - w_* = the weights PACKED: the sequence A row-major (rank × in_dim) then B row-major
///   (out_dim × rank); each weight w with |w| ≤ value_bound is offset to
///   u = w + value_bound ∈ [0, 2^value_bits − 2]; consecutive groups of
///   k = floor(250 / value_bits) offsets form one element Σ_i u_i · 2^(value_bits·i)
///   (the first weight of the group in the least significant position); the last group
///   may be shorter. k = 3 for value_bits = 63.
///
/// Packing is injective. For a fixed header (shape and config are absorbed first, and the
/// message length is in the capacity word), the number of weights n and the group sizes are
/// fixed. Within a group, each u_i < 2^value_bits, so Σ u_i 2^(value_bits·i) is the base-2^vb
/// representation of an integer below 2^(value_bits·k) ≤ 2^250 < p: no reduction happens
/// and base-2^vb digits are unique, so the element determines every u_i, and u_i
/// determines w_i = u_i − value_bound. Hence distinct (header, weights) give distinct
/// messages, which the circuit (recomputing the same packing from range-checked weights)
/// relies on.
///
/// Security: binding follows from Poseidon's collision resistance (two openings of one
/// value would be a collision on distinct messages). Hiding: the salt is a uniformly random
/// Fp element (≈ 254 bits of entropy) absorbed with the weights; modelling Poseidon as a
/// random oracle, the commitment is independent of the weights to anyone without the salt.
/// The salt is therefore a secret of the contributor: it is stored only in the salt file,
/// never in any artifact.
module ZkLora.Proofs.AdapterCommitment

open System
open System.IO
open System.Numerics
open System.Text
open ZkLora.Math
open ZkLora.Math.Hash
open ZkLora.Proofs.FixedPoint

/// The commitment scheme id written in manifests.
let scheme = "poseidon-pasta-fp-p128pow5t3-salted-packed-v1"

/// The domain-separation tag (first message element).
let domainTag = "zklora.adapter.v1"

/// Bits available per packed element.
let packedBits = 250

/// Largest dimension accepted (in_dim, rank, out_dim): bounds memory and keeps every
/// header value tiny.
let maxDim = 1 <<< 24

/// The shape of a LoRA module: A is rank × in_dim, B is out_dim × rank.
type AdapterShape = { InDim: int; Rank: int; OutDim: int }

let validateShape (s: AdapterShape) : Result<AdapterShape, string> =
    let check name v =
        if v < 1 || v > maxDim then Error(sprintf "%s = %d must be in [1, %d]" name v maxDim) else Ok()
    check "in_dim" s.InDim
    |> Result.bind (fun () -> check "rank" s.Rank)
    |> Result.bind (fun () -> check "out_dim" s.OutDim)
    |> Result.map (fun () -> s)

/// Big-endian bytes of an ASCII string as an integer (≤ 31 bytes so it is below p).
let tagElement (tag: string) : Fp =
    let bytes = Encoding.ASCII.GetBytes tag
    if bytes.Length > 31 || Encoding.ASCII.GetString bytes <> tag then invalidArg "tag" "tag must be ASCII, at most 31 bytes"
    Fp.OfBigInteger(BigInteger(ReadOnlySpan bytes, isUnsigned = true, isBigEndian = true))

/// Weights per packed element: floor(250 / value_bits).
let weightsPerElement (cfg: FixedPointConfig) = packedBits / cfg.ValueBits

let private bound250 = BigInteger.One <<< 250

/// Signed integer → Fp (negatives map to p − |v|); |v| < 2^250 required for injectivity.
let signedElement (what: string) (v: BigInteger) : Result<Fp, string> =
    if BigInteger.Abs v >= bound250 then Error(sprintf "%s = %O must be below 2^250 in magnitude" what v)
    else Ok(Fp.OfBigInteger v)

/// Packs weights (|w| ≤ value_bound) into field elements, as documented above.
let packWeights (cfg: FixedPointConfig) (weights: BigInteger[]) : Result<Fp[], string> =
    match validateConfig cfg with
    | Error e -> Error e
    | Ok cfg ->
        let vb = valueBound cfg
        match weights |> Array.tryFindIndex (fun w -> BigInteger.Abs w > vb) with
        | Some i -> Error(sprintf "weight %d = %O is outside the value bound ±%O" i weights[i] vb)
        | None ->
            let k = weightsPerElement cfg
            let groups = (weights.Length + k - 1) / k
            Ok(Array.init groups (fun g ->
                let mutable acc = BigInteger.Zero
                let last = min weights.Length ((g + 1) * k) - 1
                // Horner from the most significant (last) weight of the group down.
                for i in last .. -1 .. g * k do
                    acc <- (acc <<< cfg.ValueBits) + (weights[i] + vb)
                Fp.OfBigInteger acc))

/// Inverse of `packWeights` for `count` weights (for tests and for checking a circuit's
/// witness); errors if an element is not a valid packing.
let unpackWeights (cfg: FixedPointConfig) (count: int) (packed: Fp[]) : Result<BigInteger[], string> =
    match validateConfig cfg with
    | Error e -> Error e
    | Ok cfg ->
        let k = weightsPerElement cfg
        let vb = valueBound cfg
        let groups = (count + k - 1) / k
        if count < 0 || packed.Length <> groups then Error(sprintf "%d weights need %d packed elements, got %d" count groups packed.Length)
        else
            let mask = (BigInteger.One <<< cfg.ValueBits) - BigInteger.One
            let out = Array.zeroCreate count
            let mutable err = None
            for g in 0 .. groups - 1 do
                let mutable v = packed[g].ToBigInteger()
                let n = min k (count - g * k)
                for i in 0 .. n - 1 do
                    let u = v &&& mask
                    if u > vb + vb then err <- Some(sprintf "packed element %d digit %d = %O exceeds 2·value_bound" g i u)
                    out[g * k + i] <- u - vb
                    v <- v >>> cfg.ValueBits
                if not v.IsZero then err <- Some(sprintf "packed element %d has bits above its %d digits" g n)
            match err with
            | Some e -> Error e
            | None -> Ok out

let private flattenChecked (name: string) (rows: int) (cols: int) (m: BigInteger[][]) : Result<BigInteger[], string> =
    if isNull m || m.Length <> rows then Error(sprintf "%s must have %d rows, got %d" name rows (if isNull m then 0 else m.Length))
    else
        match m |> Array.tryFindIndex (fun r -> isNull r || r.Length <> cols) with
        | Some i -> Error(sprintf "%s row %d must have %d columns (ragged or mis-shaped matrix)" name i cols)
        | None -> Ok(Array.concat m)

/// The full message absorbed by the commitment (header, salt, packed weights). The circuit
/// gadget recomputes exactly this sequence.
let message (shape: AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (salt: Fp) (a: BigInteger[][]) (b: BigInteger[][])
    : Result<Fp[], string> =
    result {
        let! shape = validateShape shape
        let! cfg = validateConfig cfg
        let! s = validateScaling s
        let! num = signedElement "scaling num" s.Num
        let! den = signedElement "scaling den" s.Den
        let! fa = flattenChecked "A" shape.Rank shape.InDim a
        let! fb = flattenChecked "B" shape.OutDim shape.Rank b
        let! packed = packWeights cfg (Array.append fa fb)
        let header =
            [| tagElement domainTag
               Fp.OfUInt64(uint64 shape.InDim)
               Fp.OfUInt64(uint64 shape.Rank)
               Fp.OfUInt64(uint64 shape.OutDim)
               Fp.OfUInt64(uint64 cfg.ScaleBits)
               Fp.OfUInt64(uint64 cfg.ValueBits)
               Fp.OfUInt64(uint64 cfg.IntermediateBits)
               num
               den
               salt |]
        return Array.append header packed
    }

/// The adapter commitment: ConstantLength Poseidon of `message`.
let commit (shape: AdapterShape) (cfg: FixedPointConfig) (s: Scaling) (salt: Fp) (a: BigInteger[][]) (b: BigInteger[][])
    : Result<Fp, string> =
    message shape cfg s salt a b |> Result.map Poseidon.hash

/// A fresh salt: a uniformly random Fp element from the OS CSPRNG.
let newSalt () : Fp = Fp.Random()

// ---------------------------------------------------------------------------------------
// Encodings

/// A field element in artifacts: "0x" + 64 lowercase hex digits of the canonical value,
/// big-endian (so it reads as the number it is, like halo2's Debug output and the Python
/// tools), always 64 digits.
let toHex (v: Fp) : string =
    // BigInteger's "x" format may prepend a sign digit 0; normalise to exactly 64 digits.
    "0x" + v.ToBigInteger().ToString("x").TrimStart('0').PadLeft(64, '0')

/// Strict inverse of `toHex`: exactly "0x" + 64 lowercase hex digits, value below p.
let ofHex (s: string) : Result<Fp, string> =
    let isHex (c: char) = Char.IsAsciiDigit c || (c >= 'a' && c <= 'f')
    if isNull s || s.Length <> 66 || not (s.StartsWith "0x") || not (s.Substring 2 |> Seq.forall isHex) then
        Error "field element must be written as 0x followed by exactly 64 lowercase hex digits"
    else
        let v = BigInteger.Parse("0" + s.Substring 2, Globalization.NumberStyles.AllowHexSpecifier)
        if v >= Fp.Modulus then Error "field element is not below the Pallas modulus (non-canonical)"
        else Ok(Fp.OfBigInteger v)

// ---------------------------------------------------------------------------------------
// Salt persistence: `{"salt":"0x…"}` (canonical JSON), one file per module, kept by the
// contributor next to its output and never put into a manifest, statement or proof.

/// Conventional salt file name for a module: `<module>.zklora.salt.json`.
let saltFileName (moduleName: string) : Result<string, string> =
    ArtifactNames.validateModuleName moduleName |> Result.map (fun m -> m + ".zklora.salt.json")

/// Largest salt file accepted when reading.
let maxSaltFileBytes = 1024

/// The canonical salt-file text.
let saltJson (salt: Fp) : string =
    match CanonicalJson.toCanonicalString (JObject [ "salt", JString(toHex salt) ]) with
    | Ok s -> s
    | Error e -> failwith e // cannot happen: fixed ASCII content

let private saltOfJson (v: JValue) : Result<Fp, string> =
    result {
        let! fields = JsonRead.exactObject "$" [ "salt" ] v
        let! s = JsonRead.str "$.salt" fields["salt"]
        return! ofHex s |> Result.mapError (fun e -> "$.salt: " + e)
    }

/// Parses salt-file text strictly (exactly one field "salt", canonical hex).
let parseSaltJson (text: string) : Result<Fp, string> = CanonicalJson.parse text |> Result.bind saltOfJson

/// Writes a new salt file (owner read/write only on Unix). Refuses to overwrite an existing
/// file: losing a salt makes the committed adapter unprovable.
let writeSaltFile (path: string) (salt: Fp) : Result<unit, string> =
    try
        let opts = FileStreamOptions(Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None)
        if not (OperatingSystem.IsWindows()) then opts.UnixCreateMode <- UnixFileMode.UserRead ||| UnixFileMode.UserWrite
        use fs = new FileStream(path, opts)
        let bytes = Encoding.ASCII.GetBytes(saltJson salt)
        fs.Write(bytes, 0, bytes.Length)
        Ok()
    with
    | :? IOException as ex when File.Exists path -> Error(sprintf "salt file %s already exists; refusing to overwrite it (%s)" path ex.Message)
    | :? IOException as ex -> Error(sprintf "cannot write salt file %s: %s" path ex.Message)
    | :? UnauthorizedAccessException as ex -> Error(sprintf "cannot write salt file %s: %s" path ex.Message)
    | :? ArgumentException as ex -> Error(sprintf "invalid salt file path %s: %s" path ex.Message)

/// Reads a salt file strictly.
let readSaltFile (path: string) : Result<Fp, string> =
    try
        let info = FileInfo path
        if not info.Exists then Error(sprintf "salt file %s does not exist" path)
        elif info.Length > int64 maxSaltFileBytes then Error(sprintf "salt file %s is larger than %d bytes" path maxSaltFileBytes)
        else
            CanonicalJson.parseBytes (ReadOnlyMemory(File.ReadAllBytes path))
            |> Result.bind saltOfJson
            |> Result.mapError (fun e -> sprintf "salt file %s: %s" path e)
    with
    | :? IOException as ex -> Error(sprintf "cannot read salt file %s: %s" path ex.Message)
    | :? UnauthorizedAccessException as ex -> Error(sprintf "cannot read salt file %s: %s" path ex.Message)
    | :? ArgumentException as ex -> Error(sprintf "invalid salt file path %s: %s" path ex.Message)
