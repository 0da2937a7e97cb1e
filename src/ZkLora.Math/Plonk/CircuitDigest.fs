/// A canonical encoding of a circuit's shape (the finalized constraint system and k),
/// hashed with BLAKE3. The verifying key's digest extends it with the fixed and
/// permutation commitments and is the first thing the Fiat–Shamir transcript absorbs,
/// so a proof is bound to one exact circuit: any change of a gate, lookup, column,
/// equality set, degree or blinding count changes every challenge.
module internal ZkLora.Math.Plonk.CircuitDigest

open System
open ZkLora.Math
open ZkLora.Math.Transcript

let private domainTag = "zklora/plonk/circuit-shape/v1"

let rec private expression (w: ByteWriter) (e: Expression) =
    match e with
    | Constant c -> w.Byte 0uy; w.Fp c
    | Selector s -> w.Byte 1uy; w.Int32 s
    | Fixed(c, r) -> w.Byte 2uy; w.Int32 c; w.Int32 r
    | Advice(c, r) -> w.Byte 3uy; w.Int32 c; w.Int32 r
    | Instance(c, r) -> w.Byte 4uy; w.Int32 c; w.Int32 r
    | Negated a -> w.Byte 5uy; expression w a
    | Sum(a, b) -> w.Byte 6uy; expression w a; expression w b
    | Product(a, b) -> w.Byte 7uy; expression w a; expression w b
    | Scaled(a, c) -> w.Byte 8uy; expression w a; w.Fp c

let private ints (w: ByteWriter) (xs: int[]) =
    w.Int32 xs.Length
    for x in xs do w.Int32 x

/// Canonical bytes of a constraint system at size 2^k.
let encode (cs: ConstraintSystem) (k: int) : byte[] =
    let w = ByteWriter()
    w.String domainTag
    w.Int32 k
    for v in [ cs.NumAdvice; cs.NumFixed; cs.NumInstance; cs.NumSelectors; cs.SelectorBase; cs.Degree; cs.BlindingFactors ] do
        w.Int32 v
    w.Int32 cs.Gates.Length
    for g in cs.Gates do
        w.String g.Name
        w.Int32 g.Constraints.Length
        for i in 0 .. g.Constraints.Length - 1 do
            w.String g.ConstraintNames[i]
            expression w g.Constraints[i]
    w.Int32 cs.Lookups.Length
    for l in cs.Lookups do
        w.String l.Name
        w.Int32 l.Inputs.Length
        for e in l.Inputs do expression w e
        ints w l.Table
        w.Int32(defaultArg l.Selector -1)
        w.Int32 l.Group
    w.Int32 cs.LookupGroups.Length
    for g in cs.LookupGroups do
        ints w g.Table
        ints w g.Lookups
        w.Int32 g.Chunks.Length
        for c in g.Chunks do ints w c
    w.Int32 cs.PermutationColumns.Length
    for c in cs.PermutationColumns do
        w.Byte(byte c.Kind)
        w.Int32 c.Index
    ints w cs.ConstantColumns
    ints w cs.TableColumns
    w.ToArray()

/// BLAKE3 of the canonical encoding (32 bytes).
let ofShape (cs: ConstraintSystem) (k: int) : byte[] =
    let bytes = encode cs k
    Blake3.Hasher.Hash(ReadOnlySpan bytes).AsSpan().ToArray()
