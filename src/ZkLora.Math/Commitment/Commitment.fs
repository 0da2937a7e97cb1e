namespace ZkLora.Math.Commitment

open System
open ZkLora.Math
open ZkLora.Math.Transcript

/// The final check of a polynomial opening, deferred so that many openings (many
/// proofs of one circuit) can be decided together (e.g. one multi-scalar
/// multiplication with random weights). Opaque outside its commitment scheme.
type IDeferredCheck =
    interface
    end

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
