namespace ZkLora.Math.Transcript

open System
open System.Buffers.Binary
open System.Text
open ZkLora.Math

/// Record tags of the transcript encoding (one byte at the start of every record).
[<RequireQualifiedAccess>]
module TranscriptTag =
    /// The initial domain-separation record.
    [<Literal>]
    let Init = 0x00uy
    /// Opaque bytes.
    [<Literal>]
    let Bytes = 0x01uy
    /// A field element in its canonical 32-byte little-endian encoding.
    [<Literal>]
    let Scalar = 0x02uy
    /// A compressed curve point (32 bytes).
    [<Literal>]
    let Point = 0x03uy
    /// A squeeze (challenge derivation).
    [<Literal>]
    let Squeeze = 0x04uy

/// A Fiat–Shamir transcript on BLAKE3 (prover and verifier run the same sequence of calls).
///
/// ## Encoding (version "zklora-transcript-v1")
/// The transcript is one BLAKE3 input stream S made of records
///
///     record(tag, label, data) = tag (1 byte) ‖ LE64(|label|) ‖ label (UTF-8) ‖ LE64(|data|) ‖ data
///
/// 1. `create domain` writes record(0x00, "zklora-transcript-v1", UTF-8(domain)).
/// 2. `AbsorbBytes label data`  writes record(0x01, label, data);
///    `AbsorbScalar label x`    writes record(0x02, label, canonical 32-byte LE encoding of x);
///    `AbsorbPoint label bytes` writes record(0x03, label, the 32-byte compressed point).
/// 3. The j-th squeeze (j = 0, 1, …) for `len` output bytes of kind `kind` writes
///    record(0x04, label, LE64(j) ‖ LE64(len) ‖ UTF-8(kind)) and returns the first `len`
///    bytes of the BLAKE3 XOF of the whole stream S so far. A field challenge uses
///    len = 64 and kind = the field's name ("Fp", "Fq") and maps the 64 bytes, read as a
///    little-endian integer, to the field by reduction mod p.
///
/// ## Security argument
/// - Injectivity: every record is self-delimiting (tag, then explicit lengths), so S
///   determines the exact sequence of (tag, label, data) records; two different histories
///   — other data, labels, order, or kinds of value — never give the same stream.
/// - Challenges: the j-th challenge is H(S_j) for the prefix S_j ending in the j-th squeeze
///   record. With BLAKE3 modelled as a random oracle, it is uniform and independent of
///   everything but S_j; successive S_j differ (the squeeze record with its counter is part
///   of the stream: this is the ratchet), so every challenge is fresh and binds everything
///   absorbed before it. The output length is inside the record, so the XOF's prefix
///   property cannot relate squeezes of different lengths.
/// - Bias: a 512-bit uniform integer reduced mod p (p ≈ 2^254) is within statistical
///   distance p/2^512 < 2^−257 of uniform.
/// - Domain separation: the version string and the protocol's domain label start S, so
///   transcripts of different protocols or versions are unrelated.
/// - Callers must absorb the whole statement (verifying key digest, public inputs) before
///   the first squeeze ("strong" Fiat–Shamir); the transcript itself is public (no secrets).
///
/// Not thread-safe. Dispose clears the hash state.
[<Sealed>]
type Transcript(domain: string) =
    static let version = "zklora-transcript-v1"
    let hasher = Blake3.Hasher.New()
    // header scratch: tag + LE64 label length + LE64 data length
    let scratch = Array.zeroCreate<byte> 17
    let scalarBuf = Array.zeroCreate<byte> 32
    let mutable squeezes = 0UL
    let mutable disposed = false

    let checkLive () =
        if disposed then raise (ObjectDisposedException(nameof Transcript))

    let writeRecord (tag: byte) (label: string) (data: ReadOnlySpan<byte>) =
        checkLive ()
        if isNull label then nullArg "label"
        let labelBytes = Encoding.UTF8.GetBytes label
        scratch[0] <- tag
        BinaryPrimitives.WriteUInt64LittleEndian(Span(scratch, 1, 8), uint64 labelBytes.Length)
        hasher.Update(ReadOnlySpan(scratch, 0, 9))
        hasher.Update(ReadOnlySpan labelBytes)
        BinaryPrimitives.WriteUInt64LittleEndian(Span(scratch, 9, 8), uint64 data.Length)
        hasher.Update(ReadOnlySpan(scratch, 9, 8))
        hasher.Update data

    do
        if isNull domain then nullArg "domain"
        writeRecord TranscriptTag.Init version (ReadOnlySpan(Encoding.UTF8.GetBytes domain))

    /// The encoding version written in the first record.
    static member Version = version

    /// Number of squeezes so far.
    member _.SqueezeCount = squeezes

    /// Absorbs opaque bytes under a label.
    member _.AbsorbBytes(label: string, data: ReadOnlySpan<byte>) =
        writeRecord TranscriptTag.Bytes label data

    /// Absorbs a field element (canonical encoding, so prover and verifier agree byte for byte).
    member _.AbsorbScalar<'P when 'P :> IFieldParams and 'P: struct>(label: string, x: FieldElement<'P>) =
        x.WriteBytes(Span scalarBuf)
        writeRecord TranscriptTag.Scalar label (ReadOnlySpan scalarBuf)

    /// Absorbs a compressed curve point given as its 32-byte encoding.
    member _.AbsorbPoint(label: string, compressed: ReadOnlySpan<byte>) =
        if compressed.Length <> 32 then
            invalidArg "compressed" (sprintf "a compressed point is 32 bytes, got %d" compressed.Length)
        writeRecord TranscriptTag.Point label compressed

    /// Fills dest with squeezed bytes (kind "bytes").
    member this.SqueezeBytes(label: string, dest: Span<byte>) = this.Squeeze(label, "bytes", dest)

    /// Derives a challenge in the field 'P (64 XOF bytes reduced mod p).
    member this.SqueezeChallenge<'P when 'P :> IFieldParams and 'P: struct>(label: string) : FieldElement<'P> =
        let out = Array.zeroCreate<byte> 64
        this.Squeeze(label, 'P.Name, Span out)
        FieldElement<'P>.OfUniformBytes(ReadOnlySpan out)

    member private _.Squeeze(label: string, kind: string, dest: Span<byte>) =
        let kindBytes = Encoding.UTF8.GetBytes kind
        let data = Array.zeroCreate<byte> (16 + kindBytes.Length)
        BinaryPrimitives.WriteUInt64LittleEndian(Span(data, 0, 8), squeezes)
        BinaryPrimitives.WriteUInt64LittleEndian(Span(data, 8, 8), uint64 dest.Length)
        kindBytes.CopyTo(data, 16)
        writeRecord TranscriptTag.Squeeze label (ReadOnlySpan data)
        // Finalize is idempotent and the stream continues after it (the squeeze record stays in S).
        hasher.Finalize dest
        squeezes <- squeezes + 1UL

    interface IDisposable with
        member _.Dispose() =
            if not disposed then
                disposed <- true
                hasher.Dispose()

/// Functional-style names for the transcript (each call still advances the given transcript).
[<RequireQualifiedAccess>]
module Transcript =
    /// A new transcript for a protocol, separated from all others by `domain`.
    let create (domain: string) = new Transcript(domain)
    /// Absorbs opaque bytes.
    let absorbBytes (t: Transcript) (label: string) (data: byte[]) = t.AbsorbBytes(label, ReadOnlySpan data)
    /// Absorbs an Fp element.
    let absorbScalar (t: Transcript) (label: string) (x: Fp) = t.AbsorbScalar(label, x)
    /// Absorbs an Fq element.
    let absorbScalarFq (t: Transcript) (label: string) (x: Fq) = t.AbsorbScalar(label, x)
    /// Absorbs a 32-byte compressed point.
    let absorbPoint (t: Transcript) (label: string) (compressed: byte[]) = t.AbsorbPoint(label, ReadOnlySpan compressed)
    /// Squeezes an Fp challenge.
    let squeezeChallenge (t: Transcript) (label: string) : Fp = t.SqueezeChallenge<PallasBase> label
    /// Squeezes an Fq challenge.
    let squeezeChallengeFq (t: Transcript) (label: string) : Fq = t.SqueezeChallenge<VestaBase> label
    /// Squeezes `count` raw bytes.
    let squeezeBytes (t: Transcript) (label: string) (count: int) : byte[] =
        if count < 0 then invalidArg "count" "byte count must be non-negative"
        let out = Array.zeroCreate<byte> count
        t.SqueezeBytes(label, Span out)
        out
