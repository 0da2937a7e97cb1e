namespace ZkLora.Math.Plonk

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
    abstract Mul: 'G * Fp -> 'G
    /// Σ scalars_i·points_i (equal lengths).
    abstract Msm: scalars: ReadOnlyMemory<Fp> * points: ReadOnlyMemory<'G> -> 'G
    abstract IsZero: 'G -> bool
    abstract EncodedSize: int
    abstract Encode: 'G -> byte[]
    /// Strict: rejects wrong lengths, non-canonical encodings, points not in the group.
    abstract Decode: ReadOnlySpan<byte> -> Result<'G, string>
    /// Deterministic hash to a group element whose discrete logarithm nobody knows.
    abstract HashToGroup: domain: string * message: byte[] -> 'G
    /// Hashes many messages (may run in parallel).
    abstract HashManyToGroup: domain: string * messages: byte[][] -> 'G[]
