/// Module-level field functions, one module per field (`Fp`, `Fq`), as used by the
/// rest of the project and by F# callers. They are thin, inlined names for the
/// members of `FieldElement<'P>`.
namespace ZkLora.Math

open System
open System.Numerics

[<RequireQualifiedAccess>]
module Field =
    let inline zero<'P when 'P :> IFieldParams and 'P: struct> = FieldElement<'P>.Zero
    let inline one<'P when 'P :> IFieldParams and 'P: struct> = FieldElement<'P>.One
    let inline add (a: FieldElement<'P>) (b: FieldElement<'P>) = a + b
    let inline sub (a: FieldElement<'P>) (b: FieldElement<'P>) = a - b
    let inline neg (a: FieldElement<'P>) = -a
    let inline mul (a: FieldElement<'P>) (b: FieldElement<'P>) = a * b
    let inline square (a: FieldElement<'P>) = a.Square()
    let inline double (a: FieldElement<'P>) = a.Double()
    /// Inverse; throws DivideByZeroException on zero (a caller bug).
    let inline inv (a: FieldElement<'P>) = a.Invert()
    let inline tryInv (a: FieldElement<'P>) = match a.TryInvert() with ValueSome v -> Some v | ValueNone -> None
    let inline pow (a: FieldElement<'P>) (e: BigInteger) = a.Pow e
    let inline sqrt (a: FieldElement<'P>) = match a.Sqrt() with ValueSome v -> Some v | ValueNone -> None
    let inline isZero (a: FieldElement<'P>) = a.IsZero
    let inline ofBigInteger<'P when 'P :> IFieldParams and 'P: struct> (v: BigInteger) = FieldElement<'P>.OfBigInteger v
    let inline toBigInteger (a: FieldElement<'P>) = a.ToBigInteger()
    let inline ofUInt64<'P when 'P :> IFieldParams and 'P: struct> (v: uint64) = FieldElement<'P>.OfUInt64 v
    let inline ofInt64<'P when 'P :> IFieldParams and 'P: struct> (v: int64) = FieldElement<'P>.OfInt64 v
    let inline toBytes (a: FieldElement<'P>) = a.ToBytes()
    let inline ofBytes<'P when 'P :> IFieldParams and 'P: struct> (bytes: byte[]) =
        FieldElement<'P>.TryReadBytes(ReadOnlySpan bytes)
    let inline random<'P when 'P :> IFieldParams and 'P: struct> () = FieldElement<'P>.Random()
    let inline batchInvert (xs: FieldElement<'P>[]) = FieldElement<'P>.BatchInvert(Span xs)
    let inline rootOfUnity<'P when 'P :> IFieldParams and 'P: struct> (k: int) = FieldElement<'P>.RootOfUnity k

/// The Pallas base field Fp: p = 0x4000…224698fc094cf91b992d30ed00000001 (2-adicity 32, generator 5).
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Fp =
    let modulus = Fp.Modulus
    let zero = Fp.Zero
    let one = Fp.One
    let twoAdicity = 32
    let generator = Fp.Generator
    let inline add (a: Fp) (b: Fp) = a + b
    let inline sub (a: Fp) (b: Fp) = a - b
    let inline neg (a: Fp) = -a
    let inline mul (a: Fp) (b: Fp) = a * b
    let inline square (a: Fp) = a.Square()
    let inline double (a: Fp) = a.Double()
    let inline inv (a: Fp) = a.Invert()
    let inline tryInv (a: Fp) = Field.tryInv a
    let inline pow (a: Fp) (e: BigInteger) = a.Pow e
    let inline sqrt (a: Fp) = Field.sqrt a
    let inline isZero (a: Fp) = a.IsZero
    let inline ofBigInteger (v: BigInteger) = Fp.OfBigInteger v
    let inline toBigInteger (a: Fp) = a.ToBigInteger()
    let inline ofUInt64 (v: uint64) = Fp.OfUInt64 v
    let inline ofInt64 (v: int64) = Fp.OfInt64 v
    let inline toBytes (a: Fp) = a.ToBytes()
    let inline ofBytes (bytes: byte[]) : Result<Fp, string> = Fp.TryReadBytes(ReadOnlySpan bytes)
    let inline random () = Fp.Random()
    let inline batchInvert (xs: Fp[]) = Fp.BatchInvert(Span xs)
    let inline rootOfUnity (k: int) = Fp.RootOfUnity k

/// The Vesta base field Fq: q = 0x4000…224698fc0994a8dd8c46eb2100000001 (2-adicity 32, generator 5).
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Fq =
    let modulus = Fq.Modulus
    let zero = Fq.Zero
    let one = Fq.One
    let twoAdicity = 32
    let generator = Fq.Generator
    let inline add (a: Fq) (b: Fq) = a + b
    let inline sub (a: Fq) (b: Fq) = a - b
    let inline neg (a: Fq) = -a
    let inline mul (a: Fq) (b: Fq) = a * b
    let inline square (a: Fq) = a.Square()
    let inline double (a: Fq) = a.Double()
    let inline inv (a: Fq) = a.Invert()
    let inline tryInv (a: Fq) = Field.tryInv a
    let inline pow (a: Fq) (e: BigInteger) = a.Pow e
    let inline sqrt (a: Fq) = Field.sqrt a
    let inline isZero (a: Fq) = a.IsZero
    let inline ofBigInteger (v: BigInteger) = Fq.OfBigInteger v
    let inline toBigInteger (a: Fq) = a.ToBigInteger()
    let inline ofUInt64 (v: uint64) = Fq.OfUInt64 v
    let inline ofInt64 (v: int64) = Fq.OfInt64 v
    let inline toBytes (a: Fq) = a.ToBytes()
    let inline ofBytes (bytes: byte[]) : Result<Fq, string> = Fq.TryReadBytes(ReadOnlySpan bytes)
    let inline random () = Fq.Random()
    let inline batchInvert (xs: Fq[]) = Fq.BatchInvert(Span xs)
    let inline rootOfUnity (k: int) = Fq.RootOfUnity k
