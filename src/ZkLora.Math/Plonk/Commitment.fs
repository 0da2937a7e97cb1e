namespace ZkLora.Math.Plonk

open System
open ZkLora.Math

/// The final check of a polynomial opening, deferred so that many openings (many
/// proofs of one circuit) can be decided together (e.g. one multi-scalar
/// multiplication with random weights). Opaque outside its commitment scheme.
type IDeferredCheck =
    interface
    end

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

/// A hiding polynomial commitment scheme over Fp with an opening argument, as the
/// proving system uses it. `'C` is a commitment (an element of a group written
/// additively, so `Combine` is a linear combination).
type ICommitmentScheme<'C> =
    /// Scheme identifier (part of key and proof headers).
    abstract Name: string
    /// Largest supported k (domain size 2^k).
    abstract MaxK: int
    /// Bytes of one encoded commitment at size 2^k.
    abstract CommitmentSize: k: int -> int
    abstract Encode: 'C -> byte[]
    /// Strict decoding (rejects non-canonical encodings).
    abstract Decode: k: int * bytes: byte[] -> Result<'C, string>
    /// Commitment to the polynomial with these values at the 2^k-th roots of unity.
    abstract CommitLagrange: k: int * values: Fp[] * blind: Fp -> 'C
    /// Commitment to the polynomial with these coefficients (at most 2^k).
    abstract Commit: k: int * coeffs: Fp[] * blind: Fp -> 'C
    /// Σ scalars_i·commitments_i.
    abstract Combine: scalars: Fp[] * commitments: 'C[] -> 'C
    /// Proves (coeffs, blind) opens to coeffs(point) at `point`; writes the proof.
    abstract Open: k: int * writer: ProofWriter * coeffs: Fp[] * blind: Fp * point: Fp -> unit
    /// Reads an opening proof of `commitment` to `value` at `point`; Error for malformed
    /// input, otherwise a deferred final check.
    ///
    /// PRECONDITION (soundness): the scheme does not absorb `commitment`, `point` or
    /// `value` into the transcript; the caller must have bound all three to it before the
    /// call (absorbed, or derived from absorbed data and challenges). Otherwise a prover
    /// could choose the statement after seeing the opening's challenges. The only caller is
    /// `Multiopen.verify`, where the commitments are verifying-key or proof elements
    /// absorbed earlier, the point is the challenge x3 and the value is computed from
    /// absorbed evaluations and challenges. Enforced by visibility: `ProofReader` can only be
    /// constructed inside ZkLora.Math, so code outside the library cannot call this with a
    /// reader of its own.
    abstract Verify: k: int * reader: ProofReader * commitment: 'C * point: Fp * value: Fp -> Result<IDeferredCheck, string>
    /// Verify for the commitment Σ scalars_i·commitments_i without forming it: a scheme whose
    /// final check is itself a linear combination (the IPA) folds the terms into that check
    /// (one multi-scalar multiplication instead of several). Same PRECONDITION as `Verify`:
    /// the commitments, scalars, point and value must already be bound to the transcript.
    abstract VerifyCombination: k: int * reader: ProofReader * scalars: Fp[] * commitments: 'C[] * point: Fp * value: Fp -> Result<IDeferredCheck, string>
    /// Decides deferred checks together; true only if every one holds.
    abstract Decide: checks: IDeferredCheck[] -> bool
