namespace ZkLora.Math.Commitment

open System
open ZkLora.Math

/// A prime-order group of order p (the Fp modulus), written additively, as the inner
/// product argument uses it. Implemented for Vesta (whose scalar field is Fp) by the
/// curve module's adapter.
type IGroup<'G> =
    abstract Name: string
    abstract Zero: 'G
    abstract Add: 'G * 'G -> 'G
    abstract Sub: 'G * 'G -> 'G
    /// Scalar multiplication, constant-time in the scalar (blinds are secret).
    abstract Mul: 'G * Fp -> 'G
    /// Σ scalars_i·points_i (equal lengths; variable-time).
    abstract Msm: scalars: ReadOnlyMemory<Fp> * points: ReadOnlyMemory<'G> -> 'G
    /// [g_i + u·g_(half+i) for i < half] (the generator folding of one IPA round).
    abstract Fold: points: 'G[] * half: int * u: Fp -> 'G[]
    abstract IsZero: 'G -> bool
    abstract EncodedSize: int
    abstract Encode: 'G -> byte[]
    /// Strict: rejects wrong lengths, non-canonical encodings, points not in the group.
    abstract Decode: ReadOnlySpan<byte> -> Result<'G, string>
    /// `count` independent group elements hashed from (domain, index), index = 0 … count-1:
    /// nobody knows a discrete-log relation between them.
    abstract Generators: domain: string * count: int -> 'G[]
