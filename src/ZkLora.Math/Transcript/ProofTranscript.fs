/// The Fiat–Shamir transcript as the proving system uses it (`ITranscript`, backed by the
/// BLAKE3 `Transcript`) and the proof reader/writer on top of it: every element a proof
/// carries is absorbed exactly as it is written or read.
namespace ZkLora.Math.Transcript

open System
open ZkLora.Math

/// A Fiat–Shamir transcript as the proving system uses it.
type ITranscript =
    inherit IDisposable
    /// Absorbs opaque bytes.
    abstract Absorb: label: string * data: byte[] -> unit
    /// Absorbs an encoded commitment (a compressed point).
    abstract AbsorbCommitment: label: string * encoded: byte[] -> unit
    abstract AbsorbScalar: label: string * value: Fp -> unit
    abstract Challenge: label: string -> Fp

/// The project's BLAKE3 transcript (Transcript/) behind `ITranscript`.
[<Sealed>]
type internal Blake3Transcript(domain: string) =
    let t = Transcript.create domain
    interface ITranscript with
        member _.Absorb(label, data) = t.AbsorbBytes(label, ReadOnlySpan data)
        member _.AbsorbCommitment(label, encoded) =
            // Curve points are 32-byte compressed encodings; other commitment types (the
            // test-only ideal oracle) are absorbed as tagged bytes.
            if encoded.Length = 32 then t.AbsorbPoint(label, ReadOnlySpan encoded)
            else t.AbsorbBytes(label, ReadOnlySpan encoded)
        member _.AbsorbScalar(label, v) = t.AbsorbScalar(label, v)
        member _.Challenge label = t.SqueezeChallenge<PallasBase> label
        member _.Dispose() = (t :> IDisposable).Dispose()

/// Writes a proof: every element is absorbed into the Fiat–Shamir transcript in the
/// order it is written, so the proof bytes are exactly the prover's messages.
[<Sealed>]
type ProofWriter(transcript: ITranscript) =
    let w = ByteWriter()
    member _.Transcript = transcript
    /// A commitment's canonical encoding.
    member _.WriteCommitment(label: string, encoded: byte[]) =
        transcript.AbsorbCommitment(label, encoded)
        w.Bytes encoded
    member _.WriteScalar(label: string, v: Fp) =
        transcript.AbsorbScalar(label, v)
        w.Fp v
    member _.Challenge(label: string) = transcript.Challenge label
    member _.Length = w.Length
    member _.ToArray() = w.ToArray()

/// Reads a proof strictly (lengths, canonical encodings, no trailing bytes), absorbing
/// each element exactly as the prover did.
///
/// Only this library creates readers (the constructor is internal): a reader is the
/// capability to call `ICommitmentScheme.Verify`/`VerifyCombination`, whose soundness
/// rests on a transcript precondition only the library's verifier path establishes (see
/// there).
[<Sealed>]
type ProofReader internal (transcript: ITranscript, data: byte[]) =
    let r = ByteReader(data, "proof")
    member _.Transcript = transcript
    member _.ReadCommitmentBytes(label: string, size: int) =
        let b = r.Bytes(size, label).ToArray()
        transcript.AbsorbCommitment(label, b)
        b
    member _.ReadScalar(label: string) =
        let v = r.Fp label
        transcript.AbsorbScalar(label, v)
        v
    member _.Challenge(label: string) = transcript.Challenge label
    member _.Finish() = r.Finish()
    member _.Position = r.Position

